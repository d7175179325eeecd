//! Online look-up: a site may name one address of the business's own system (an order-status
//! script, a customer database). kontor posts a value to it, from the pre-chat field marked for
//! look-up when a chat starts ([`Lookups::started`], after the hub's commit) or from an agent's
//! "Look up" ([`Lookups::run`]), through the shared guarded client (`domain::outbound`, three
//! seconds, 64 KiB), and keeps the answer's fields for the agents who may read the chat.
//!
//! Answers stay in this process's memory only ([`KEEP_SECS`], at most [`MAX_KEPT`] of them):
//! they are the business's own data, shown to its agents, never stored, never sent to the
//! visitor. Every call is audited as `lookup.call` without the value or the answer.

use crate::clock::Clock;
use crate::config::WebhooksConfig;
use crate::crypto;
use crate::domain::outbound::{self, Client, Purpose};
use crate::error::{Error, Result};
use crate::model::lookup::{self as rules, Failure, Pair};
use crate::store::audit::{self, AuditEntry};
use crate::store::{Store, lookups as store};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// The whole call ends after this.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Look-ups: three seconds, named in refusals.
pub const PURPOSE: Purpose = Purpose {
    what: "look-up URL",
    user_agent: "kontor-lookup",
    timeout: TIMEOUT,
};

/// The header that carries the site's secret.
pub const SECRET_HEADER: &str = "Kontor-Lookup-Secret";

/// How long an answer is kept for the agents (seconds).
pub const KEEP_SECS: i64 = 12 * 3600;

/// Answers kept at most (the oldest go first).
pub const MAX_KEPT: usize = 10_000;

/// Chats started whose look-up waits for the worker, at most.
const QUEUE: usize = 256;

/// Calls of one tenant running at once, at most: agents pressing "Look up" against a system
/// that hangs hold blocking threads for three seconds each, and those are shared.
pub const MAX_RUNNING: usize = 4;

/// What the agents see of a conversation's latest look-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// `pending`, `done` or `failed`.
    pub state: &'static str,
    /// `form` (the pre-chat field, when the chat started) or `agent`.
    pub by: &'static str,
    /// The form field's key, when the site's form marks one.
    pub field: Option<String>,
    /// The value looked up.
    pub value: String,
    /// When the look-up started (unix seconds).
    pub at: i64,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    /// The answer's fields (when `done`).
    pub fields: Vec<Pair>,
    /// Fields were left out (more than the dashboard shows).
    pub more: bool,
    /// Why there are no fields (when `failed`).
    pub error: Option<Failure>,
}

/// Who asks, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The agent's email, or `system` for the look-up at a chat's start.
    pub actor: String,
    /// The agent's role.
    pub role: String,
    /// The truncated client address.
    pub ip: String,
    /// The request's id.
    pub request_id: String,
}

/// The look-up service: the guarded client, the answers in memory, the worker's queue.
pub struct Lookups {
    /// `[webhooks]`: the operator's exceptions to the address guard, shared with webhooks.
    pub config: WebhooksConfig,
    client: Client,
    clock: Clock,
    answers: Mutex<HashMap<(String, i64), Shown>>,
    queue: Mutex<Option<SyncSender<(String, i64)>>>,
    running: Mutex<HashMap<String, usize>>,
}

/// A call counted as running until dropped.
struct Running<'a> {
    lookups: &'a Lookups,
    tenant: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut running = self
            .lookups
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = running.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.tenant);
            }
        }
    }
}

