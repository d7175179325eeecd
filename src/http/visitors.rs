//! The dashboard's visitor API: a visitor's pages and earlier chats, the sites' tracking
//! modes, and the automatic invitation rules. Reads need the permission to see live visitors
//! (or to manage sites); writes need the permission to manage sites.

use super::agent::{Agent, Reply};
use super::crud::HubRows;
use crate::domain::sites;
use crate::error::{ApiError, Result};
use crate::model::rights::Permission;
use crate::model::sites::SiteTracking;
use crate::model::tenants;
use crate::store::system as sstore;
use crate::store::visits::{self as vstore, Rule};
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use rusqlite::Connection;
use serde::Deserialize;

/// Sites and rules are read by agents who see live visitors and by those who manage sites.
const SEES_SITES: [Permission; 2] = [Permission::VisitorsView, Permission::SitesManage];

/// A visitor's earlier chats, as far as this agent may read them.
fn visible_chats(
    c: &rusqlite::Connection,
    v: &mut vstore::VisitorDetail,
    r: super::chats::Reader,
    may_chat: bool,
) -> Result<()> {
    let mut keep = Vec::new();
    if !may_chat {
        // Without chats at all, no chat of theirs can be opened: none is listed.
        v.chats.clear();
        return Ok(());
    }
    for ch in std::mem::take(&mut v.chats) {
        if super::chats::may_read(c, ch.conversation_id, r)? {
            keep.push(ch);
        }
    }
    v.chats = keep;
    Ok(())
}

/// `GET /api/visitors/{id}`.
pub async fn show(a: Agent, id: Path<i64>) -> Reply {
    a.may(Permission::VisitorsView)?;
    let id = id.into_inner();
    let r = super::chats::reader(&a.session);
    let may_chat = super::chats::require_chats(&a.session).is_ok();
    let found = a
        .db(move |c| {
            // A visitor under a restriction of processing is as unknown as a missing one.
            if !r.restricted_too && crate::store::restrictions::is_restricted(c, "visitor", id)? {
                return Ok(None);
            }
            match vstore::visitor_detail(c, id, None)? {
                Some(mut v) => {
                    visible_chats(c, &mut v, r, may_chat)?;
                    Ok(Some(v))
                }
                None => Ok(None),
            }
        })
        .await?;
    match found {
        Some(v) => {
            a.read_logged("visitor", &format!("visitor#{id}"));
            Ok(HttpResponse::Ok().json(v))
        }
        None => Err(a.denied(format!("visitor#{id}")).await),
    }
}

/// `GET /api/conversations/{id}/visitor`: the pages the chat's visitor read in that visit.
pub async fn of_conversation(a: Agent, id: Path<i64>) -> Reply {
    a.may(Permission::VisitorsView)?;
    super::chats::require_chats(&a.session)?;
    let conv = id.into_inner();
    let r = super::chats::reader(&a.session);
    let may_chat = true;
    let found = a
        .db(move |c| {
            if !super::chats::may_read(c, conv, r)? {
                return Ok(Err(false));
            }
            match vstore::conversation_visitor(c, conv)? {
                Some(v) => match vstore::visitor_detail(c, v, Some(conv))? {
                    Some(mut d) => {
                        visible_chats(c, &mut d, r, may_chat)?;
                        Ok(Ok(d))
                    }
                    None => Ok(Err(true)),
                },
                None => Ok(Err(true)),
            }
        })
        .await?;
    match found {
        Ok(v) => {
            a.read_logged("visitor", &format!("conversation#{conv}"));
            Ok(HttpResponse::Ok().json(v))
        }
        // The chat exists but has no visitor (tracking off, or no page view first).
        Err(true) => Err(ApiError::not_found()),
        Err(false) => Err(a.denied(format!("conversation#{conv}")).await),
    }
}

