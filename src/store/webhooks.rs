//! Webhook endpoints and the durable queue of deliveries to them (the same design as the mail
//! [`outbox`](super::outbox)): a delivery is queued in the transaction of the event that causes
//! it, then sent by the webhook sender, which records every answer before the next request.

use crate::error::Result;
use crate::store::rows;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;

/// How long a delivery is retried before it is given up (72 hours, as for mail).
pub const GIVE_UP_AFTER: i64 = 72 * 3600;

/// An endpoint as the dashboard lists it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    /// Id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// The chosen events.
    pub events: Vec<String>,
    /// Whether events are queued for it.
    pub enabled: bool,
    /// The business's own note.
    pub description: String,
    /// Created at.
    pub created_at: i64,
}

/// An endpoint's values as saved.
#[derive(Debug, Clone)]
pub struct EndpointValues<'a> {
    /// Where deliveries go.
    pub url: &'a str,
    /// The chosen events.
    pub events: &'a [String],
    /// Whether events are queued for it.
    pub enabled: bool,
    /// The business's own note.
    pub description: &'a str,
}

fn split_events(s: String) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

const ENDPOINT: &str = "SELECT id, url, events, enabled, description, created_at
                        FROM webhook_endpoints";

fn endpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Endpoint> {
    Ok(
        from_row!(r => Endpoint { id, url, events = split_events, enabled, description,
                                 created_at }),
    )
}

/// Every endpoint, oldest first.
pub fn endpoints(c: &Connection) -> Result<Vec<Endpoint>> {
    rows::all(c, &format!("{ENDPOINT} ORDER BY id"), [], endpoint_row)
}

/// One endpoint.
pub fn endpoint(c: &Connection, id: i64) -> Result<Option<Endpoint>> {
    Ok(
        c.query_row(&format!("{ENDPOINT} WHERE id = ?1"), [id], endpoint_row)
            .optional()?,
    )
}

/// A new endpoint; its id.
pub fn insert_endpoint(
    c: &Connection,
    v: &EndpointValues<'_>,
    secret: &str,
    at: i64,
) -> Result<i64> {
    c.execute(
        "INSERT INTO webhook_endpoints (url, events, secret, enabled, description, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            v.url,
            v.events.join(" "),
            secret,
            v.enabled,
            v.description,
            at
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Changes an endpoint; `false` if there is none with that id.
pub fn update_endpoint(c: &Connection, id: i64, v: &EndpointValues<'_>) -> Result<bool> {
    Ok(c.execute(
        "UPDATE webhook_endpoints SET url = ?2, events = ?3, enabled = ?4, description = ?5
         WHERE id = ?1",
        params![id, v.url, v.events.join(" "), v.enabled, v.description],
    )? == 1)
}

/// Replaces an endpoint's secret; `false` if there is none with that id.
pub fn set_secret(c: &Connection, id: i64, secret: &str) -> Result<bool> {
    Ok(c.execute(
        "UPDATE webhook_endpoints SET secret = ?2 WHERE id = ?1",
        params![id, secret],
    )? == 1)
}

/// Deletes an endpoint and its deliveries; `false` if there is none with that id.
pub fn delete_endpoint(c: &Connection, id: i64) -> Result<bool> {
    c.execute(
        "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1",
        [id],
    )?;
    Ok(c.execute("DELETE FROM webhook_endpoints WHERE id = ?1", [id])? == 1)
}

/// The enabled endpoints that chose `event` (a cached statement on a table of a few rows:
/// this runs for every chat message).
pub fn subscribers(c: &Connection, event: &str) -> Result<Vec<i64>> {
    let all: Vec<(i64, String)> = rows::all_cached(
        c,
        "SELECT id, events FROM webhook_endpoints WHERE enabled = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(all
        .into_iter()
        .filter(|(_, events)| events.split_whitespace().any(|e| e == event))
        .map(|(id, _)| id)
        .collect())
}

/// A delivery to queue.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    /// The endpoint.
    pub endpoint_id: i64,
    /// The event's name.
    pub event: &'a str,
    /// The `Webhook-Id`, the same over every retry.
    pub msg_id: &'a str,
    /// The JSON body.
    pub payload: &'a str,
    /// Unix seconds.
    pub at: i64,
}

/// Queues a delivery (inside the caller's transaction); its id.
pub fn enqueue(c: &Connection, d: &NewDelivery<'_>) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO webhook_deliveries (endpoint_id, event, msg_id, payload, next_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![d.endpoint_id, d.event, d.msg_id, d.payload, d.at])?;
    Ok(c.last_insert_rowid())
}

/// A queued delivery whose time has come, with where it goes and how it is signed.
#[derive(Debug, Clone)]
pub struct Due {
    /// Id.
    pub id: i64,
    /// The endpoint.
    pub endpoint_id: i64,
    /// Its address.
    pub url: String,
    /// Its signing secret.
    pub secret: String,
    /// The `Webhook-Id`.
    pub msg_id: String,
    /// The JSON body.
    pub payload: String,
    /// Tries so far.
    pub attempts: i64,
    /// When it was queued.
    pub created_at: i64,
}

/// Deliveries due at `now` to enabled endpoints, oldest first.
pub fn due(c: &Connection, now: i64, limit: i64) -> Result<Vec<Due>> {
    rows::all(
        c,
        "SELECT d.id, d.endpoint_id, e.url, e.secret, d.msg_id, d.payload, d.attempts, d.created_at
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.state = 'queued' AND d.next_at <= ?1 AND e.enabled = 1
         ORDER BY d.next_at, d.id LIMIT ?2",
        params![now, limit],
        |r| {
            Ok(
                from_row!(r => Due { id, endpoint_id, url, secret, msg_id, payload, attempts,
                                    created_at }),
            )
        },
    )
}

/// When the next queued delivery to an enabled endpoint is due, if any is queued.
pub fn next_due(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT min(d.next_at) FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.state = 'queued' AND e.enabled = 1",
        [],
        |r| r.get(0),
    )?)
}

