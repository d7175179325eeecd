//! The durable outbox (a table of the same shape in every tenant database and in
//! `system.db`): mails queued in the transaction of the event that causes them, then delivered
//! by the sender, which records each server's answer before it does anything else.

use crate::error::Result;
use crate::store::rows;
use rusqlite::{Connection, params};
use std::collections::BTreeSet;

/// How long a mail is retried before it is given up (72 hours).
pub const GIVE_UP_AFTER: i64 = 72 * 3600;

/// A mail to queue, already rendered.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    /// offline, reply, transcript, missed, invite, reset, alert, test
    pub kind: &'a str,
    /// The one envelope recipient.
    pub recipient: &'a str,
    /// For the outbox list.
    pub subject: &'a str,
    /// The visitor's address the mail is about, or "".
    pub person: &'a str,
    /// What it belongs to (`offline:12`, `conversation:7`), or "".
    pub about: &'a str,
    /// Envelope sender.
    pub envelope_from: &'a str,
    /// The RFC 5322 message.
    pub message: &'a [u8],
    /// Unix seconds.
    pub at: i64,
}

/// Queues a mail (inside the caller's transaction); returns its id.
pub fn enqueue(c: &Connection, m: &NewMail<'_>) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO outbox (kind, recipient, subject, person, about, envelope_from, message,
                             next_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        m.kind,
        m.recipient,
        m.subject,
        m.person,
        m.about,
        m.envelope_from,
        m.message,
        m.at
    ])?;
    Ok(c.last_insert_rowid())
}

/// A queued mail whose time has come.
#[derive(Debug, Clone)]
pub struct Due {
    /// Id.
    pub id: i64,
    /// Envelope recipient.
    pub recipient: String,
    /// Envelope sender.
    pub envelope_from: String,
    /// The message.
    pub message: Vec<u8>,
    /// Tries so far.
    pub attempts: i64,
    /// When it was queued.
    pub created_at: i64,
}

/// Queued mails due at `now`, oldest first.
pub fn due(c: &Connection, now: i64, limit: i64) -> Result<Vec<Due>> {
    rows::all(
        c,
        "SELECT id, recipient, envelope_from, message, attempts, created_at FROM outbox
         WHERE state = 'queued' AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
        params![now, limit],
        |r| {
            Ok(
                from_row!(r => Due { id, recipient, envelope_from, message, attempts,
                                    created_at }),
            )
        },
    )
}

/// When the next queued mail is due, if any is queued.
pub fn next_due(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT min(next_at) FROM outbox WHERE state = 'queued'",
        [],
        |r| r.get(0),
    )?)
}

/// A mail's last try: `sent` (the server accepted it) or `failed` (refused for good, or 72
/// hours of tries are over), with the server's answer.
fn finish(c: &Connection, id: i64, state: &str, at: i64, answer: &str) -> Result<()> {
    c.execute(
        "UPDATE outbox SET state = ?2, attempts = attempts + 1, done_at = ?3, answer = ?4
         WHERE id = ?1",
        params![id, state, at, answer],
    )?;
    Ok(())
}

/// The server accepted the mail.
pub fn mark_sent(c: &Connection, id: i64, at: i64, answer: &str) -> Result<()> {
    finish(c, id, "sent", at, answer)
}

/// The server refused it for good (or 72 hours of tries are over).
pub fn mark_failed(c: &Connection, id: i64, at: i64, answer: &str) -> Result<()> {
    finish(c, id, "failed", at, answer)
}

/// A temporary failure: try again at `next_at`.
pub fn mark_retry(c: &Connection, id: i64, next_at: i64, answer: &str) -> Result<()> {
    c.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_at = ?2, answer = ?3 WHERE id = ?1",
        params![id, next_at, answer],
    )?;
    Ok(())
}

/// A mail as the outbox list shows it (without the message).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxRow {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// What it belongs to.
    pub about: String,
    /// queued, sent or failed.
    pub state: String,
    /// Tries so far.
    pub attempts: i64,
    /// Queued at.
    pub created_at: i64,
    /// Sent or given up at.
    pub done_at: Option<i64>,
    /// Next try (queued only).
    pub next_at: i64,
    /// The server's last answer.
    pub answer: String,
}

/// The newest mails first.
pub fn list(c: &Connection, limit: i64) -> Result<Vec<OutboxRow>> {
    rows::all(
        c,
        "SELECT id, kind, recipient, subject, about, state, attempts, created_at, done_at,
                next_at, answer
         FROM outbox ORDER BY id DESC LIMIT ?1",
        [limit],
        |r| {
            Ok(
                from_row!(r => OutboxRow { id, kind, recipient, subject, about, state, attempts,
                                          created_at, done_at, next_at, answer }),
            )
        },
    )
}

/// The backlog: how many mails wait, and when the oldest of them was queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Backlog {
    /// Queued, not yet delivered.
    pub queued: i64,
    /// Given up.
    pub failed: i64,
    /// When the oldest queued mail was queued.
    pub oldest_queued_at: Option<i64>,
}

