//! The sender: one thread that drains every outbox. It keeps in memory which outboxes have
//! queued mail and when the next is due (woken by [`Mail::wake`], and by a full look at every
//! outbox at start and every ten minutes), and delivers each outbox's due mails over one
//! connection. Each server answer is recorded the moment it arrives, before the next mail,
//! so a crash re-sends at most the one mail whose answer was on its way.

use super::smtp::{Outcome, Server};
use super::{Box, Mail};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::outbox::{self, GIVE_UP_AFTER};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Weak};

/// Mails taken from one outbox in one go.
const BATCH: i64 = 20;

pub use crate::domain::backlogs::backoff;

/// Each outbox's backlog as the sender last saw it (what `/healthz` shows).
pub type Status = crate::domain::backlogs::Backlogs<Box>;

/// Starts the sender thread; it ends once the store is gone.
pub fn start(mail: Arc<Mail>, store: Weak<Store>, clock: Clock, status: Arc<Status>) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    mail.connect(tx);
    std::thread::Builder::new()
        .name("mail".into())
        .spawn(move || run(&mail, &store, &clock, &status, &rx))
        .map_err(|e| Error::io("starting the mail sender", e))?;
    Ok(())
}

fn run(mail: &Mail, store: &Weak<Store>, clock: &Clock, status: &Status, rx: &mpsc::Receiver<Box>) {
    crate::domain::backlogs::drive(
        "mail",
        store,
        clock,
        rx,
        |st, pending| scan(st, status, pending),
        |st, b, now| deliver(mail, st, b, now, status),
    );
}

/// Runs `f` on the outbox's database (the writer: every change here is one short statement).
fn with_db<T>(store: &Store, b: &Box, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    match b {
        Box::System => store.system(|c| f(c)),
        Box::Tenant(uuid) => store.tenant_db(uuid)?.with(|c| f(c)),
    }
}

/// Looks at every outbox: which have queued mail, and since when. What it finds replaces
/// what was known, so a deleted tenant's outbox is forgotten.
fn scan(store: &Store, status: &Status, pending: &mut BTreeMap<Box, i64>) {
    let mut boxes = vec![Box::System];
    match store.served_tenants() {
        Ok(ts) => boxes.extend(ts.into_iter().map(|t| Box::Tenant(t.uuid))),
        Err(e) => {
            tracing::error!(error = %e, "mail: listing tenants failed");
            return;
        }
    }
    let known: std::collections::BTreeSet<&Box> = boxes.iter().collect();
    pending.retain(|b, _| known.contains(b));
    status.retain(|b| known.contains(b));
    drop(known);
    for b in boxes {
        match with_db(store, &b, |c| {
            Ok((outbox::next_due(c)?, outbox::backlog(c)?))
        }) {
            Ok((next, backlog)) => {
                status.set(&b, backlog);
                match next {
                    Some(at) => pending.insert(b, at),
                    None => pending.remove(&b),
                };
            }
            Err(e) => tracing::error!(outbox = ?b, error = %e, "mail: reading the outbox failed"),
        }
    }
}

/// Delivers one outbox's due mails; returns when its next queued mail is due, if any.
fn deliver(mail: &Mail, store: &Store, b: &Box, now: i64, status: &Status) -> Result<Option<i64>> {
    let batch = with_db(store, b, |c| outbox::due(c, now, BATCH))?;
    if !batch.is_empty() {
        // A configuration the server cannot be reached with (a missing password file, a bad
        // CA file) keeps every mail waiting, with the reason in its row.
        let server = Server::new(&mail.smtp);
        let mut unreachable: Option<String> = None;
        for m in &batch {
            let outcome = match (&server, &unreachable) {
                (_, Some(why)) => Outcome::Unreachable(why.clone()),
                (Err(e), _) => Outcome::Unreachable(e.to_string()),
                (Ok(s), None) => s.send(&m.envelope_from, &m.recipient, &m.message),
            };
            let at = now.max(m.created_at);
            with_db(store, b, |c| match &outcome {
                Outcome::Accepted(answer) => outbox::mark_sent(c, m.id, at, answer),
                Outcome::Refused(answer) => {
                    tracing::warn!(outbox = ?b, mail = m.id, answer, "mail refused for good");
                    outbox::mark_failed(c, m.id, at, answer)
                }
                Outcome::Retry(answer) | Outcome::Unreachable(answer) => {
                    if now - m.created_at >= GIVE_UP_AFTER {
                        tracing::warn!(outbox = ?b, mail = m.id, answer, "mail given up after 72 hours");
                        let why =
                            format!("given up after 72 hours of tries; last answer: {answer}");
                        outbox::mark_failed(c, m.id, at, &why)
                    } else {
                        let next = now + backoff(m.attempts + 1);
                        outbox::mark_retry(c, m.id, next, answer)
                    }
                }
            })?;
            if let Outcome::Unreachable(why) = &outcome {
                if unreachable.is_none() {
                    tracing::warn!(outbox = ?b, error = %why, "mail server not reachable; mails wait");
                }
                unreachable = Some(why.clone());
            }
        }
    }
    let (next, backlog) = with_db(store, b, |c| {
        Ok((outbox::next_due(c)?, outbox::backlog(c)?))
    })?;
    status.set(b, backlog);
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(backoff).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(0), 60);
    }
}