impl Lookups {
    /// The service under the operator's allow lists; [`start`] connects the worker.
    pub fn new(config: &WebhooksConfig, clock: Clock) -> Lookups {
        Lookups {
            config: config.clone(),
            client: Client::for_purpose(config, PURPOSE),
            clock,
            answers: Mutex::new(HashMap::new()),
            queue: Mutex::new(None),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Hands the chats a batch started to the worker (after the batch's commit). Never
    /// blocks: when the queue is full the look-up is left out (the agent can press "Look up").
    pub fn started(&self, tenant_uuid: &str, conversations: &[i64]) {
        let guard = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = guard.as_ref() else { return };
        for id in conversations {
            match tx.try_send((tenant_uuid.to_string(), *id)) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    tracing::warn!(
                        conversation = id,
                        "look-up queue full; the look-up is left out"
                    );
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    }

    /// A conversation's latest look-up, if one is kept.
    pub fn shown(&self, tenant_uuid: &str, conversation_id: i64) -> Option<Shown> {
        let now = self.clock.now();
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .get(&(tenant_uuid.to_string(), conversation_id))
            .filter(|s| now - s.at < KEEP_SECS)
            .cloned()
    }

    /// Counts a call of the tenant as running, unless [`MAX_RUNNING`] are; the guard ends it.
    fn begin(&self, tenant_uuid: &str) -> Option<Running<'_>> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let n = running.entry(tenant_uuid.to_string()).or_insert(0);
        if *n >= MAX_RUNNING {
            return None;
        }
        *n += 1;
        Some(Running {
            lookups: self,
            tenant: tenant_uuid.to_string(),
        })
    }

    fn keep(&self, tenant_uuid: &str, conversation_id: i64, shown: Shown) {
        let now = self.clock.now();
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if answers.len() >= MAX_KEPT {
            answers.retain(|_, s| now - s.at < KEEP_SECS);
        }
        if answers.len() >= MAX_KEPT
            && let Some(oldest) = answers
                .iter()
                .min_by_key(|(_, s)| s.at)
                .map(|(k, _)| k.clone())
        {
            answers.remove(&oldest);
        }
        answers.insert((tenant_uuid.to_string(), conversation_id), shown);
    }

    /// Looks `value` up for a conversation of the tenant (blocking, up to [`TIMEOUT`]: call
    /// off the async threads), keeps the result for the agents, audits the call; the result.
    /// `Ok(None)`: the conversation does not exist.
    pub fn run(
        &self,
        store: &Store,
        tenant_uuid: &str,
        conversation_id: i64,
        value: &str,
        by: &'static str,
        caller: &Caller,
    ) -> Result<Option<Shown>> {
        let db = store.tenant_db(tenant_uuid)?;
        let found = db.read(|c| {
            let Some(cv) = crate::store::chat::conversation(c, conversation_id)? else {
                return Ok(None);
            };
            Ok(Some((store::get(c, &cv.site_key)?, cv.site_key)))
        })?;
        let Some((site_lookup, site_key)) = found else {
            return Ok(None);
        };
        let field = store
            .system(|c| crate::store::site_forms::get(c, &site_key))?
            .lookup_field()
            .map(|f| f.name.clone());
        let start = Shown {
            state: "pending",
            by,
            field: field.clone(),
            value: rules::clip(value.trim(), rules::MAX_QUERY),
            at: self.clock.now(),
            status: None,
            fields: Vec::new(),
            more: false,
            error: None,
        };
        let shown = match (site_lookup, rules::query_value(value)) {
            (None, _) => Shown {
                state: "failed",
                error: Some(Failure::new(
                    "not_configured",
                    "the site has no look-up address",
                )),
                ..start
            },
            (_, Err(f)) => Shown {
                state: "failed",
                error: Some(f),
                ..start
            },
            (Some(l), Ok(v)) => {
                let Some(_running) = self.begin(tenant_uuid) else {
                    let busy = Shown {
                        state: "failed",
                        error: Some(Failure::new(
                            "busy",
                            format!("{MAX_RUNNING} look-ups are running already; try again"),
                        )),
                        ..start
                    };
                    return Ok(Some(busy));
                };
                self.keep(tenant_uuid, conversation_id, start.clone());
                let shown = self.call(&l, field.as_deref(), &v, start);
                // The outcome in the object (`conversation#7 HTTP 200`, `conversation#7
                // timeout`), so that the trail's result stays `success` or `failure`.
                let (result, how) = match (&shown.error, shown.status) {
                    (None, Some(s)) => ("success", format!("HTTP {s}")),
                    (Some(_), Some(s)) => ("failure", format!("HTTP {s}")),
                    (Some(f), None) => ("failure", f.code.to_string()),
                    (None, None) => ("failure", String::new()),
                };
                let object = format!("conversation#{conversation_id} {how}");
                db.with(|c| audit_call(c, self.clock.now(), caller, object.trim_end(), result))?;
                shown
            }
        };
        self.keep(tenant_uuid, conversation_id, shown.clone());
        Ok(Some(shown))
    }

    /// Posts the value and reads the answer into what the agents see.
    fn call(&self, l: &store::SiteLookup, field: Option<&str>, value: &str, start: Shown) -> Shown {
        let body = serde_json::json!({ "field": field, "value": value }).to_string();
        let failed = |status, f: Failure| Shown {
            state: "failed",
            status,
            error: Some(f),
            ..start.clone()
        };
        let answer = match self
            .client
            .send(&l.url, &[(SECRET_HEADER, l.secret.as_str())], &body)
        {
            Ok(a) => a,
            Err(no) => return failed(None, failure(&no)),
        };
        if let Some(no) = &answer.broken {
            return failed(Some(answer.status), failure(no));
        }
        match rules::read_answer(answer.status, &answer.body, answer.over_cap) {
            Ok((fields, more)) => Shown {
                state: "done",
                status: Some(answer.status),
                fields,
                more,
                ..start
            },
            Err(f) => failed(Some(answer.status), f),
        }
    }
}

/// A request without an answer, as the agent reads it.
fn failure(no: &outbound::NoAnswer) -> Failure {
    let code = match no.why {
        outbound::Why::Refused => "refused",
        outbound::Why::Timeout => "timeout",
        outbound::Why::Unreachable => "unreachable",
    };
    Failure::new(code, no.message.clone())
}

fn audit_call(c: &Connection, at: i64, caller: &Caller, object: &str, result: &str) -> Result<()> {
    audit::append(
        c,
        at,
        &AuditEntry {
            actor: &caller.actor,
            role: &caller.role,
            action: "lookup.call",
            object,
            result,
            ip: &caller.ip,
            request_id: &caller.request_id,
        },
    )
}

/// Starts the worker that looks up the pre-chat field of chats as they start.
pub fn start(lookups: Arc<Lookups>, store: Weak<Store>) -> Result<()> {
    let (tx, rx) = sync_channel(QUEUE);
    *lookups.queue.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    std::thread::Builder::new()
        .name("lookup".into())
        .spawn(move || work(&lookups, &store, &rx))
        .map_err(|e| Error::io("starting the look-up worker", e))?;
    Ok(())
}

fn work(lookups: &Lookups, store: &Weak<Store>, rx: &Receiver<(String, i64)>) {
    while let Ok((tenant, id)) = rx.recv() {
        let Some(store) = store.upgrade() else { return };
        if let Err(e) = at_start(lookups, &store, &tenant, id) {
            tracing::warn!(tenant = %tenant, conversation = id, error = %e, "look-up at the chat's start failed");
        }
    }
}

/// The look-up of a chat that just started, if its site has a look-up address and its form
/// a marked field the visitor filled.
fn at_start(lookups: &Lookups, store: &Store, tenant: &str, id: i64) -> Result<()> {
    let db = store.tenant_db(tenant)?;
    let found = db.read(|c| {
        let Some(cv) = crate::store::chat::conversation(c, id)? else {
            return Ok(None);
        };
        if store::get(c, &cv.site_key)?.is_none() {
            return Ok(None);
        }
        Ok(Some((cv.site_key, crate::store::chat::fields(c, id)?)))
    })?;
    let Some((site_key, values)) = found else {
        return Ok(());
    };
    let form = store.system(|c| crate::store::site_forms::get(c, &site_key))?;
    let Some(field) = form.lookup_field() else {
        return Ok(());
    };
    let Some(filled) = values.iter().find(|v| v.name == field.name) else {
        return Ok(());
    };
    let caller = Caller {
        actor: "system".into(),
        role: "system".into(),
        ..Caller::default()
    };
    lookups.run(store, tenant, id, &filled.value, "form", &caller)?;
    Ok(())
}

/// A new look-up secret: `klk_` and the base64url of 32 random bytes.
pub fn new_secret() -> String {
    format!("klk_{}", B64URL.encode(crypto::random_array::<32>()))
}

/// Checks a look-up address: the rules of webhook addresses, resolved now (call off the
/// async threads). The address as it is saved.
pub fn check_url(url: &str, config: &WebhooksConfig) -> Result<String> {
    let url = url.trim().to_string();
    outbound::Target::parse_for(&url, config, PURPOSE.what)?.resolve_for(config, PURPOSE.what)?;
    Ok(url)
}

/// A site's look-up as the dashboard shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// The business's address, when one is saved.
    pub url: Option<String>,
}

/// A site's look-up settings.
pub fn settings(c: &Connection, site_key: &str) -> Result<Settings> {
    Ok(Settings {
        url: store::get(c, site_key)?.map(|l| l.url),
    })
}

/// Saves a site's address checked by [`check_url`]; the new secret when the site had no
/// look-up yet (shown once).
pub fn save(c: &Connection, site_key: &str, url: &str, at: i64) -> Result<Option<String>> {
    let secret = new_secret();
    Ok(store::set_url(c, site_key, url, &secret, at)?.then_some(secret))
}

/// Gives a site's look-up a new secret; returns it (shown once).
pub fn rotate(c: &Connection, site_key: &str) -> Result<String> {
    let secret = new_secret();
    if !store::set_secret(c, site_key, &secret)? {
        return Err(Error::NotFound("look-up".into()));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_32_random_bytes() {
        let s = new_secret();
        let raw = B64URL.decode(s.strip_prefix("klk_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        assert_ne!(s, new_secret());
    }

    #[test]
    fn loopback_and_private_addresses_are_refused_when_saved() {
        let c = WebhooksConfig::default();
        for url in [
            "https://127.0.0.1/lookup",
            "https://[::ffff:127.0.0.1]/lookup",
            "https://10.1.2.3/lookup",
            "http://shop.example/lookup",
        ] {
            let e = check_url(url, &c).unwrap_err().to_string();
            assert!(e.contains("look-up URL"), "{url}: {e}");
        }
    }

    #[test]
    fn answers_are_kept_in_memory_for_a_while() {
        let clock = Clock::manual();
        let l = Lookups::new(&WebhooksConfig::default(), clock.clone());
        let shown = Shown {
            state: "done",
            by: "agent",
            field: None,
            value: "7".into(),
            at: clock.now(),
            status: Some(200),
            fields: vec![],
            more: false,
            error: None,
        };
        l.keep("t", 1, shown.clone());
        assert_eq!(l.shown("t", 1), Some(shown));
        assert_eq!(l.shown("u", 1), None);
        clock.advance(Duration::from_secs(KEEP_SECS as u64));
        assert_eq!(l.shown("t", 1), None);
    }

    #[test]
    fn a_tenant_runs_only_a_few_calls_at_once() {
        let l = Lookups::new(&WebhooksConfig::default(), Clock::manual());
        let held: Vec<_> = (0..MAX_RUNNING).map(|_| l.begin("t").unwrap()).collect();
        assert!(l.begin("t").is_none());
        assert!(l.begin("u").is_some(), "another tenant is not held up");
        drop(held);
        assert!(l.begin("t").is_some());
    }
}
