//! The webhook sender: one thread that drains every tenant's delivery queue. It keeps in
//! memory which tenants have queued deliveries and when the next is due (woken by
//! [`Hooks::wake`], and by a look at every tenant at start and every ten minutes). Each answer
//! is recorded the moment it arrives, before the next request, so a crash sends again at most
//! the one delivery whose answer was on its way (receivers drop it by its `Webhook-Id`).

use super::{Hooks, sign};
use crate::clock::Clock;
use crate::domain::outbound::{Client, Outcome};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::webhooks::{self as store, GIVE_UP_AFTER};
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::sync::{Arc, Weak};

/// Deliveries taken from one tenant in one go.
const BATCH: i64 = 20;

pub use crate::domain::backlogs::backoff;

/// Each tenant's delivery backlog as the sender last saw it.
pub type Status = crate::domain::backlogs::Backlogs<String>;

/// Starts the sender thread; it ends once the store is gone.
pub fn start(hooks: Arc<Hooks>, store: Weak<Store>, clock: Clock) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    hooks.connect(tx);
    let client = Client::new(&hooks.config);
    std::thread::Builder::new()
        .name("webhooks".into())
        .spawn(move || run(&client, &store, &clock, &hooks.status, &rx))
        .map_err(|e| Error::io("starting the webhook sender", e))?;
    Ok(())
}

fn run(
    client: &Client,
    store: &Weak<Store>,
    clock: &Clock,
    status: &Status,
    rx: &mpsc::Receiver<String>,
) {
    crate::domain::backlogs::drive(
        "webhooks",
        store,
        clock,
        rx,
        |st, pending| scan(st, status, pending),
        |st, t, now| deliver(client, st, t, now, status),
    );
}

fn with_db<T>(store: &Store, tenant: &str, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    store.tenant_db(tenant)?.with(|c| f(c))
}

/// Looks at every tenant: which have queued deliveries, and when the next is due. What it
/// finds replaces what was known, so a deleted tenant is forgotten.
fn scan(store: &Store, status: &Status, pending: &mut BTreeMap<String, i64>) {
    let tenants: Vec<String> = match store.served_tenants() {
        Ok(ts) => ts.into_iter().map(|t| t.uuid).collect(),
        Err(e) => {
            tracing::error!(error = %e, "webhooks: listing tenants failed");
            return;
        }
    };
    let known: BTreeSet<&String> = tenants.iter().collect();
    pending.retain(|t, _| known.contains(t));
    status.retain(|t| known.contains(t));
    for t in &tenants {
        match with_db(store, t, |c| Ok((store::next_due(c)?, store::backlog(c)?))) {
            Ok((next, backlog)) => {
                status.set(t, backlog);
                match next {
                    Some(at) => pending.insert(t.clone(), at),
                    None => pending.remove(t),
                };
            }
            Err(e) => {
                tracing::error!(tenant = %t, error = %e, "webhooks: reading the queue failed")
            }
        }
    }
}

/// Sends one tenant's due deliveries; returns when its next queued delivery is due, if any.
fn deliver(
    client: &Client,
    st: &Store,
    tenant: &str,
    now: i64,
    status: &Status,
) -> Result<Option<i64>> {
    let batch = with_db(st, tenant, |c| store::due(c, now, BATCH))?;
    // An endpoint that did not answer is not tried again in this batch: its other deliveries
    // wait with the same reason, so one hanging receiver costs five seconds, not twenty times.
    let mut unreachable: BTreeMap<i64, String> = BTreeMap::new();
    for d in &batch {
        let outcome = match unreachable.get(&d.endpoint_id) {
            Some(why) => Outcome::Failed(why.clone()),
            None => {
                let sent_at = now.max(d.created_at);
                let stamp = sent_at.to_string();
                match sign(&d.secret, &d.msg_id, sent_at, &d.payload) {
                    Ok(sig) => client.post(
                        &d.url,
                        &[
                            ("Webhook-Id", &d.msg_id),
                            ("Webhook-Timestamp", &stamp),
                            ("Webhook-Signature", &sig),
                        ],
                        &d.payload,
                    ),
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
        };
        let at = now.max(d.created_at);
        with_db(st, tenant, |c| match &outcome {
            Outcome::Answered { status, answer } if (200..300).contains(status) => {
                store::mark_sent(c, d.id, at, *status, answer)
            }
            Outcome::Answered { status, answer } => {
                let why = format!("HTTP {status}: {answer}");
                retry_or_give_up(c, d, now, Some(*status), &why)
            }
            Outcome::Failed(why) => retry_or_give_up(c, d, now, None, why),
        })?;
        if let Outcome::Failed(why) = &outcome
            && !unreachable.contains_key(&d.endpoint_id)
        {
            tracing::warn!(tenant, endpoint = d.endpoint_id, error = %why, "webhook not delivered; it waits");
            unreachable.insert(d.endpoint_id, why.clone());
        }
    }
    let (next, backlog) = with_db(st, tenant, |c| {
        Ok((store::next_due(c)?, store::backlog(c)?))
    })?;
    status.set(tenant, backlog);
    Ok(next)
}

fn retry_or_give_up(
    c: &Connection,
    d: &store::Due,
    now: i64,
    status: Option<u16>,
    why: &str,
) -> Result<()> {
    let at = now.max(d.created_at);
    if now - d.created_at >= GIVE_UP_AFTER {
        let why = format!("given up after 72 hours of tries; last answer: {why}");
        store::mark_failed(c, d.id, at, status, &why)
    } else {
        store::mark_retry(c, d.id, now + backoff(d.attempts + 1), status, why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(backoff).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }
}
