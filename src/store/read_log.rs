//! The read log: who read what and when (a conversation, a visitor's details, the offline
//! inbox, a file, a data-subject find or export, a statistics CSV, a history search). Apart
//! from the audit chain, so that it has its own retention period (`reads_days`); written in
//! batches (see `domain::read_log`).

use super::rows;
use crate::error::Result;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

/// One read, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadEvent {
    /// Unix seconds, UTC.
    pub at: i64,
    /// Who: the agent's email.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// What kind of thing: `conversation`, `visitor`, `offline`, `file`, `gdpr.find`,
    /// `gdpr.export`, `stats.csv`, `history.search`.
    pub what: String,
    /// Which one (`conversation#7`), never content; a search names a pseudonym of its words.
    pub object: String,
    /// Truncated client address.
    pub ip: String,
    /// The request's id.
    pub request_id: String,
}

/// Writes reads (the caller holds a transaction around a batch).
pub fn insert_all(c: &Connection, events: &[ReadEvent]) -> Result<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO read_log (at, actor, role, what, object, ip, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for e in events {
        st.execute(params![
            e.at,
            e.actor,
            e.role,
            e.what,
            e.object,
            e.ip,
            e.request_id
        ])?;
    }
    Ok(())
}

/// Which reads to list (every field optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadFilter {
    /// From this unix second on.
    pub since: Option<i64>,
    /// Before this unix second.
    pub until: Option<i64>,
    /// Actor contains this.
    pub actor: Option<String>,
    /// Exactly this kind.
    pub what: Option<String>,
    /// Object contains this (`conversation#7`).
    pub object: Option<String>,
    /// With an id below this (paging back).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u32>,
}

/// One read as listed, with its id.
#[derive(Debug, Clone, Serialize)]
pub struct ReadListed {
    /// Id (increasing).
    pub id: i64,
    /// The read.
    #[serde(flatten)]
    pub event: ReadEvent,
}

/// Reads matching `f`, newest first.
pub fn list(c: &Connection, f: &ReadFilter) -> Result<Vec<ReadListed>> {
    let limit = f.limit.unwrap_or(100).clamp(1, 500);
    let text = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    rows::all(
        c,
        "SELECT id, at, actor, role, what, object, ip, request_id FROM read_log
         WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2)
           AND (?3 IS NULL OR instr(lower(actor), lower(?3)) > 0)
           AND (?4 IS NULL OR what = ?4) AND (?5 IS NULL OR instr(object, ?5) > 0)
           AND (?6 IS NULL OR id < ?6)
         ORDER BY id DESC LIMIT ?7",
        params![
            f.since,
            f.until,
            text(&f.actor),
            text(&f.what),
            text(&f.object),
            f.before_id,
            limit
        ],
        |r| {
            Ok(ReadListed {
                id: r.get(0)?,
                event: ReadEvent {
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    role: r.get(3)?,
                    what: r.get(4)?,
                    object: r.get(5)?,
                    ip: r.get(6)?,
                    request_id: r.get(7)?,
                },
            })
        },
    )
}

/// Deletes reads older than `cutoff` (unix seconds); how many.
pub fn purge_before(c: &Connection, cutoff: i64) -> Result<u64> {
    Ok(c.execute("DELETE FROM read_log WHERE at < ?1", [cutoff])? as u64)
}
