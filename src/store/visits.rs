//! Visitors, visits, page views, invitation rules and invitations in a tenant database.
//! Only the tenant's hub writes visits and page views (group commit); the HTTP API reads.

use super::rows;
use crate::error::{Error, Result};
use crate::model::tracking::Conditions;
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use serde::Serialize;

/// A new visit's facts.
pub struct NewVisit<'a> {
    /// The visitor.
    pub visitor_id: i64,
    /// The site.
    pub site_key: &'a str,
    /// Unix seconds.
    pub at: i64,
    /// Truncated address.
    pub ip: &'a str,
    /// "Chrome 120".
    pub browser: &'a str,
    /// "Windows 10".
    pub os: &'a str,
    /// desktop, smartphone, tablet, other.
    pub device: &'a str,
    /// Browser language.
    pub lang: &'a str,
    /// "1920x1080".
    pub screen: &'a str,
    /// ISO country code or "".
    pub country: &'a str,
    /// Referring address without query.
    pub referrer: &'a str,
    /// search, social, site, direct.
    pub referrer_kind: &'a str,
    /// utm_source, utm_medium, utm_campaign, utm_term, utm_content.
    pub utm: [&'a str; 5],
}

/// Creates a visitor; `vid_hash` only for consented visitors.
pub fn insert_visitor(
    c: &Connection,
    site_key: &str,
    mode: &str,
    vid_hash: Option<&[u8]>,
    at: i64,
) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO visitors (site_key, mode, vid_hash, first_seen, last_seen, visits)
         VALUES (?1, ?2, ?3, ?4, ?4, 0)",
    )?
    .execute(params![site_key, mode, vid_hash, at])?;
    Ok(c.last_insert_rowid())
}

/// The consented visitor whose browser keeps this id: `(id, visits)`.
pub fn visitor_by_vid(c: &Connection, vid_hash: &[u8]) -> Result<Option<(i64, i64)>> {
    Ok(
        c.prepare_cached("SELECT id, visits FROM visitors WHERE vid_hash = ?1")?
            .query_row([vid_hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    )
}

/// Makes an anonymous visitor a consented one.
pub fn set_vid(c: &Connection, visitor_id: i64, vid_hash: &[u8]) -> Result<()> {
    c.prepare_cached("UPDATE visitors SET mode = 'consented', vid_hash = ?2 WHERE id = ?1")?
        .execute(params![visitor_id, vid_hash])?;
    Ok(())
}

/// Moves a visit (and its chats) from one visitor to another, dropping the first when it has
/// nothing left: the visitor turned out to be a returning consented one.
pub fn move_visit(c: &Connection, visit_id: i64, from: i64, to: i64) -> Result<()> {
    c.execute(
        "UPDATE visits SET visitor_id = ?2 WHERE id = ?1",
        params![visit_id, to],
    )?;
    c.execute(
        "UPDATE conversations SET visitor_id = ?2 WHERE visitor_id = ?1",
        params![from, to],
    )?;
    c.execute(
        "DELETE FROM visitors WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM visits WHERE visitor_id = ?1)",
        [from],
    )?;
    Ok(())
}

/// Counts a new visit of a visitor; returns the visit count.
pub fn count_visit(c: &Connection, visitor_id: i64, at: i64) -> Result<i64> {
    Ok(c.prepare_cached(
        "UPDATE visitors SET visits = visits + 1, last_seen = ?2 WHERE id = ?1 RETURNING visits",
    )?
    .query_row(params![visitor_id, at], |r| r.get(0))?)
}

/// Starts a visit.
pub fn insert_visit(c: &Connection, v: &NewVisit<'_>) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO visits (visitor_id, site_key, started_at, last_seen, ip, browser, os, device,
                             lang, screen, country, referrer, referrer_kind, utm_source,
                             utm_medium, utm_campaign, utm_term, utm_content)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        v.visitor_id,
        v.site_key,
        v.at,
        v.ip,
        v.browser,
        v.os,
        v.device,
        v.lang,
        v.screen,
        v.country,
        v.referrer,
        v.referrer_kind,
        v.utm[0],
        v.utm[1],
        v.utm[2],
        v.utm[3],
        v.utm[4],
    ])?;
    Ok(c.last_insert_rowid())
}

