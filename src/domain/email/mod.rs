//! Email through the business's own SMTP server: what the mails say ([`compose`]), when they
//! are queued ([`events`]), how one is handed to the server ([`smtp`]) and the sender that
//! drains every outbox ([`sender`]).
//!
//! A mail is queued in the outbox of the database whose event causes it, in the same
//! transaction; nothing talks to the server while a chat or an HTTP request waits.

pub mod compose;
pub mod events;
pub mod sender;
pub mod smtp;

use crate::config::SmtpConfig;
use std::sync::Mutex;
use std::sync::mpsc;

/// Which outbox has news: a tenant's (by uuid) or the operator's (`system.db`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Box {
    /// `system.db`: operator alerts.
    System,
    /// A tenant's database.
    Tenant(String),
}

/// Email as configured: who sends, where links point, and the line that wakes the sender.
pub struct Mail {
    /// `[smtp]`.
    pub smtp: SmtpConfig,
    /// Where links in mails point (the dashboard's public address; without `public_url`
    /// the address the server bound, known only once it has).
    base_url: std::sync::RwLock<String>,
    wake: Mutex<Option<mpsc::Sender<Box>>>,
}

impl Mail {
    /// Email with this configuration; [`sender::start`] connects the wake line.
    pub fn new(smtp: SmtpConfig, base_url: &str) -> Mail {
        Mail {
            smtp,
            base_url: std::sync::RwLock::new(base_url.trim_end_matches('/').to_string()),
            wake: Mutex::new(None),
        }
    }

    /// Tells the sender that `outbox` has a new mail (after, or just before, the commit that
    /// queued it: the sender looks again within a second either way).
    pub fn wake(&self, outbox: Box) {
        let guard = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = guard.as_ref() {
            let _ = tx.send(outbox);
        }
    }

    /// Where links in mails point.
    pub fn base_url(&self) -> String {
        self.base_url
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets where links point (once the server knows the address it bound).
    pub fn set_base_url(&self, base: &str) {
        *self.base_url.write().unwrap_or_else(|e| e.into_inner()) =
            base.trim_end_matches('/').to_string();
    }

    fn connect(&self, tx: mpsc::Sender<Box>) {
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }
}
