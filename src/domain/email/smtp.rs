//! Handing mails to the configured SMTP server (lettre, rustls with the system's trust store
//! plus `ca_file`), and sorting its answers into sent, try again, and failed for good.

use crate::config::{SmtpConfig, SmtpSecurity};
use crate::error::{Error, Result};
use lettre::Transport;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{PoolConfig, SmtpTransport};
use std::time::Duration;

/// What became of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took it; its answer.
    Accepted(String),
    /// The server answered this mail with a temporary failure (4xx): try it again later.
    Retry(String),
    /// No server to talk to (no connection, TLS or sign-in trouble): every mail waits.
    Unreachable(String),
    /// The server refused this mail for good (5xx).
    Refused(String),
}

/// An open line to the server: one connection reused for a batch.
pub struct Server {
    transport: SmtpTransport,
}

/// Reply codes that mean "the server refused us", not "it refused this mail": a wrong
/// password or a required encryption is the operator's to fix, and the mail waits for it.
const SIGN_IN_CODES: [u16; 4] = [530, 534, 535, 538];

impl Server {
    /// Prepares the connection (nothing is sent until the first mail).
    pub fn new(cfg: &SmtpConfig) -> Result<Server> {
        let tls = || -> Result<TlsParameters> {
            let mut b = TlsParameters::builder(cfg.host.clone());
            if let Some(path) = &cfg.ca_file {
                let pem = std::fs::read(path).map_err(|e| {
                    Error::io(format!("reading smtp.ca_file {}", path.display()), e)
                })?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| Error::Config(format!("smtp.ca_file {}: {e}", path.display())))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls()
                .map_err(|e| Error::Config(format!("smtp TLS setup: {e}")))
        };
        let tls = match cfg.security {
            SmtpSecurity::Starttls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut b = SmtpTransport::builder_dangerous(cfg.host.as_str())
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs)))
            .pool_config(PoolConfig::new().max_size(1));
        if let (Some(user), Some(pw)) = (&cfg.user, cfg.password()?) {
            b = b.credentials(Credentials::new(user.clone(), pw));
        }
        Ok(Server {
            transport: b.build(),
        })
    }

    /// Hands one mail to the server.
    pub fn send(&self, from: &str, to: &str, message: &[u8]) -> Outcome {
        let envelope = match (from.parse(), to.parse()) {
            (Ok(f), Ok(t)) => match Envelope::new(Some(f), vec![t]) {
                Ok(e) => e,
                Err(e) => return Outcome::Refused(format!("invalid envelope: {e}")),
            },
            _ => return Outcome::Refused(format!("invalid address {to:?}")),
        };
        match self.transport.send_raw(&envelope, message) {
            Ok(r) => Outcome::Accepted(answer(u16::from(r.code()), r.message())),
            Err(e) => classify(&e),
        }
    }

    /// Connects, says hello, starts TLS and signs in, without sending anything.
    pub fn check(&self) -> Result<()> {
        match self.transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Invalid("the server did not answer".into())),
            Err(e) => Err(Error::Invalid(describe(&e))),
        }
    }
}

fn answer<'a>(code: u16, lines: impl Iterator<Item = &'a str>) -> String {
    let text: Vec<&str> = lines.collect();
    format!("{code} {}", text.join(" ")).trim().to_string()
}

/// The error in the server's words where it said any, else what went wrong on the way.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let more = inner.to_string();
        if !s.contains(&more) {
            s.push_str(": ");
            s.push_str(&more);
        }
        source = inner.source();
    }
    crate::domain::email::compose::one_line(&s)
}

fn classify(e: &lettre::transport::smtp::Error) -> Outcome {
    let words = describe(e);
    match e.status().map(u16::from) {
        Some(code) if SIGN_IN_CODES.contains(&code) => Outcome::Unreachable(words),
        Some(_) if e.is_permanent() => Outcome::Refused(words),
        Some(_) => Outcome::Retry(words),
        None => Outcome::Unreachable(words),
    }
}
