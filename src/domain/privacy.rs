//! Data-subject requests as one audited action each, for the dashboard and the CLI alike:
//! find, export, rectify, erase (with the ledger in `system.db`), and the ledger's replay
//! after a restore. The audit trail names the request by kind and a pseudonym of the person
//! (a prefix of the salted identifier hash), never by their email or name.

use super::agents;
use crate::clock::now;
use crate::error::Result;
use crate::model::tenants;
use crate::store::audit::{self as astore, AuditEntry};
use crate::store::gdpr::{self, ArchiveFile, By, Counts, Protocol};
use crate::store::{Store, TenantDb};
use serde_json::Value;

/// Who asks, for the audit trail.
pub struct Actor<'a> {
    /// Agent email, or `operator` for the CLI.
    pub name: &'a str,
    /// Their role.
    pub role: &'a str,
    /// Truncated address (empty for the CLI).
    pub ip: &'a str,
    /// Request id (empty for the CLI).
    pub request_id: &'a str,
}

impl Actor<'_> {
    /// The operator at the command line.
    pub const OPERATOR: Actor<'static> = Actor {
        name: "operator",
        role: "operator",
        ip: "",
        request_id: "",
    };
}

/// `email:subject#…`: how the audit trail and the read log name a person (the kind of
/// identifier and a salted hash of it, never the value).
pub fn pseudonym(db: &TenantDb, by: &By) -> String {
    let value = match by {
        By::Email(v) | By::Name(v) => v.clone(),
        By::Visitor(n) | By::Chat(n) => n.to_string(),
    };
    let h = gdpr::identifier_hash(&db.uuid, by.kind(), &value);
    format!("{}:subject#{}", by.kind(), &h[..12])
}

pub(crate) fn audit(
    c: &rusqlite::Connection,
    actor: &Actor,
    action: &str,
    object: &str,
) -> Result<()> {
    astore::record(
        c,
        &AuditEntry {
            actor: actor.name,
            role: actor.role,
            action,
            object,
            result: "success",
            ip: actor.ip,
            request_id: actor.request_id,
        },
    )
}

/// Art. 15: what is stored about the person (lists and counts).
pub fn find(db: &TenantDb, by: &By, actor: &Actor) -> Result<Value> {
    let object = pseudonym(db, by);
    // Read beside the chat writer; the request is audited once the answer is ready.
    let found = db.read(|c| gdpr::find(c, by))?;
    db.with(|c| audit(c, actor, "gdpr.find", &object))?;
    Ok(found)
}

/// Art. 15 and 20: the person's data as a document and an archive's files.
pub fn export(db: &TenantDb, by: &By, actor: &Actor) -> Result<(Value, Vec<ArchiveFile>)> {
    let object = pseudonym(db, by);
    let out = db.read(|c| gdpr::export(c, by, now()))?;
    db.with(|c| audit(c, actor, "gdpr.export", &object))?;
    Ok(out)
}

/// Art. 16: a new name and/or email on everything found, checked as the chat and the offline
/// form check them (an empty one is not given).
pub fn rectify(
    db: &TenantDb,
    by: &By,
    name: Option<&str>,
    email: Option<&str>,
    actor: &Actor,
) -> Result<gdpr::Updated> {
    let name = given(name)
        .map(|n| tenants::clean_name("name", n, tenants::VISITOR_NAME_MAX))
        .transpose()?;
    let email = given(email).map(agents::normalize_email).transpose()?;
    let object = pseudonym(db, by);
    db.with(|c| {
        let u = gdpr::rectify(c, by, name.as_deref(), email.as_deref())?;
        audit(c, actor, "gdpr.rectify", &object)?;
        Ok(u)
    })
}

/// A value that was given: not missing, not blank.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Art. 17: erases everything of the person, records it in the ledger, returns the deletion
/// protocol. `forget` first makes a running server let go of what it holds live about them
/// (their chats end, their presence on the site too), so the erasure need not wait for their
/// visit to end.
pub fn erase(
    store: &Store,
    db: &TenantDb,
    by: &By,
    actor: &Actor,
    forget: &dyn Fn(&gdpr::Subject) -> Result<()>,
) -> Result<Protocol> {
    let at = now();
    let object = pseudonym(db, by);
    let uuid = db.uuid.clone();
    forget(&db.read(|c| gdpr::resolve(c, by))?)?;
    let (id, deleted) = db.with(|c| {
        let done = gdpr::erase(c, by, &uuid, |ids, counts| {
            store.system(|s| gdpr::record(s, &uuid, at, actor.name, ids, counts))
        })?;
        audit(
            c,
            actor,
            "gdpr.erase",
            &format!("{object} protocol#{}", done.0),
        )?;
        Ok(done)
    })?;
    Ok(Protocol {
        id,
        at,
        by: actor.name.to_string(),
        deleted,
    })
}

/// The tenant's deletion protocols, newest first.
pub fn protocols(store: &Store, db: &TenantDb) -> Result<Vec<Protocol>> {
    let mut v: Vec<Protocol> = store
        .system(|c| gdpr::ledger(c, &db.uuid))?
        .into_iter()
        .map(|e| e.protocol)
        .collect();
    v.reverse();
    Ok(v)
}

/// After a restore: erases again whatever the ledger says was erased; audited when it found
/// anything.
pub fn replay(store: &Store, uuid: &str) -> Result<Counts> {
    let ledger = store.system(|c| gdpr::ledger(c, uuid))?;
    if ledger.is_empty() {
        return Ok(Counts::default());
    }
    let db = store.tenant_db(uuid)?;
    db.with(|c| {
        let again = gdpr::replay(c, uuid, &ledger)?;
        if !again.is_empty() {
            let object = format!("items={}", again.total());
            audit(
                c,
                &Actor {
                    name: "system",
                    role: "system",
                    ip: "",
                    request_id: "",
                },
                "gdpr.replay",
                &object,
            )?;
        }
        Ok(again)
    })
}