fn finish(
    c: &Connection,
    id: i64,
    state: &str,
    at: i64,
    status: Option<u16>,
    answer: &str,
) -> Result<()> {
    c.execute(
        "UPDATE webhook_deliveries SET state = ?2, attempts = attempts + 1, done_at = ?3,
                status = ?4, answer = ?5
         WHERE id = ?1",
        params![id, state, at, status, answer],
    )?;
    Ok(())
}

/// The receiver accepted the delivery (a 2xx answer).
pub fn mark_sent(c: &Connection, id: i64, at: i64, status: u16, answer: &str) -> Result<()> {
    finish(c, id, "sent", at, Some(status), answer)
}

/// Given up (72 hours of tries are over, or the receiver's answer says never).
pub fn mark_failed(
    c: &Connection,
    id: i64,
    at: i64,
    status: Option<u16>,
    answer: &str,
) -> Result<()> {
    finish(c, id, "failed", at, status, answer)
}

/// A failed try: again at `next_at`.
pub fn mark_retry(
    c: &Connection,
    id: i64,
    next_at: i64,
    status: Option<u16>,
    answer: &str,
) -> Result<()> {
    c.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = ?2, status = ?3,
                answer = ?4
         WHERE id = ?1",
        params![id, next_at, status, answer],
    )?;
    Ok(())
}

/// A delivery as the delivery log shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRow {
    /// Id.
    pub id: i64,
    /// The endpoint.
    pub endpoint_id: i64,
    /// The event's name.
    pub event: String,
    /// The `Webhook-Id`.
    pub msg_id: String,
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
    /// The receiver's last HTTP status.
    pub status: Option<i64>,
    /// The start of its last answer, or why it could not be reached.
    pub answer: String,
}