/// `GET /api/sites`: the tenant's sites with their tracking settings, look, words and snippet.
pub async fn sites(a: Agent) -> Reply {
    a.may_any(&SEES_SITES)?;
    let uuid = a.tenant_uuid().to_string();
    let list = a.system(move |c| sstore::list_sites(c, &uuid)).await?;
    let keys: Vec<String> = list.iter().map(|s| s.site_key.clone()).collect();
    let logos = a
        .read(move |c| {
            keys.iter()
                .map(|k| crate::store::site_logos::version(c, k))
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    let sites: Vec<_> = list
        .iter()
        .zip(logos)
        .map(|(s, logo)| super::sites::site_json(s, &a.client.origin, logo))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sites": sites })))
}

/// Body of `PUT /api/sites/{key}/tracking`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingBody {
    tracking: String,
    #[serde(default)]
    strip: Option<Vec<String>>,
}

/// `PUT /api/sites/{key}/tracking` (the sites permission).
pub async fn set_tracking(a: Agent, key: Path<String>, body: Json<TrackingBody>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    let b = body.into_inner();
    let uuid = a.tenant_uuid().to_string();
    let k = key.clone();
    // Without `strip` the site keeps its list, as with the CLI.
    let changed = a
        .system(move |c| {
            let Some(site) = sstore::site_by_key(c, &k)?.filter(|x| x.tenant_uuid == uuid) else {
                return Ok(None);
            };
            let strip = b.strip.unwrap_or(site.tracking.strip);
            let t: SiteTracking = sites::clean_tracking(Some(&b.tracking), Some(&strip))?;
            sstore::set_site_tracking(c, &k, &t)?;
            Ok(Some(t))
        })
        .await?;
    let Some(t) = changed else {
        return Err(a.denied(format!("site#{key}")).await);
    };
    a.state.tracking.forget_site(&key);
    a.audit("site.tracking", &key).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "site_key": key,
        "tracking": t.mode,
        "strip": t.strip,
    })))
}

/// `/api/rules[/{id}]`: read by those who see sites, changed with the sites permission.
pub struct Rules;

impl HubRows for Rules {
    const KIND: &'static str = "rule";
    const LIST: &'static str = "rules";
    const READ: &'static [Permission] = &SEES_SITES;
    const PERMISSION: Permission = Permission::SitesManage;
    type Row = Rule;
    type Checked = Rule;

    fn list(c: &Connection) -> Result<Vec<Rule>> {
        vstore::list_rules(c)
    }
    /// A site of this tenant, a name, a text, sane numbers.
    async fn check(a: &Agent, mut r: Rule) -> std::result::Result<Rule, ApiError> {
        r.name = tenants::clean_name("name", r.name.trim(), 100)?;
        r.text = r.text.trim().to_string();
        let len = r.text.chars().count();
        if len == 0 || len > crate::realtime::hub::MAX_INVITE_TEXT {
            return Err(ApiError::bad_request("text: 1 to 500 characters"));
        }
        if !(0..=3600).contains(&r.delay_seconds) {
            return Err(ApiError::bad_request("delay_seconds: 0 to 3600"));
        }
        r.conditions.validate()?;
        let (key, uuid) = (r.site_key.clone(), a.tenant_uuid().to_string());
        let own = a
            .system(move |c| {
                Ok(sstore::site_by_key(c, &key)?.is_some_and(|x| x.tenant_uuid == uuid))
            })
            .await?;
        if !own {
            return Err(ApiError::bad_request("site_key: no such site"));
        }
        Ok(r)
    }
    fn insert(c: &Connection, rule: &Rule, at: i64) -> Result<Rule> {
        vstore::insert_rule(c, rule, at)
    }
    fn update(c: &Connection, id: i64, rule: Rule) -> Result<Option<Rule>> {
        let found = vstore::update_rule(c, id, &rule)?;
        Ok(found.then_some(Rule { id, ..rule }))
    }
    fn delete(c: &Connection, id: i64) -> Result<bool> {
        vstore::delete_rule(c, id)
    }
    fn id(row: &Rule) -> i64 {
        row.id
    }
}