impl Backlog {
    /// Adds another database's backlog.
    pub fn add(&mut self, o: Backlog) {
        self.queued += o.queued;
        self.failed += o.failed;
        self.oldest_queued_at = match (self.oldest_queued_at, o.oldest_queued_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// This database's backlog.
pub fn backlog(c: &Connection) -> Result<Backlog> {
    Ok(c.query_row(
        "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'failed'),
                min(created_at) FILTER (WHERE state = 'queued')
         FROM outbox",
        [],
        |r| {
            Ok(Backlog {
                queued: r.get(0)?,
                failed: r.get(1)?,
                oldest_queued_at: r.get(2)?,
            })
        },
    )?)
}

/// The still-queued mails of `kind` as (id, recipient, about): a digest grows in place
/// instead of another being sent.
pub fn queued_of_kind(c: &Connection, kind: &str) -> Result<Vec<(i64, String, String)>> {
    rows::all(
        c,
        "SELECT id, recipient, about FROM outbox WHERE kind = ?1 AND state = 'queued'",
        [kind],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// When the last mail of `kind` was queued, if ever.
pub fn last_of_kind(c: &Connection, kind: &str) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT max(created_at) FROM outbox WHERE kind = ?1",
        [kind],
        |r| r.get(0),
    )?)
}

/// When the last mail of `kind` about `about` was queued, if ever.
pub fn last_about(c: &Connection, kind: &str, about: &str) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT max(created_at) FROM outbox WHERE kind = ?1 AND about = ?2",
        [kind, about],
        |r| r.get(0),
    )?)
}

/// Replaces a queued mail's message (a digest that grew) before it is sent.
pub fn replace_queued(
    c: &Connection,
    id: i64,
    subject: &str,
    about: &str,
    message: &[u8],
) -> Result<bool> {
    Ok(c.execute(
        "UPDATE outbox SET subject = ?2, about = ?3, message = ?4
         WHERE id = ?1 AND state = 'queued'",
        params![id, subject, about, message],
    )? == 1)
}

/// Holds a queued mail back until `until` (a digest waits for its interval).
pub fn defer(c: &Connection, id: i64, until: i64) -> Result<()> {
    c.execute(
        "UPDATE outbox SET next_at = max(next_at, ?2) WHERE id = ?1",
        params![id, until],
    )?;
    Ok(())
}

/// Deletes delivered and failed mails finished before `before`; returns how many.
pub fn purge_done(c: &Connection, before: i64) -> Result<usize> {
    Ok(c.execute(
        "DELETE FROM outbox WHERE state <> 'queued' AND done_at < ?1",
        [before],
    )?)
}

/// The mails of a data subject: to or about one of their addresses, or about one of their
/// chats or offline messages (a missed-chat digest that lists one of their chats included).
pub fn of_subject(
    c: &Connection,
    emails: &BTreeSet<String>,
    conversations: &BTreeSet<i64>,
    offline: &BTreeSet<i64>,
) -> Result<BTreeSet<i64>> {
    let all: Vec<(i64, String, String, String)> = rows::all(
        c,
        "SELECT id, lower(recipient), lower(person), about FROM outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let ids = |list: &str| -> Vec<i64> { list.split(',').filter_map(|s| s.parse().ok()).collect() };
    Ok(all
        .into_iter()
        .filter(|(_, recipient, person, about)| {
            emails.contains(recipient)
                || emails.contains(person)
                || match about.split_once(':') {
                    Some(("offline", id)) => ids(id).iter().any(|i| offline.contains(i)),
                    Some(("conversation" | "conversations", list)) => {
                        ids(list).iter().any(|i| conversations.contains(i))
                    }
                    _ => false,
                }
        })
        .map(|(id, ..)| id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(include_str!("migrations/shared/outbox.sql"))
            .unwrap();
        c
    }

    fn mail(c: &Connection, kind: &str, to: &str, at: i64) -> i64 {
        enqueue(
            c,
            &NewMail {
                kind,
                recipient: to,
                subject: "s",
                person: "",
                about: "",
                envelope_from: "a@example.com",
                message: b"m",
                at,
            },
        )
        .unwrap()
    }

    #[test]
    fn due_mails_come_in_order_and_leave_the_queue_once_answered() {
        let c = db();
        let a = mail(&c, "offline", "x@example.com", 100);
        let b = mail(&c, "offline", "y@example.com", 105);
        assert!(due(&c, 99, 10).unwrap().is_empty());
        let ids: Vec<i64> = due(&c, 200, 10).unwrap().iter().map(|d| d.id).collect();
        assert_eq!(ids, [a, b]);
        mark_retry(&c, a, 300, "451 later").unwrap();
        mark_sent(&c, b, 201, "250 ok").unwrap();
        assert!(due(&c, 299, 10).unwrap().is_empty());
        assert_eq!(next_due(&c).unwrap(), Some(300));
        let bl = backlog(&c).unwrap();
        assert_eq!(
            (bl.queued, bl.failed, bl.oldest_queued_at),
            (1, 0, Some(100))
        );
        mark_failed(&c, a, 301, "550 no").unwrap();
        assert_eq!(next_due(&c).unwrap(), None);
        let rows = list(&c, 10).unwrap();
        assert_eq!(rows[1].state, "failed");
        assert_eq!(rows[1].answer, "550 no");
        assert_eq!(rows[1].attempts, 2);
        assert_eq!(purge_done(&c, 302).unwrap(), 2);
    }

    #[test]
    fn only_a_queued_digest_can_grow() {
        let c = db();
        let id = mail(&c, "missed", "alerts@example.com", 10);
        assert_eq!(queued_of_kind(&c, "missed").unwrap()[0].0, id);
        assert!(replace_queued(&c, id, "2 missed", "conversation:1,2", b"new").unwrap());
        mark_sent(&c, id, 11, "250").unwrap();
        assert!(!replace_queued(&c, id, "3 missed", "", b"newer").unwrap());
        assert!(queued_of_kind(&c, "missed").unwrap().is_empty());
        assert_eq!(last_of_kind(&c, "missed").unwrap(), Some(10));
    }
}
