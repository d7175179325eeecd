//! Real time: one hub per tenant (presence, routing, the chat writer), the socket loop, and
//! the wire protocol.

pub mod gate;
pub mod hub;
pub mod session;

/// The wire frames (the conversation rules speak them, so they live in `domain`).
pub use crate::domain::protocol;

use crate::clock::Clock;
use crate::config::{ChatLimits, SessionConfig};
use crate::error::Result;
use crate::store::Store;
use hub::{ConnId, HubHandle};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The running hubs, started on first use.
pub struct Realtime {
    store: Arc<Store>,
    sessions: SessionConfig,
    grace: Duration,
    clock: Clock,
    /// Waiting chats per tenant at most (0: no limit).
    max_waiting: u32,
    /// What one address or site may take of the chat.
    pub gate: Arc<gate::Gate>,
    hubs: Mutex<HashMap<String, HubHandle>>,
    next_conn: AtomicU64,
    /// Email, when configured: ended chats queue transcripts and missed-chat notices.
    mail: Option<Arc<crate::domain::email::Mail>>,
    /// Webhooks: the hubs wake the sender after a batch that queued deliveries.
    hooks: Option<Arc<crate::domain::webhooks::Hooks>>,
    /// The online look-up: the hubs hand it the chats they start.
    lookups: Option<Arc<crate::domain::lookup::Lookups>>,
}

impl Realtime {
    /// No hub runs until a socket needs one; each hub reads `clock`.
    pub fn new(
        store: Arc<Store>,
        sessions: SessionConfig,
        grace: Duration,
        clock: Clock,
        chat: &ChatLimits,
    ) -> Realtime {
        Realtime {
            store,
            sessions,
            grace,
            clock,
            max_waiting: chat.max_waiting,
            gate: Arc::new(gate::Gate::new(chat)),
            hubs: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            mail: None,
            hooks: None,
            lookups: None,
        }
    }

    /// Lets the hubs wake the webhook sender (before any hub starts).
    pub fn with_hooks(mut self, hooks: Arc<crate::domain::webhooks::Hooks>) -> Realtime {
        self.hooks = Some(hooks);
        self
    }

    /// Lets the hubs hand started chats to the online look-up (before any hub starts).
    pub fn with_lookups(mut self, lookups: Arc<crate::domain::lookup::Lookups>) -> Realtime {
        self.lookups = Some(lookups);
        self
    }

    /// Lets the hubs queue mail (before any hub starts).
    pub fn with_mail(mut self, mail: Option<Arc<crate::domain::email::Mail>>) -> Realtime {
        self.mail = mail;
        self
    }

    /// The hub of a tenant, started if needed (opens the tenant database: call off the
    /// async threads).
    pub fn hub(&self, tenant_uuid: &str) -> Result<HubHandle> {
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = hubs.get(tenant_uuid) {
            return Ok(h.clone());
        }
        let db = self.store.tenant_db(tenant_uuid)?;
        let store = self.store.clone();
        let forms: hub::FormSource =
            Arc::new(move |site| store.system(|c| crate::store::site_forms::get(c, site)));
        let h = hub::spawn(
            db,
            self.sessions.clone(),
            self.grace,
            self.clock.clone(),
            self.max_waiting,
            hub::Senders {
                mail: self.mail.clone(),
                hooks: self.hooks.clone(),
                lookups: self.lookups.clone(),
            },
            forms,
        );
        hubs.insert(tenant_uuid.to_string(), h.clone());
        Ok(h)
    }

    /// The hub of a tenant if it runs already: no database is opened, so async code may call
    /// this without a trip to the blocking pool.
    pub fn running(&self, tenant_uuid: &str) -> Option<HubHandle> {
        self.hubs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant_uuid)
            .cloned()
    }

    /// Before an erasure: the tenant's hub (started if it does not run: it ends the chats it
    /// loads too) ends the person's chats and lets go of their live presence, so it holds
    /// nothing it would write back. Waits for the hub's commit; blocking.
    pub fn forget(
        &self,
        tenant_uuid: &str,
        s: &crate::store::gdpr::Subject,
    ) -> crate::error::Result<()> {
        let hub = self.hub(tenant_uuid)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = hub.send(hub::Command::Forget(hub::Forget {
            conversations: s.conversations.iter().copied().collect(),
            visitors: s.visitors.iter().copied().collect(),
            reply: tx,
        }));
        match sent && rx.blocking_recv().unwrap_or(false) {
            true => Ok(()),
            false => Err(crate::error::Error::Conflict(
                "the live chat is busy and still holds this person; try again in a moment".into(),
            )),
        }
    }

    /// Stops a tenant's hub (its sockets close).
    pub fn stop(&self, tenant_uuid: &str) {
        let removed = self
            .hubs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(tenant_uuid);
        if let Some(h) = removed {
            h.send(hub::Command::Stop);
        }
    }

    /// Stops the hubs idle for at least `idle` that nobody holds a handle to; how many. The
    /// next socket or request for such a tenant starts a new hub (and reloads its chats).
    pub fn retire_idle(&self, idle: Duration) -> usize {
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        // Under the lock that hands out handles: none can be cloned between the check and
        // the removal, and a stopped hub's queue is never given to anyone again.
        let idle: Vec<String> = hubs
            .iter()
            .filter(|(_, h)| h.retirable(idle))
            .map(|(uuid, _)| uuid.clone())
            .collect();
        for uuid in &idle {
            if let Some(h) = hubs.remove(uuid) {
                h.send(hub::Command::Stop);
                tracing::debug!(tenant = %uuid, "idle hub retired");
            }
        }
        idle.len()
    }

    /// How many hubs run.
    pub fn running_hubs(&self) -> usize {
        self.hubs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Stops every hub.
    pub fn stop_all(&self) {
        let all: Vec<HubHandle> = self
            .hubs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, h)| h)
            .collect();
        for h in all {
            h.send(hub::Command::Stop);
        }
    }

    /// The clock the hubs read (the server's).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}