/// Records how far a visit got.
pub fn touch_visit(c: &Connection, visit_id: i64, last_seen: i64, pages: i64) -> Result<()> {
    c.prepare_cached("UPDATE visits SET last_seen = ?2, pages = ?3 WHERE id = ?1")?
        .execute(params![visit_id, last_seen, pages])?;
    Ok(())
}

/// Records when a visitor was last seen (when their visit ends; not per page view).
pub fn touch_visitor(c: &Connection, visitor_id: i64, last_seen: i64) -> Result<()> {
    c.prepare_cached("UPDATE visitors SET last_seen = max(last_seen, ?2) WHERE id = ?1")?
        .execute(params![visitor_id, last_seen])?;
    Ok(())
}

/// The id of a page address, stored once; its title follows the latest view.
pub fn page_id(c: &Connection, url: &str, title: &str) -> Result<i64> {
    let found: Option<(i64, String)> = c
        .prepare_cached("SELECT id, title FROM pages WHERE url = ?1")?
        .query_row([url], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        Some((id, t)) if t == title => Ok(id),
        Some((id, _)) => {
            c.prepare_cached("UPDATE pages SET title = ?2 WHERE id = ?1")?
                .execute(params![id, title])?;
            Ok(id)
        }
        None => {
            c.prepare_cached("INSERT INTO pages (url, title) VALUES (?1, ?2)")?
                .execute(params![url, title])?;
            Ok(c.last_insert_rowid())
        }
    }
}

/// Stores a page view.
pub fn insert_page_view(c: &Connection, visit_id: i64, page_id: i64, at: i64) -> Result<i64> {
    c.prepare_cached("INSERT INTO page_views (visit_id, page_id, at) VALUES (?1, ?2, ?3)")?
        .execute(params![visit_id, page_id, at])?;
    Ok(c.last_insert_rowid())
}

/// Records the time spent on a page.
pub fn set_page_seconds(c: &Connection, view_id: i64, seconds: i64) -> Result<()> {
    c.prepare_cached("UPDATE page_views SET seconds = ?2 WHERE id = ?1")?
        .execute(params![view_id, seconds.max(0)])?;
    Ok(())
}

/// A page of a visit.
#[derive(Debug, Clone, Serialize)]
pub struct PageRow {
    /// Address.
    pub url: String,
    /// Title.
    pub title: String,
    /// Unix seconds.
    pub at: i64,
    /// Time on the page, once known.
    pub seconds: Option<i64>,
}

/// The pages of a visit, in order.
pub fn visit_pages(c: &Connection, visit_id: i64) -> Result<Vec<PageRow>> {
    rows::all_cached(
        c,
        "SELECT p.url, p.title, v.at, v.seconds FROM page_views v JOIN pages p ON p.id = v.page_id
         WHERE v.visit_id = ?1 ORDER BY v.id",
        [visit_id],
        |r| Ok(from_row!(r => PageRow { url, title, at, seconds })),
    )
}

/// A visitor with their latest visit and their chats, as the dashboard shows them.
#[derive(Debug, Clone, Serialize)]
pub struct VisitorDetail {
    /// Id.
    pub visitor_id: i64,
    /// anonymous or consented.
    pub mode: String,
    /// Visits so far.
    pub visits: i64,
    /// Unix seconds.
    pub first_seen: i64,
    /// The latest visit's pages, oldest first.
    pub pages: Vec<PageRow>,
    /// Earlier chats (consented visitors only).
    pub chats: Vec<ChatRef>,
}