/// The newest deliveries first, of one endpoint or of all.
pub fn deliveries(
    c: &Connection,
    endpoint_id: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryRow>> {
    rows::all(
        c,
        "SELECT id, endpoint_id, event, msg_id, state, attempts, created_at, done_at, next_at,
                status, answer
         FROM webhook_deliveries WHERE ?1 IS NULL OR endpoint_id = ?1
         ORDER BY id DESC LIMIT ?2",
        params![endpoint_id, limit],
        |r| {
            Ok(
                from_row!(r => DeliveryRow { id, endpoint_id, event, msg_id, state, attempts,
                                            created_at, done_at, next_at, status, answer }),
            )
        },
    )
}

/// How many deliveries wait and how many were given up.
pub fn backlog(c: &Connection) -> Result<crate::store::outbox::Backlog> {
    Ok(c.query_row(
        "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'failed'),
                min(created_at) FILTER (WHERE state = 'queued')
         FROM webhook_deliveries",
        [],
        |r| {
            Ok(crate::store::outbox::Backlog {
                queued: r.get(0)?,
                failed: r.get(1)?,
                oldest_queued_at: r.get(2)?,
            })
        },
    )?)
}

/// Deletes sent and failed deliveries finished before `before`; returns how many.
pub fn purge_done(c: &Connection, before: i64) -> Result<usize> {
    Ok(c.execute(
        "DELETE FROM webhook_deliveries WHERE state <> 'queued' AND done_at < ?1",
        [before],
    )?)
}

/// Deletes the deliveries about a data subject (queued ones are then never sent): those of
/// their chats and offline messages, and those naming one of their addresses. How many.
pub fn erase_about(
    c: &Connection,
    conversations: &BTreeSet<i64>,
    offline: &BTreeSet<i64>,
    emails: &BTreeSet<String>,
) -> Result<usize> {
    let all: Vec<(i64, String)> =
        rows::all(c, "SELECT id, payload FROM webhook_deliveries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let about = |payload: &str| -> bool {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(payload) else {
            return false;
        };
        let d = &v["data"];
        let email = |x: &serde_json::Value| {
            x.as_str()
                .is_some_and(|e| emails.contains(&e.to_lowercase()))
        };
        d["conversation_id"]
            .as_i64()
            .is_some_and(|id| conversations.contains(&id))
            || d["offline_message_id"]
                .as_i64()
                .is_some_and(|id| offline.contains(&id))
            || email(&d["email"])
            || email(&d["visitor"]["email"])
    };
    let mut n = 0;
    for (id, payload) in all {
        if about(&payload) {
            n += c.execute("DELETE FROM webhook_deliveries WHERE id = ?1", [id])?;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(include_str!("migrations/tenant/031_webhooks.sql"))
            .unwrap();
        c
    }

    fn endpoint_for(c: &Connection, events: &[&str]) -> i64 {
        let events: Vec<String> = events.iter().map(|s| s.to_string()).collect();
        let v = EndpointValues {
            url: "https://hooks.example/in",
            events: &events,
            enabled: true,
            description: "",
        };
        insert_endpoint(c, &v, "whsec_x", 1).unwrap()
    }

    #[test]
    fn only_enabled_endpoints_that_chose_an_event_subscribe_to_it() {
        let c = db();
        let a = endpoint_for(&c, &["chat.started", "chat.closed"]);
        let b = endpoint_for(&c, &["chat.closed"]);
        assert_eq!(subscribers(&c, "chat.started").unwrap(), [a]);
        assert_eq!(subscribers(&c, "chat.closed").unwrap(), [a, b]);
        let ev = vec!["chat.closed".to_string()];
        let off = EndpointValues {
            url: "https://hooks.example/in",
            events: &ev,
            enabled: false,
            description: "",
        };
        assert!(update_endpoint(&c, a, &off).unwrap());
        assert_eq!(subscribers(&c, "chat.closed").unwrap(), [b]);
        assert!(subscribers(&c, "chat.start").unwrap().is_empty());
    }

    #[test]
    fn due_deliveries_come_in_order_and_leave_the_queue_once_answered() {
        let c = db();
        let e = endpoint_for(&c, &["chat.started"]);
        fn d(e: i64, id: &'static str, at: i64) -> NewDelivery<'static> {
            NewDelivery {
                endpoint_id: e,
                event: "chat.started",
                msg_id: id,
                payload: "{}",
                at,
            }
        }
        let a = enqueue(&c, &d(e, "msg_a", 100)).unwrap();
        let b = enqueue(&c, &d(e, "msg_b", 105)).unwrap();
        assert!(due(&c, 99, 10).unwrap().is_empty());
        let ids: Vec<i64> = due(&c, 200, 10).unwrap().iter().map(|d| d.id).collect();
        assert_eq!(ids, [a, b]);
        mark_retry(&c, a, 300, Some(503), "busy").unwrap();
        mark_sent(&c, b, 201, 204, "").unwrap();
        assert_eq!(next_due(&c).unwrap(), Some(300));
        assert_eq!(backlog(&c).unwrap().queued, 1);
        mark_failed(&c, a, 301, None, "connection refused").unwrap();
        assert_eq!(next_due(&c).unwrap(), None);
        let log = deliveries(&c, Some(e), 10).unwrap();
        assert_eq!(log[1].state, "failed");
        assert_eq!(log[1].attempts, 2);
        assert_eq!(log[0].status, Some(204));
        assert_eq!(purge_done(&c, 302).unwrap(), 2);
        assert!(delete_endpoint(&c, e).unwrap());
        assert!(endpoints(&c).unwrap().is_empty());
    }

    #[test]
    fn an_erasure_takes_the_deliveries_about_the_person() {
        let c = db();
        let e = endpoint_for(&c, &["chat.started"]);
        let payloads = [
            r#"{"data":{"conversation_id":7}}"#,
            r#"{"data":{"offline_message_id":3,"email":"Olga@Example.org"}}"#,
            r#"{"data":{"conversation_id":8,"visitor":{"email":"kim@example.org"}}}"#,
            r#"{"data":{"conversation_id":9}}"#,
        ];
        for (i, p) in payloads.iter().enumerate() {
            let msg_id = format!("msg_{i}");
            let d = NewDelivery {
                endpoint_id: e,
                event: "chat.started",
                msg_id: &msg_id,
                payload: p,
                at: 1,
            };
            enqueue(&c, &d).unwrap();
        }
        let emails: BTreeSet<String> =
            ["olga@example.org".to_string(), "kim@example.org".into()].into();
        let n = erase_about(&c, &[7].into(), &BTreeSet::new(), &emails).unwrap();
        assert_eq!(n, 3);
        let left = deliveries(&c, None, 10).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].msg_id, "msg_3");
    }
}
