//! Data-subject requests (GDPR Art. 15, 16, 17, 20): find everything that belongs to a person,
//! export it, rectify their name and email, erase it. A person is found by email, name,
//! visitor id or chat id, then once more through what that found: the emails given in their
//! chats and the visitor records their chats came from.
//!
//! Each erasure is recorded in the erasure ledger (in `system.db`, which restores never
//! replace): salted hashes of every identifier erased, the time, who, and how many items of
//! each kind; never content. After a restore the ledger is replayed, so an older backup never
//! brings erased data back.

use crate::error::{Error, Result};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// How the person is named in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum By {
    /// An email address (any case).
    Email(String),
    /// A name as given in a chat or offline message (any case, exact otherwise).
    Name(String),
    /// A visitor id as the dashboard shows it.
    Visitor(i64),
    /// A chat id.
    Chat(i64),
}

impl By {
    /// Checks and normalises a request (`by` = email, name, visitor or chat).
    pub fn parse(by: &str, value: &str) -> Result<By> {
        let v = value.trim();
        let id = |what: &str| {
            v.trim_start_matches('#')
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::Invalid(format!("{what}: give the number, e.g. 42")))
        };
        match by {
            "email" => {
                let e = v.to_lowercase();
                if e.len() > 254 || !e.contains('@') || e.chars().any(char::is_whitespace) {
                    return Err(Error::Invalid("email: give one email address".into()));
                }
                Ok(By::Email(e))
            }
            "name" => {
                let n = v.to_lowercase();
                if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
                    return Err(Error::Invalid("name: 1 to 200 characters".into()));
                }
                Ok(By::Name(n))
            }
            "visitor" => Ok(By::Visitor(id("visitor id")?)),
            "chat" => Ok(By::Chat(id("chat id")?)),
            other => Err(Error::Invalid(format!(
                "unknown search {other:?}: use email, name, visitor or chat"
            ))),
        }
    }

    /// (`email`, value) for messages and the audit trail (the value itself is personal).
    pub fn kind(&self) -> &'static str {
        match self {
            By::Email(_) => "email",
            By::Name(_) => "name",
            By::Visitor(_) => "visitor",
            By::Chat(_) => "chat",
        }
    }
}

/// Everything found, by row id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// Chats.
    pub conversations: BTreeSet<i64>,
    /// Offline messages.
    pub offline: BTreeSet<i64>,
    /// Visitor records.
    pub visitors: BTreeSet<i64>,
    /// Emails given in those chats and messages (lower case).
    pub emails: BTreeSet<String>,
    /// The name searched for, if the search was by name.
    pub names: BTreeSet<String>,
}