/// A chat of a visitor.
#[derive(Debug, Clone, Serialize)]
pub struct ChatRef {
    /// The conversation.
    pub conversation_id: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// waiting, open, closed.
    pub status: String,
    /// The name the visitor gave.
    pub visitor_name: String,
}

/// A visitor's detail; `for_chat` names the chat whose context is asked for (its visit is the
/// one the chat started in, and it is not listed among the earlier chats).
pub fn visitor_detail(
    c: &Connection,
    visitor_id: i64,
    for_chat: Option<i64>,
) -> Result<Option<VisitorDetail>> {
    let row: Option<(String, i64, i64)> = c
        .query_row(
            "SELECT mode, visits, first_seen FROM visitors WHERE id = ?1",
            [visitor_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((mode, visits, first_seen)) = row else {
        return Ok(None);
    };
    // The chat's visit: the latest one that started before the chat did.
    let visit: Option<i64> = match for_chat {
        Some(conv) => c
            .query_row(
                "SELECT v.id FROM visits v, conversations k
                 WHERE k.id = ?2 AND v.visitor_id = ?1 AND v.started_at <= k.created_at
                 ORDER BY v.started_at DESC, v.id DESC LIMIT 1",
                params![visitor_id, conv],
                |r| r.get(0),
            )
            .optional()?,
        None => None,
    };
    let visit = match visit {
        Some(v) => Some(v),
        None => c
            .query_row(
                "SELECT id FROM visits WHERE visitor_id = ?1 ORDER BY started_at DESC, id DESC LIMIT 1",
                [visitor_id],
                |r| r.get(0),
            )
            .optional()?,
    };
    let pages = match visit {
        Some(v) => visit_pages(c, v)?,
        None => Vec::new(),
    };
    let chats = if mode == "consented" {
        rows::all(
            c,
            "SELECT id, created_at, status, visitor_name FROM conversations
             WHERE visitor_id = ?1 AND id IS NOT ?2 ORDER BY created_at DESC, id DESC LIMIT 50",
            params![visitor_id, for_chat],
            |r| Ok(from_row!(r => ChatRef { conversation_id, created_at, status, visitor_name })),
        )?
    } else {
        Vec::new()
    };
    Ok(Some(VisitorDetail {
        visitor_id,
        mode,
        visits,
        first_seen,
        pages,
        chats,
    }))
}

/// Links a chat to the visitor who started it and the visit it started in.
pub fn link_conversation(
    c: &Connection,
    conversation_id: i64,
    visitor_id: i64,
    visit_id: i64,
) -> Result<()> {
    c.prepare_cached("UPDATE conversations SET visitor_id = ?2, visit_id = ?3 WHERE id = ?1")?
        .execute(params![conversation_id, visitor_id, visit_id])?;
    Ok(())
}

/// The visitor linked to a chat.
pub fn conversation_visitor(c: &Connection, conversation_id: i64) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT visitor_id FROM conversations WHERE id = ?1",
        [conversation_id],
        |r| r.get::<_, Option<i64>>(0),
    )
    .optional()?
    .flatten())
}

/// An automatic invitation rule.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Rule {
    /// Id (ignored on input).
    #[serde(default)]
    pub id: i64,
    /// The site it applies to.
    pub site_key: String,
    /// Shown to agents, never to visitors.
    pub name: String,
    /// Off rules are kept but never fire.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// What the invitation says.
    pub text: String,
    /// Seconds after the conditions first hold.
    #[serde(default)]
    pub delay_seconds: i64,
    /// At most once per visit (else once per page view).
    #[serde(default = "yes")]
    pub once_per_visit: bool,
    /// When it fires.
    #[serde(default)]
    pub conditions: Conditions,
}

fn yes() -> bool {
    true
}

