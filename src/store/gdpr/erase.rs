//! Changing and deleting the person's data: rectification (Art. 16), erasure (Art. 17) with
//! its record in the ledger, and the replay of the ledger over a restored database.

use super::ledger::LedgerEntry;
use super::subject::{By, Counts, Subject, counts, list, resolve};
use crate::error::{Error, Result};
use crate::store::connection::checkpoint;
use crate::store::rows;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What rectification changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Updated {
    /// Chats.
    pub conversations: u64,
    /// Offline messages.
    pub offline_messages: u64,
    /// Values of their chats' pre-chat forms (an email field, or a text field holding their
    /// name).
    #[serde(default)]
    pub form_fields: u64,
}

/// Sets the name and/or email on everything found (Art. 16), as the caller checked them
/// (`domain::privacy::rectify`).
pub fn rectify(
    c: &mut Connection,
    by: &By,
    name: Option<&str>,
    email: Option<&str>,
) -> Result<Updated> {
    if name.is_none() && email.is_none() {
        return Err(Error::Invalid(
            "give a new name, a new email or both".into(),
        ));
    }
    let tx = c.transaction()?;
    let s = resolve(&tx, by)?;
    let (k, o) = (list(&s.conversations), list(&s.offline));
    let mut u = Updated::default();
    // The form's values that are the person's name or address change with them: those equal
    // (in any case) to a name they gave or one of their addresses. Read before the chats change.
    let old_names: Vec<String> = rows::all(
        &tx,
        &format!("SELECT DISTINCT lower(visitor_name) FROM conversations WHERE id IN ({k})"),
        [],
        |r| r.get(0),
    )?;
    let names: BTreeSet<String> = old_names
        .into_iter()
        .chain(s.names.iter().cloned())
        .filter(|n| !n.is_empty())
        .collect();
    let fields = [(name, "text", &names), (email, "email", &s.emails)];
    for (value, kind, old) in fields {
        let Some(value) = value else { continue };
        let mut stmt = tx.prepare(&format!(
            "UPDATE conversation_fields SET value = ?1
             WHERE conversation_id IN ({k}) AND kind = ?2 AND lower(value) = ?3"
        ))?;
        for o in old {
            u.form_fields += stmt.execute(rusqlite::params![value, kind, o])? as u64;
        }
    }
    // (new value, its column in conversations, in offline_messages)
    let changes = [
        (name, "visitor_name", "name"),
        (email, "visitor_email", "email"),
    ];
    for (value, chat_column, offline_column) in changes {
        let Some(value) = value else { continue };
        u.conversations = tx.execute(
            &format!("UPDATE conversations SET {chat_column} = ?1 WHERE id IN ({k})"),
            [value],
        )? as u64;
        u.offline_messages = tx.execute(
            &format!("UPDATE offline_messages SET {offline_column} = ?1 WHERE id IN ({o})"),
            [value],
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
    c.execute(
        &format!("DELETE FROM outbox WHERE id IN ({})", list(&s.mails)),
        [],
    )?;
    c.execute(&format!("DELETE FROM visitors WHERE id IN ({v})"), [])?;
    // Webhook deliveries carry chat text, names and addresses: a queued one is never sent.
    crate::store::webhooks::erase_about(c, &s.conversations, &s.offline, &s.emails)?;
    Ok(counted)
}

/// Erases everything of the person (Art. 17): refuses while one of their chats is open (a
/// running server ends them first, see `domain::privacy::erase`), then records the erasure in
/// the ledger (`record`, called before the deletion commits, so no erasure goes unrecorded)
/// and deletes, leaving no copy in free pages or the write-ahead log.
pub fn erase(
    c: &mut Connection,
    by: &By,
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
    let counted = counts(&tx, &s)?;
    if counted.is_empty() {
        return Err(Error::NotFound("nothing stored about this person".into()));
    }
    let id = record(&identifiers(tenant_uuid, &s), &counted)?;
    let deleted = delete(&tx, &s)?;
    tx.commit()?;
    checkpoint(c)?;
    Ok((id, deleted))
}

/// Applies ledger entries to a (restored) tenant: deletes the rows whose identifiers an
/// erasure recorded and that existed at its time. Returns what was deleted again.
pub fn replay(c: &mut Connection, tenant_uuid: &str, ledger: &[LedgerEntry]) -> Result<Counts> {
    let tx = c.transaction()?;
    let mut total = Counts::default();
    for entry in ledger {
        let s = erased_by(&tx, tenant_uuid, entry)?;
        total.add(&delete(&tx, &s)?);
    }
    tx.commit()?;
    if !total.is_empty() {
        checkpoint(c)?;
    }
    Ok(total)
}

/// Where an erasure's identifiers may point: per kind of record (as the ledger names its ids),
/// the rows that existed at the erasure's time (`?1`) as (id, email, name, visitor; lower
/// case, empty or NULL where the record has none), and the set of [`Subject`] they go to.
type Record = (
    &'static str,
    &'static str,
    fn(&mut Subject) -> &mut BTreeSet<i64>,
);
const RECORDS: [Record; 3] = [
    (
        "chat",
        "SELECT id, lower(visitor_email), lower(visitor_name), visitor_id
         FROM conversations WHERE created_at <= ?1",
        |s| &mut s.conversations,
    ),
    (
        "offline",
        "SELECT id, lower(email), lower(name), NULL FROM offline_messages WHERE created_at <= ?1",
        |s| &mut s.offline,
    ),
    (
        "visitor",
        "SELECT id, '', '', NULL FROM visitors WHERE first_seen <= ?1",
        |s| &mut s.visitors,
    ),
];

/// The rows one ledger entry erased, as far as they are here: those that existed at its time
/// and whose id, email, name or visitor record it names.
fn erased_by(c: &Connection, tenant_uuid: &str, entry: &LedgerEntry) -> Result<Subject> {
    let named = |kind: &str, v: &str| {
        !v.is_empty()
            && entry
                .identifiers
                .contains(&identifier_hash(tenant_uuid, kind, v))
    };
    let mut s = Subject::default();
    for (kind, sql, set) in RECORDS {
        let found: Vec<(i64, String, String, Option<i64>)> =
            rows::all(c, sql, [entry.protocol.at], |r| r.try_into())?;
        set(&mut s).extend(
            found
                .into_iter()
                .filter(|(id, email, name, visitor)| {
                    named(kind, &id.to_string())
                        || named("email", email)
                        || named("name", name)
                        || visitor.is_some_and(|v| named("visitor", &v.to_string()))
                })
                .map(|(id, ..)| id),
        );
    }
    Ok(s)
}
