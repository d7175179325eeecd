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
    /// Where links in mails point (the dashboard's public address).
    pub base_url: String,
    wake: Mutex<Option<mpsc::Sender<Box>>>,
}

impl Mail {
    /// Email with this configuration; [`sender::start`] connects the wake line.
    pub fn new(smtp: SmtpConfig, base_url: &str) -> Mail {
        Mail {
            smtp,
            base_url: base_url.trim_end_matches('/').to_string(),
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

    fn connect(&self, tx: mpsc::Sender<Box>) {
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }
}