fn rule_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Rule, String)> {
    Ok((
        Rule {
            id: r.get(0)?,
            site_key: r.get(1)?,
            name: r.get(2)?,
            enabled: r.get(3)?,
            text: r.get(5)?,
            delay_seconds: r.get(6)?,
            once_per_visit: r.get(7)?,
            conditions: Conditions::default(),
        },
        r.get(4)?,
    ))
}

/// Every rule, oldest first.
pub fn list_rules(c: &Connection) -> Result<Vec<Rule>> {
    let rules: Vec<(Rule, String)> = rows::all(
        c,
        "SELECT id, site_key, name, enabled, conditions, text, delay_seconds, once_per_visit
         FROM invite_rules ORDER BY id",
        [],
        rule_from_row,
    )?;
    rules
        .into_iter()
        .map(|(mut rule, json)| {
            rule.conditions = serde_json::from_str(&json)
                .map_err(|e| Error::Internal(format!("rule {}: {e}", rule.id)))?;
            Ok(rule)
        })
        .collect()
}

/// Stores a new rule (checked by the caller).
pub fn insert_rule(c: &Connection, r: &Rule, at: i64) -> Result<Rule> {
    execute_with_rule(
        c,
        "INSERT INTO invite_rules (created_at, site_key, name, enabled, conditions, text,
                                   delay_seconds, once_per_visit)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &at,
        r,
    )?;
    Ok(Rule {
        id: c.last_insert_rowid(),
        ..r.clone()
    })
}

/// Replaces a rule; `false` when there is none with this id.
pub fn update_rule(c: &Connection, id: i64, r: &Rule) -> Result<bool> {
    let n = execute_with_rule(
        c,
        "UPDATE invite_rules SET site_key = ?2, name = ?3, enabled = ?4, conditions = ?5,
             text = ?6, delay_seconds = ?7, once_per_visit = ?8 WHERE id = ?1",
        &id,
        r,
    )?;
    Ok(n == 1)
}

/// Runs `sql` with `first` as `?1` and the rule's columns as `?2` to `?8`: site_key, name,
/// enabled, conditions, text, delay_seconds, once_per_visit.
fn execute_with_rule(c: &Connection, sql: &str, first: &dyn ToSql, r: &Rule) -> Result<usize> {
    let conditions = conditions_json(&r.conditions)?;
    let columns: [&dyn ToSql; 7] = [
        &r.site_key,
        &r.name,
        &r.enabled,
        &conditions,
        &r.text,
        &r.delay_seconds,
        &r.once_per_visit,
    ];
    Ok(c.execute(sql, rows::first_then(first, columns))?)
}

/// Deletes a rule; `false` when there is none with this id.
pub fn delete_rule(c: &Connection, id: i64) -> Result<bool> {
    Ok(c.execute("DELETE FROM invite_rules WHERE id = ?1", [id])? == 1)
}

fn conditions_json(c: &Conditions) -> Result<String> {
    serde_json::to_string(c).map_err(|e| Error::Internal(e.to_string()))
}

/// A new invitation: by an agent or by a rule.
pub struct NewInvitation<'a> {
    /// The visit it is for.
    pub visit_id: i64,
    /// The inviting agent (by hand).
    pub agent_id: Option<i64>,
    /// The rule that fired (automatic).
    pub rule_id: Option<i64>,
    /// What it says.
    pub text: &'a str,
    /// Unix seconds.
    pub at: i64,
}

/// Records an invitation.
pub fn insert_invitation(c: &Connection, n: &NewInvitation<'_>) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO invitations (visit_id, agent_id, rule_id, text, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![n.visit_id, n.agent_id, n.rule_id, n.text, n.at])?;
    Ok(c.last_insert_rowid())
}

/// Records what became of an invitation.
pub fn set_invitation_state(c: &Connection, id: i64, state: &str) -> Result<()> {
    c.prepare_cached("UPDATE invitations SET state = ?2 WHERE id = ?1")?
        .execute(params![id, state])?;
    Ok(())
}
