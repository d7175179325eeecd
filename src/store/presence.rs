//! Agents' presence for the work-time statistics: one row per stretch of time an agent was
//! signed in (a dashboard of theirs connected) with one status. The hub writes them
//! (`domain::conversation`, presence); the statistics read them as intervals.
//!
//! The rule for a sign-in without a sign-out: an open row's `until` is the hub's last sign of
//! life for it, renewed every [`BEAT`] seconds. When the hub loads the tenant (after a start,
//! or after a failed batch) it closes every open row where it stands ([`close_open`]); the
//! agents who are still there get new rows. So a stop or a crash ends the stretch at most a
//! beat before it, and the downtime never counts. Read before that, a row not renewed for
//! [`STALE`] seconds ends at its `until` as well.

use super::chat::{set_setting, setting};
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// How often the hub renews the rows of agents still signed in (seconds).
pub const BEAT: i64 = 60;
/// An open row not renewed for this long is left over from a stop or a crash.
pub const STALE: i64 = 3 * BEAT;

const SWITCH: &str = "worktime.recording";

/// Whether the tenant records its agents' presence (on unless switched off).
pub fn recording(c: &Connection) -> Result<bool> {
    Ok(setting(c, SWITCH)?.as_deref() != Some("off"))
}

/// Switches the recording on or off; off ends every open row at `now`. Nothing recorded is
/// deleted: retention does that.
pub fn set_recording(c: &Connection, on: bool, now: i64) -> Result<()> {
    set_setting(c, SWITCH, if on { "on" } else { "off" })?;
    if !on {
        c.execute(
            "UPDATE agent_presence SET until = max(until, ?1), ended = 1 WHERE ended = 0",
            [now],
        )?;
    }
    Ok(())
}

/// An agent's presence from `at` on: signed in with `status`, or signed out (`None`). The
/// same status as the open row renews it; another ends it and starts a new one.
pub fn record(c: &Connection, agent_id: i64, status: Option<&str>, at: i64) -> Result<()> {
    if !recording(c)? {
        return Ok(());
    }
    let open: Option<(i64, String)> = c
        .query_row(
            "SELECT id, status FROM agent_presence WHERE agent_id = ?1 AND ended = 0
             ORDER BY id DESC LIMIT 1",
            [agent_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let (Some((id, was)), Some(now)) = (&open, status)
        && was == now
    {
        c.execute(
            "UPDATE agent_presence SET until = max(until, ?2) WHERE id = ?1",
            params![id, at],
        )?;
        return Ok(());
    }
    if open.is_some() {
        c.execute(
            "UPDATE agent_presence SET until = max(until, ?2), ended = 1
             WHERE agent_id = ?1 AND ended = 0",
            params![agent_id, at],
        )?;
    }
    if let Some(status) = status {
        c.execute(
            "INSERT INTO agent_presence (agent_id, status, since, until) VALUES (?1, ?2, ?3, ?3)",
            params![agent_id, status, at],
        )?;
    }
    Ok(())
}

/// Ends every open row at its last sign of life: the hub calls it when it loads, before the
/// agents present get rows of their own.
pub fn close_open(c: &Connection) -> Result<usize> {
    Ok(c.execute("UPDATE agent_presence SET ended = 1 WHERE ended = 0", [])?)
}

/// A stretch of one status, as read at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The agent.
    pub agent_id: i64,
    /// `online`, `away` or `offline`.
    pub status: String,
    /// First second.
    pub from: i64,
    /// First second after it.
    pub to: i64,
}

/// The stretches overlapping `[start, end)` as they stand at `now`, clipped to it: an open
/// row runs until `now` while it is renewed, else until its last sign of life.
pub fn spans(c: &Connection, start: i64, end: i64, now: i64) -> Result<Vec<Span>> {
    let mut out = Vec::new();
    super::rows::each(
        c,
        "SELECT agent_id, status, since, until, ended FROM agent_presence
         WHERE since < ?2 AND (ended = 0 OR until > ?1) ORDER BY agent_id, since, id",
        params![start, end],
        |r| {
            let until: i64 = r.get(3)?;
            let live = !r.get::<_, bool>(4)? && until >= now - STALE;
            let to = if live { now.max(until) } else { until };
            let span = Span {
                agent_id: r.get(0)?,
                status: r.get(1)?,
                from: r.get::<_, i64>(2)?.max(start),
                to: to.min(end).min(now),
            };
            if span.to > span.from {
                out.push(span);
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// Deletes the ended rows that ended before `before`; returns how many.
pub fn purge_before(c: &Connection, before: i64) -> Result<u64> {
    Ok(c.execute(
        "DELETE FROM agent_presence WHERE ended = 1 AND until < ?1",
        [before],
    )? as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::migrations::apply(&mut c, crate::store::migrations::TENANT).unwrap();
        c.execute_batch(
            "INSERT INTO agents (id, email, display_name, role, password_hash, created_at)
             VALUES (1, 'a@x.example', 'A', 'agent', '', 0)",
        )
        .unwrap();
        c
    }

    fn all(c: &Connection, now: i64) -> Vec<(String, i64, i64)> {
        spans(c, 0, 1_000_000, now)
            .unwrap()
            .into_iter()
            .map(|s| (s.status, s.from, s.to))
            .collect()
    }

    #[test]
    fn a_status_change_ends_one_stretch_and_starts_the_next() {
        let c = db();
        record(&c, 1, Some("online"), 100).unwrap();
        record(&c, 1, Some("online"), 160).unwrap();
        record(&c, 1, Some("away"), 200).unwrap();
        record(&c, 1, None, 300).unwrap();
        assert_eq!(
            all(&c, 1000),
            [("online".into(), 100, 200), ("away".into(), 200, 300)]
        );
    }

    #[test]
    fn an_open_stretch_runs_until_now_while_renewed_and_not_through_a_crash() {
        let c = db();
        record(&c, 1, Some("online"), 100).unwrap();
        record(&c, 1, Some("online"), 160).unwrap();
        // Read a beat later: still signed in.
        assert_eq!(all(&c, 220), [("online".into(), 100, 220)]);
        // Nothing renewed it for longer than STALE: it ended at its last sign of life.
        assert_eq!(all(&c, 160 + STALE + 1), [("online".into(), 100, 160)]);
        // The server comes back an hour later and the agent signs in again.
        assert_eq!(close_open(&c).unwrap(), 1);
        record(&c, 1, Some("online"), 3760).unwrap();
        assert_eq!(
            all(&c, 3800),
            [("online".into(), 100, 160), ("online".into(), 3760, 3800)]
        );
    }

    #[test]
    fn switched_off_nothing_is_recorded_and_the_open_stretch_ends() {
        let c = db();
        record(&c, 1, Some("online"), 100).unwrap();
        set_recording(&c, false, 150).unwrap();
        assert!(!recording(&c).unwrap());
        record(&c, 1, Some("away"), 200).unwrap();
        assert_eq!(all(&c, 1000), [("online".into(), 100, 150)]);
        set_recording(&c, true, 300).unwrap();
        record(&c, 1, Some("away"), 400).unwrap();
        assert_eq!(all(&c, 420).len(), 2);
    }

    #[test]
    fn stretches_are_clipped_to_the_period() {
        let c = db();
        record(&c, 1, Some("online"), 100).unwrap();
        record(&c, 1, None, 500).unwrap();
        let s = spans(&c, 200, 300, 1000).unwrap();
        assert_eq!((s[0].from, s[0].to), (200, 300));
        assert!(spans(&c, 500, 600, 1000).unwrap().is_empty());
        assert_eq!(purge_before(&c, 501).unwrap(), 1);
    }
}