fn ids(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<BTreeSet<i64>> {
    let mut stmt = c.prepare(sql)?;
    let v = stmt
        .query_map(p, |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

fn list(set: &BTreeSet<i64>) -> String {
    set.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Resolves the request to row ids (see the module's comment).
pub fn resolve(c: &Connection, by: &By) -> Result<Subject> {
    let mut s = Subject::default();
    match by {
        By::Email(e) => {
            s.emails.insert(e.clone());
        }
        By::Name(n) => {
            s.names.insert(n.clone());
            s.conversations = ids(
                c,
                "SELECT id FROM conversations WHERE lower(visitor_name) = ?1",
                [n],
            )?;
            s.offline = ids(
                c,
                "SELECT id FROM offline_messages WHERE lower(name) = ?1",
                [n],
            )?;
        }
        By::Visitor(v) => {
            s.visitors = ids(c, "SELECT id FROM visitors WHERE id = ?1", [v])?;
        }
        By::Chat(k) => {
            s.conversations = ids(c, "SELECT id FROM conversations WHERE id = ?1", [k])?;
        }
    }
    // Then through what was found, until nothing new turns up: the emails given in their
    // chats and offline messages, the visitor records their chats came from, and the chats
    // of those emails and visitor records. (A few rounds at most; the bound stops a chain of
    // shared browsers from sweeping in strangers.)
    for _ in 0..4 {
        let before = (
            s.conversations.len(),
            s.offline.len(),
            s.visitors.len(),
            s.emails.len(),
        );
        let chats = list(&s.conversations);
        let mut stmt = c.prepare(&format!(
            "SELECT lower(visitor_email), visitor_id FROM conversations WHERE id IN ({chats})"
        ))?;
        let rows: Vec<(String, Option<i64>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (email, visitor) in rows {
            if !email.is_empty() {
                s.emails.insert(email);
            }
            s.visitors.extend(visitor);
        }
        let offline = list(&s.offline);
        s.emails.extend(
            c.prepare(&format!(
                "SELECT lower(email) FROM offline_messages WHERE id IN ({offline}) AND email <> ''"
            ))?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        );
        for e in s.emails.clone() {
            s.conversations.extend(ids(
                c,
                "SELECT id FROM conversations WHERE lower(visitor_email) = ?1",
                [&e],
            )?);
            s.offline.extend(ids(
                c,
                "SELECT id FROM offline_messages WHERE lower(email) = ?1",
                [&e],
            )?);
        }
        let visitors = list(&s.visitors);
        s.conversations.extend(ids(
            c,
            &format!("SELECT id FROM conversations WHERE visitor_id IN ({visitors})"),
            [],
        )?);
        if before
            == (
                s.conversations.len(),
                s.offline.len(),
                s.visitors.len(),
                s.emails.len(),
            )
        {
            break;
        }
    }
    Ok(s)
}

/// How many items of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Chats.
    pub conversations: u64,
    /// Their messages.
    pub messages: u64,
    /// Agents' notes on them.
    pub notes: u64,
    /// Files sent in them.
    pub files: u64,
    /// Offline messages.
    pub offline_messages: u64,
    /// Visitor records.
    pub visitors: u64,
    /// Visits.
    pub visits: u64,
    /// Page views.
    pub page_views: u64,
    /// Goals reached.
    pub conversions: u64,
    /// Invitations shown.
    pub invitations: u64,
}

impl Counts {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }

    /// All items.
    pub fn total(&self) -> u64 {
        self.conversations
            + self.messages
            + self.notes
            + self.files
            + self.offline_messages
            + self.visitors
            + self.visits
            + self.page_views
            + self.conversions
            + self.invitations
    }
}

fn n(c: &Connection, sql: &str) -> Result<u64> {
    Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// Counts what belongs to `s`.
pub fn counts(c: &Connection, s: &Subject) -> Result<Counts> {
    let (k, o, v) = (list(&s.conversations), list(&s.offline), list(&s.visitors));
    let visits = format!("SELECT id FROM visits WHERE visitor_id IN ({v})");
    Ok(Counts {
        conversations: s.conversations.len() as u64,
        messages: n(
            c,
            &format!("SELECT count(*) FROM messages WHERE conversation_id IN ({k})"),
        )?,
        notes: n(
            c,
            &format!("SELECT count(*) FROM notes WHERE conversation_id IN ({k})"),
        )?,
        files: n(
            c,
            &format!("SELECT count(*) FROM files WHERE conversation_id IN ({k})"),
        )?,
        offline_messages: n(
            c,
            &format!("SELECT count(*) FROM offline_messages WHERE id IN ({o})"),
        )?,
        visitors: s.visitors.len() as u64,
        visits: n(c, &format!("SELECT count(*) FROM ({visits})"))?,
        page_views: n(
            c,
            &format!("SELECT count(*) FROM page_views WHERE visit_id IN ({visits})"),
        )?,
        conversions: n(
            c,
            &format!("SELECT count(*) FROM conversions WHERE visit_id IN ({visits})"),
        )?,
        invitations: n(
            c,
            &format!("SELECT count(*) FROM invitations WHERE visit_id IN ({visits})"),
        )?,
    })
}

/// Columns never exported: security hashes that mean nothing to the person and would weaken
/// the tokens they protect.
const SECRET_COLUMNS: [&str; 3] = ["visitor_token_hash", "vid_hash", "data"];

/// Rows as JSON objects (every column but the secret ones; other blobs as hex).
fn rows(c: &Connection, sql: &str, p: &[i64]) -> Result<Vec<Value>> {
    let mut stmt = c.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let mut q = stmt.query(params_from_iter(p))?;
    while let Some(r) = q.next()? {
        let mut o = Map::new();
        for (i, name) in names.iter().enumerate() {
            if SECRET_COLUMNS.contains(&name.as_str()) {
                continue;
            }
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => json!(n),
                ValueRef::Real(f) => json!(f),
                ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                ValueRef::Blob(b) => {
                    json!(crate::crypto::hex(b))
                }
            };
            o.insert(name.clone(), v);
        }
        out.push(Value::Object(o));
    }
    Ok(out)
}

/// Everything found, as the dashboard lists it.
pub fn find(c: &Connection, by: &By) -> Result<Value> {
    let s = resolve(c, by)?;
    let k = list(&s.conversations);
    let v = list(&s.visitors);
    Ok(json!({
        "subject": by,
        "counts": counts(c, &s)?,
        "conversations": rows(c, &format!(
            "SELECT id, created_at, status, visitor_name, visitor_email, consent_at,
                    consent_version,
                    (SELECT count(*) FROM messages WHERE conversation_id = k.id) AS messages
             FROM conversations k WHERE id IN ({k}) ORDER BY id"), &[])?,
        "offline_messages": rows(c, &format!(
            "SELECT id, created_at, name, email FROM offline_messages WHERE id IN ({})
             ORDER BY id", list(&s.offline)), &[])?,
        "visitors": rows(c, &format!(
            "SELECT id, mode, first_seen, last_seen,
                    (SELECT count(*) FROM visits WHERE visitor_id = v.id) AS visits
             FROM visitors v WHERE id IN ({v}) ORDER BY id"), &[])?,
    }))
}

/// A file of the export archive.
pub struct ArchiveFile {
    /// Path inside the archive.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|ch| {
            if ch.is_alphanumeric() || ".-_".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    s.trim_start_matches('.').to_string()
}

fn transcript_html(c: &Connection, conv: &Value, messages: &[Value]) -> Result<String> {
    use crate::i18n::escape_html as e;
    let id = conv["id"].as_i64().unwrap_or(0);
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Chat {id}</title>\
         <style>body{{font:15px/1.5 sans-serif;max-width:48em;margin:2em auto}}\
         .m{{margin:.5em 0}}.t{{color:#555;font-size:.85em}}</style></head><body>\n\
         <h1>Chat {id}</h1>\n<p>{} &lt;{}&gt; · {}</p>\n",
        e(conv["visitor_name"].as_str().unwrap_or("")),
        e(conv["visitor_email"].as_str().unwrap_or("")),
        e(&crate::clock::rfc3339(
            conv["created_at"].as_i64().unwrap_or(0)
        )),
    );
    for m in messages {
        let who = match m["author"].as_str() {
            Some("visitor") => conv["visitor_name"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("Visitor / Besucher")
                .to_string(),
            Some("agent") => super::chat::agent_name(c, m["agent_id"].as_i64().unwrap_or(0))?,
            _ => "kontor".to_string(),
        };
        html.push_str(&format!(
            "<div class=\"m\"><span class=\"t\">{}</span> <strong>{}</strong>: {}</div>\n",
            e(&crate::clock::rfc3339(
                m["created_at"].as_i64().unwrap_or(0)
            )),
            e(&who),
            e(m["body"].as_str().unwrap_or("")),
        ));
    }
    html.push_str("</body></html>\n");
    Ok(html)
}

const README: &str = "kontor: data export (GDPR Art. 15 and 20)\n\
subject.json  everything stored about the person, machine-readable (format kontor-subject-export/1)\n\
transcripts/  each chat as a readable HTML page\n\
files/        the files sent in those chats\n\n\
kontor: Datenauskunft (DSGVO Art. 15 und 20)\n\
subject.json  alles, was über die Person gespeichert ist, maschinenlesbar\n\
transcripts/  jeder Chat als lesbare HTML-Seite\n\
files/        die in diesen Chats gesendeten Dateien\n";

/// The person's data: the JSON document and the archive's files (JSON, transcripts, files).
pub fn export(c: &Connection, by: &By, now: i64) -> Result<(Value, Vec<ArchiveFile>)> {
    let s = resolve(c, by)?;
    let mut files = Vec::new();
    let mut conversations = Vec::new();
    for conv in rows(
        c,
        &format!(
            "SELECT * FROM conversations WHERE id IN ({}) ORDER BY id",
            list(&s.conversations)
        ),
        &[],
    )? {
        let id = conv["id"].as_i64().unwrap_or(0);
        let messages = rows(
            c,
            "SELECT * FROM messages WHERE conversation_id = ?1 ORDER BY seq",
            &[id],
        )?;
        let notes = rows(
            c,
            "SELECT * FROM notes WHERE conversation_id = ?1 ORDER BY id",
            &[id],
        )?;
        let mut file_rows = rows(
            c,
            "SELECT * FROM files WHERE conversation_id = ?1 ORDER BY id",
            &[id],
        )?;
        for f in &mut file_rows {
            let fid = f["id"].as_i64().unwrap_or(0);
            let path = format!(
                "files/{fid}-{}",
                safe_name(f["name"].as_str().unwrap_or("file"))
            );
            let bytes: Vec<u8> =
                c.query_row("SELECT data FROM files WHERE id = ?1", [fid], |r| r.get(0))?;
            files.push(ArchiveFile {
                path: path.clone(),
                bytes,
            });
            f["archive_path"] = json!(path);
        }
        files.push(ArchiveFile {
            path: format!("transcripts/chat-{id}.html"),
            bytes: transcript_html(c, &conv, &messages)?.into_bytes(),
        });
        let mut conv = conv;
        conv["messages"] = json!(messages);
        conv["notes"] = json!(notes);
        conv["files"] = json!(file_rows);
        conversations.push(conv);
    }
    let mut visitors = Vec::new();
    for mut visitor in rows(
        c,
        &format!(
            "SELECT * FROM visitors WHERE id IN ({}) ORDER BY id",
            list(&s.visitors)
        ),
        &[],
    )? {
        let vid = visitor["id"].as_i64().unwrap_or(0);
        let mut visits = Vec::new();
        for mut visit in rows(
            c,
            "SELECT * FROM visits WHERE visitor_id = ?1 ORDER BY id",
            &[vid],
        )? {
            let id = visit["id"].as_i64().unwrap_or(0);
            visit["page_views"] = json!(rows(
                c,
                "SELECT v.id, v.at, v.seconds, p.url, p.title FROM page_views v
                 JOIN pages p ON p.id = v.page_id WHERE v.visit_id = ?1 ORDER BY v.id",
                &[id]
            )?);
            visit["conversions"] = json!(rows(
                c,
                "SELECT x.id, x.at, x.value_cents, g.name AS goal FROM conversions x
                 JOIN goals g ON g.id = x.goal_id WHERE x.visit_id = ?1 ORDER BY x.id",
                &[id]
            )?);
            visit["invitations"] = json!(rows(
                c,
                "SELECT * FROM invitations WHERE visit_id = ?1 ORDER BY id",
                &[id]
            )?);
            visits.push(visit);
        }
        visitor["visits"] = json!(visits);
        visitors.push(visitor);
    }
    let doc = json!({
        "format": "kontor-subject-export/1",
        "exported_at": crate::clock::rfc3339(now),
        "subject": by,
        "counts": counts(c, &s)?,
        "conversations": conversations,
        "offline_messages": rows(c, &format!(
            "SELECT * FROM offline_messages WHERE id IN ({}) ORDER BY id", list(&s.offline)), &[])?,
        "visitors": visitors,
    });
    let mut all = vec![
        ArchiveFile {
            path: "README.txt".into(),
            bytes: README.as_bytes().to_vec(),
        },
        ArchiveFile {
            path: "subject.json".into(),
            bytes: serde_json::to_vec_pretty(&doc)
                .map_err(|e| Error::Internal(format!("export: {e}")))?,
        },
    ];
    all.extend(files);
    Ok((doc, all))
}

/// Writes the archive's files as a tar stream.
pub fn write_tar(files: &[ArchiveFile], out: impl std::io::Write, now: i64) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    for f in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(f.bytes.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(now.max(0) as u64);
        h.set_cksum();
        tar.append_data(&mut h, &f.path, f.bytes.as_slice())
            .map_err(|e| Error::io("writing the export archive", e))?;
    }
    tar.into_inner()
        .map_err(|e| Error::io("writing the export archive", e))?;
    Ok(())
}

/// What rectification changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Updated {
    /// Chats.
    pub conversations: u64,
    /// Offline messages.
    pub offline_messages: u64,
}

/// Sets the name and/or email on everything found (Art. 16).
pub fn rectify(
    c: &mut Connection,
    by: &By,
    name: Option<&str>,
    email: Option<&str>,
) -> Result<Updated> {
    let name = name.map(str::trim).filter(|s| !s.is_empty());
    let email = email
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    if name.is_none() && email.is_none() {
        return Err(Error::Invalid(
            "give a new name, a new email or both".into(),
        ));
    }
    if let Some(n) = name
        && (n.chars().count() > 200 || n.chars().any(char::is_control))
    {
        return Err(Error::Invalid("name: 1 to 200 characters".into()));
    }
    if let Some(e) = &email {
        By::parse("email", e)?;
    }
    let tx = c.transaction()?;
    let s = resolve(&tx, by)?;
    let (k, o) = (list(&s.conversations), list(&s.offline));
    let mut u = Updated::default();
    if let Some(n) = name {
        u.conversations = tx.execute(
            &format!("UPDATE conversations SET visitor_name = ?1 WHERE id IN ({k})"),
            [n],
        )? as u64;
        u.offline_messages = tx.execute(
            &format!("UPDATE offline_messages SET name = ?1 WHERE id IN ({o})"),
            [n],
        )? as u64;
    }
    if let Some(e) = &email {
        u.conversations = tx.execute(
            &format!("UPDATE conversations SET visitor_email = ?1 WHERE id IN ({k})"),
            [e],
        )? as u64;
        u.offline_messages = tx.execute(
            &format!("UPDATE offline_messages SET email = ?1 WHERE id IN ({o})"),
            [e],
        )? as u64;
    }
    tx.commit()?;
    Ok(u)
}

/// A salted hash of one identifier, as the ledger keeps it.
pub fn identifier_hash(tenant_uuid: &str, kind: &str, value: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in ["kontor erasure v1", tenant_uuid, kind, value] {
        ctx.update(part.as_bytes());
        ctx.update(&[0]);
    }
    crate::crypto::hex(ctx.finish().as_ref())
}

/// The hashes of every identifier of `s`.
fn identifiers(tenant_uuid: &str, s: &Subject) -> BTreeSet<String> {
    let h = |kind: &str, v: &str| identifier_hash(tenant_uuid, kind, v);
    let mut out = BTreeSet::new();
    out.extend(s.conversations.iter().map(|i| h("chat", &i.to_string())));
    out.extend(s.offline.iter().map(|i| h("offline", &i.to_string())));
    out.extend(s.visitors.iter().map(|i| h("visitor", &i.to_string())));
    out.extend(s.emails.iter().map(|e| h("email", e)));
    out.extend(s.names.iter().map(|n| h("name", n)));
    out
}

/// Deletes everything of `s` (in the caller's transaction) and returns the counts.
fn delete(c: &Connection, s: &Subject) -> Result<Counts> {
    let counted = counts(c, s)?;
    let (k, o, v) = (list(&s.conversations), list(&s.offline), list(&s.visitors));
    // Messages, notes and files go with their chats; page views, goals and invitations
    // with their visits.
    c.execute(&format!("DELETE FROM conversations WHERE id IN ({k})"), [])?;
    c.execute(
        &format!("DELETE FROM offline_messages WHERE id IN ({o})"),
        [],
    )?;
    c.execute(&format!("DELETE FROM visits WHERE visitor_id IN ({v})"), [])?;
    c.execute(&format!("DELETE FROM visitors WHERE id IN ({v})"), [])?;
    Ok(counted)
}

/// One erasure as the ledger and the deletion protocol show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Ledger id.
    pub id: i64,
    /// When (unix seconds).
    pub at: i64,
    /// Who asked for it (an agent's email, or `operator`).
    pub by: String,
    /// What was deleted, by kind.
    pub deleted: Counts,
}

/// The ledger: one erasure of a tenant.
pub struct LedgerEntry {
    /// The protocol.
    pub protocol: Protocol,
    /// Hashes of every identifier erased.
    pub identifiers: BTreeSet<String>,
}

/// Erases everything of the person (Art. 17): refuses while one of their chats is open or
/// they are on the site right now (the live hub holds them), then records the erasure in
/// the ledger (`record`, called before the deletion commits, so no erasure goes unrecorded)
/// and deletes, leaving no copy in free pages or the write-ahead log.
pub fn erase(
    c: &mut Connection,
    by: &By,
    now: i64,
    tenant_uuid: &str,
    record: impl FnOnce(&BTreeSet<String>, &Counts) -> Result<i64>,
) -> Result<(i64, Counts)> {
    let tx = c.transaction()?;
    let s = resolve(&tx, by)?;
    let open: Option<i64> = tx
        .query_row(
            &format!(
                "SELECT id FROM conversations WHERE id IN ({}) AND status <> 'closed' LIMIT 1",
                list(&s.conversations)
            ),
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = open {
        return Err(Error::Conflict(format!(
            "chat {id} of this person is still open; close it first"
        )));
    }
    let live: Option<i64> = tx
        .query_row(
            &format!(
                "SELECT id FROM visitors WHERE id IN ({}) AND last_seen > ?1 LIMIT 1",
                list(&s.visitors)
            ),
            [now - 30 * 60],
            |r| r.get(0),
        )
        .optional()?;
    if live.is_some() {
        return Err(Error::Conflict(
            "this person was on the site in the last 30 minutes; try again after their visit ended"
                .into(),
        ));
    }
    let counted = counts(&tx, &s)?;
    if counted.is_empty() {
        return Err(Error::NotFound("nothing stored about this person".into()));
    }
    let id = record(&identifiers(tenant_uuid, &s), &counted)?;
    let deleted = delete(&tx, &s)?;
    tx.commit()?;
    super::retention::checkpoint(c)?;
    Ok((id, deleted))
}

/// Applies ledger entries to a (restored) tenant: deletes the rows whose identifiers an
/// erasure recorded and that existed at its time. Returns what was deleted again.
pub fn replay(c: &mut Connection, tenant_uuid: &str, ledger: &[LedgerEntry]) -> Result<Counts> {
    let tx = c.transaction()?;
    let mut total = Counts::default();
    for entry in ledger {
        let at = entry.protocol.at;
        let hit = |kind: &str, v: &str| {
            entry
                .identifiers
                .contains(&identifier_hash(tenant_uuid, kind, v))
        };
        let mut s = Subject::default();
        {
            let mut stmt = tx.prepare(
                "SELECT id, lower(visitor_email), lower(visitor_name), visitor_id
                 FROM conversations WHERE created_at <= ?1",
            )?;
            let mut rows = stmt.query([at])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let email: String = r.get(1)?;
                let name: String = r.get(2)?;
                let visitor: Option<i64> = r.get(3)?;
                if hit("chat", &id.to_string())
                    || (!email.is_empty() && hit("email", &email))
                    || (!name.is_empty() && hit("name", &name))
                    || visitor.is_some_and(|v| hit("visitor", &v.to_string()))
                {
                    s.conversations.insert(id);
                }
            }
            let mut stmt = tx.prepare(
                "SELECT id, lower(email), lower(name) FROM offline_messages WHERE created_at <= ?1",
            )?;
            let mut rows = stmt.query([at])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let email: String = r.get(1)?;
                let name: String = r.get(2)?;
                if hit("offline", &id.to_string())
                    || (!email.is_empty() && hit("email", &email))
                    || (!name.is_empty() && hit("name", &name))
                {
                    s.offline.insert(id);
                }
            }
            let mut stmt = tx.prepare("SELECT id FROM visitors WHERE first_seen <= ?1")?;
            let mut rows = stmt.query([at])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                if hit("visitor", &id.to_string()) {
                    s.visitors.insert(id);
                }
            }
        }
        let d = delete(&tx, &s)?;
        total.conversations += d.conversations;
        total.messages += d.messages;
        total.notes += d.notes;
        total.files += d.files;
        total.offline_messages += d.offline_messages;
        total.visitors += d.visitors;
        total.visits += d.visits;
        total.page_views += d.page_views;
        total.conversions += d.conversions;
        total.invitations += d.invitations;
    }
    tx.commit()?;
    if !total.is_empty() {
        super::retention::checkpoint(c)?;
    }
    Ok(total)
}

/// Records an erasure in the ledger (`system.db`).
pub fn record(
    c: &Connection,
    tenant_uuid: &str,
    at: i64,
    by: &str,
    identifiers: &BTreeSet<String>,
    deleted: &Counts,
) -> Result<i64> {
    c.execute(
        "INSERT INTO erasures (tenant_uuid, at, actor, identifiers, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            tenant_uuid,
            at,
            by,
            serde_json::to_string(identifiers).unwrap_or_default(),
            serde_json::to_string(deleted).unwrap_or_default(),
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// A tenant's ledger, oldest first.
pub fn ledger(c: &Connection, tenant_uuid: &str) -> Result<Vec<LedgerEntry>> {
    let mut stmt = c.prepare(
        "SELECT id, at, actor, identifiers, deleted FROM erasures WHERE tenant_uuid = ?1
         ORDER BY id",
    )?;
    let rows = stmt
        .query_map([tenant_uuid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, at, by, identifiers, deleted)| {
            Ok(LedgerEntry {
                protocol: Protocol {
                    id,
                    at,
                    by,
                    deleted: serde_json::from_str(&deleted)
                        .map_err(|e| Error::Internal(format!("erasure ledger: {e}")))?,
                },
                identifiers: serde_json::from_str(&identifiers)
                    .map_err(|e| Error::Internal(format!("erasure ledger: {e}")))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_and_normalised() {
        assert_eq!(
            By::parse("email", " Erika@Example.ORG ").unwrap(),
            By::Email("erika@example.org".into())
        );
        assert_eq!(By::parse("chat", "#42").unwrap(), By::Chat(42));
        assert!(By::parse("chat", "1 OR 1=1").is_err());
        assert!(By::parse("visitor", "-3").is_err());
        assert!(By::parse("email", "no-at-sign").is_err());
        assert!(By::parse("name", "").is_err());
        assert!(By::parse("phone", "1").is_err());
        assert_ne!(
            identifier_hash("t1", "email", "a@b"),
            identifier_hash("t2", "email", "a@b"),
            "salted per tenant"
        );
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
    }
}
