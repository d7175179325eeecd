//! Signed webhooks: events queued for the business's endpoints in the transaction that causes
//! them ([`emit`]), signed the Standard Webhooks way ([`sign`]), and sent by one sender thread
//! ([`sender`]) through the guarded client that reaches only the addresses the guard allows
//! (`domain::outbound`, shared with the online look-up).
//!
//! The hub's batch and the HTTP handlers that queue an event wake the sender after their
//! commit; the sender also looks at every tenant at start and every ten minutes.

pub mod sender;

use crate::config::WebhooksConfig;
use crate::crypto;
use crate::domain::outbound as client;
use crate::error::{Error, Result};
use crate::model::webhooks::{self as rules, TEST_EVENT};
use crate::store::webhooks::{self as store, EndpointValues, NewDelivery};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rusqlite::Connection;
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::mpsc;

/// Webhooks as configured, and the line that wakes the sender.
pub struct Hooks {
    /// `[webhooks]`: the operator's exceptions to the address guard.
    pub config: WebhooksConfig,
    /// The queues' backlog as the sender last saw it.
    pub status: sender::Status,
    wake: Mutex<Option<mpsc::Sender<String>>>,
}

impl Hooks {
    /// Webhooks with this configuration; [`sender::start`] connects the wake line.
    pub fn new(config: WebhooksConfig) -> Hooks {
        Hooks {
            config,
            status: sender::Status::default(),
            wake: Mutex::new(None),
        }
    }

    /// Tells the sender that a tenant queued deliveries (after the commit that queued them).
    pub fn wake(&self, tenant_uuid: &str) {
        let guard = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = guard.as_ref() {
            let _ = tx.send(tenant_uuid.to_string());
        }
    }

    fn connect(&self, tx: mpsc::Sender<String>) {
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }
}

thread_local! {
    /// Whether this thread queued a delivery since it last asked ([`take_queued`]).
    static QUEUED: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread queued a delivery since the last call: the hub asks after each batch
/// and wakes the sender only then.
pub fn take_queued() -> bool {
    QUEUED.with(|q| q.replace(false))
}

/// Queues `event` with `data` for every enabled endpoint that chose it, inside the caller's
/// transaction; returns how many deliveries were queued. `data` is built only when an
/// endpoint wants the event: otherwise it costs one cached query on a table of a few rows
/// (the message hot path copies no text for nobody).
pub fn emit(
    c: &Connection,
    event: &str,
    data: impl FnOnce() -> serde_json::Value,
    at: i64,
) -> Result<usize> {
    let endpoints = store::subscribers(c, event)?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let payload = payload(event, data(), at);
    for endpoint_id in &endpoints {
        queue(c, *endpoint_id, event, &payload, at)?;
    }
    Ok(endpoints.len())
}

/// The JSON body: the event's type, when it happened, and its data.
fn payload(event: &str, data: serde_json::Value, at: i64) -> String {
    serde_json::json!({
        "type": event,
        "timestamp": crate::clock::rfc3339(at),
        "data": data,
    })
    .to_string()
}

fn queue(c: &Connection, endpoint_id: i64, event: &str, payload: &str, at: i64) -> Result<i64> {
    let msg_id = format!("msg_{}", crypto::hex(&crypto::random_array::<16>()));
    let id = store::enqueue(
        c,
        &NewDelivery {
            endpoint_id,
            event,
            msg_id: &msg_id,
            payload,
            at,
        },
    )?;
    QUEUED.with(|q| q.set(true));
    Ok(id)
}

/// Queues a `webhook.test` event for one endpoint (whatever events it chose); returns the
/// delivery's id.
pub fn send_test(c: &Connection, endpoint_id: i64, at: i64) -> Result<i64> {
    if store::endpoint(c, endpoint_id)?.is_none() {
        return Err(Error::NotFound("webhook endpoint".into()));
    }
    let data = serde_json::json!({ "endpoint_id": endpoint_id });
    queue(
        c,
        endpoint_id,
        TEST_EVENT,
        &payload(TEST_EVENT, data, at),
        at,
    )
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    format!("whsec_{}", B64.encode(crypto::random_array::<32>()))
}

/// The `Webhook-Signature` value: `v1,` and the base64 HMAC-SHA256 of
/// `{msg_id}.{timestamp}.{body}` under the secret's decoded bytes.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Result<String> {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| B64.decode(k).ok())
        .ok_or_else(|| Error::Internal("a webhook secret is not whsec_ and base64".into()))?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let signed = format!("{msg_id}.{timestamp}.{body}");
    let tag = ring::hmac::sign(&key, signed.as_bytes());
    Ok(format!("v1,{}", B64.encode(tag.as_ref())))
}

/// An endpoint as the dashboard sends it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// Where deliveries go.
    pub url: String,
    /// The chosen events.
    pub events: Vec<String>,
    /// Whether events are queued for it (default: yes).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The business's own note.
    #[serde(default)]
    pub description: String,
}

fn yes() -> bool {
    true
}

impl EndpointInput {
    /// Checks the values (the address as far as it can be without the network).
    fn check(&mut self, config: &WebhooksConfig) -> Result<()> {
        self.url = self.url.trim().to_string();
        client::Target::parse(&self.url, config)?;
        self.events.sort();
        self.events.dedup();
        if self.events.is_empty() {
            return Err(Error::Invalid("choose at least one event".into()));
        }
        if let Some(e) = self.events.iter().find(|e| !rules::is_event(e)) {
            return Err(Error::Invalid(format!("unknown event {e:?}")));
        }
        self.description = self.description.trim().to_string();
        if self.description.chars().count() > 200 {
            return Err(Error::Invalid(
                "the description is longer than 200 characters".into(),
            ));
        }
        Ok(())
    }

    fn values(&self) -> EndpointValues<'_> {
        EndpointValues {
            url: &self.url,
            events: &self.events,
            enabled: self.enabled,
            description: &self.description,
        }
    }
}

/// Checks an endpoint's values, its address included (resolved now: call off the async
/// threads, before the transaction that saves it).
pub fn check_endpoint(input: &mut EndpointInput, config: &WebhooksConfig) -> Result<()> {
    input.check(config)?;
    client::Target::parse(&input.url, config)?.resolve(config)?;
    Ok(())
}

/// Saves a new endpoint checked by [`check_endpoint`]; its id and its secret (shown once).
pub fn create(c: &Connection, input: &EndpointInput, at: i64) -> Result<(i64, String)> {
    let secret = new_secret();
    let id = store::insert_endpoint(c, &input.values(), &secret, at)?;
    Ok((id, secret))
}

/// Changes an endpoint checked by [`check_endpoint`].
pub fn update(c: &Connection, id: i64, input: &EndpointInput) -> Result<()> {
    if !store::update_endpoint(c, id, &input.values())? {
        return Err(Error::NotFound("webhook endpoint".into()));
    }
    Ok(())
}

/// Gives an endpoint a new secret; returns it (shown once).
pub fn rotate(c: &Connection, id: i64) -> Result<String> {
    let secret = new_secret();
    if !store::set_secret(c, id, &secret)? {
        return Err(Error::NotFound("webhook endpoint".into()));
    }
    Ok(secret)
}

/// Deletes an endpoint and its delivery log.
pub fn delete(c: &Connection, id: i64) -> Result<()> {
    if !store::delete_endpoint(c, id)? {
        return Err(Error::NotFound("webhook endpoint".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_follows_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_secret_is_32_random_bytes() {
        let s = new_secret();
        let raw = B64.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        assert_ne!(s, new_secret());
    }
}
