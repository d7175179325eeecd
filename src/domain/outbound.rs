//! The one guarded HTTP client for every outbound call a tenant configures (webhooks, the
//! online look-up), guarded against server-side request forgery: `https://` only (plain
//! `http://` for the hosts the operator allows in `[webhooks]`), every address the host
//! resolves to checked by the address rules (`model::webhooks`) right before the connection
//! (so a DNS answer that changed since the URL was saved is caught too), and only checked
//! addresses connected to, while the TLS name stays the URL's host. No proxy, no redirects, a
//! deadline for the whole call, and at most 64 KiB of the answer read.

use crate::config::{Net, WebhooksConfig};
use crate::error::{Error, Result};
use crate::model::webhooks as rules;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{Connector, NextTimeout, RustlsConnector, TcpConnector};

/// A webhook call (connect, send, answer) ends after this.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// At most this much of an answer is read.
pub const ANSWER_CAP: u64 = 64 * 1024;

/// At most this much of an answer is kept in the delivery log.
const EXCERPT: usize = 500;

/// What a client is for: how its calls are named, how long they may take.
#[derive(Debug, Clone, Copy)]
pub struct Purpose {
    /// Names the URL in refusals: `webhook URL`, `look-up URL`.
    pub what: &'static str,
    /// The `User-Agent` header.
    pub user_agent: &'static str,
    /// The whole call ends after this.
    pub timeout: Duration,
}

/// Webhook deliveries: five seconds.
pub const WEBHOOKS: Purpose = Purpose {
    what: "webhook URL",
    user_agent: "kontor-webhooks",
    timeout: TIMEOUT,
};

/// An address that passed the checks that need no network.
#[derive(Debug, Clone)]
pub struct Target {
    uri: Uri,
    host: String,
    port: u16,
}

impl Target {
    /// Parses and checks a webhook URL: absolute, `https` (or `http` for an allowed host), a
    /// host, no user name or password in it.
    pub fn parse(url: &str, config: &WebhooksConfig) -> Result<Target> {
        Target::parse_for(url, config, WEBHOOKS.what)
    }

    /// [`Target::parse`], naming the URL `what` in refusals.
    pub fn parse_for(url: &str, config: &WebhooksConfig, what: &str) -> Result<Target> {
        let bad = |why: &str| Error::Invalid(format!("{what}: {why}"));
        if url.len() > 2000 {
            return Err(bad("longer than 2000 characters"));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| bad("not a URL like https://hooks.example.com/kontor"))?;
        let authority = uri
            .authority()
            .ok_or_else(|| bad("no host; write it like https://hooks.example.com/kontor"))?;
        if authority.as_str().contains('@') {
            return Err(bad("no user name or password in the address"));
        }
        let host = authority
            .host()
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match uri.scheme_str() {
            Some("https") => authority.port_u16().unwrap_or(443),
            Some("http") if config.http_allowed(&host) => authority.port_u16().unwrap_or(80),
            Some("http") => {
                return Err(bad(
                    "only https:// (plain http:// only to hosts the operator allows)",
                ));
            }
            _ => return Err(bad("only https:// addresses")),
        };
        Ok(Target { uri, host, port })
    }

    /// Resolves the host and checks every address it has; the addresses.
    pub fn resolve(&self, config: &WebhooksConfig) -> Result<Vec<SocketAddr>> {
        self.resolve_for(config, WEBHOOKS.what)
    }

    /// [`Target::resolve`], naming the URL `what` in refusals.
    pub fn resolve_for(&self, config: &WebhooksConfig, what: &str) -> Result<Vec<SocketAddr>> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|_| Error::Invalid(format!("{what}: host {} not found", self.host)))?
            .collect();
        check_all(&addrs, &config.networks())
            .map_err(|why| Error::Invalid(format!("{what}: {why}")))?;
        Ok(addrs)
    }
}

/// Every address must pass: a name that resolves to one public and one private address
/// could otherwise be steered to the private one.
fn check_all(addrs: &[SocketAddr], allowed: &[Net]) -> std::result::Result<(), String> {
    if addrs.is_empty() {
        return Err("the host has no address".into());
    }
    for a in addrs {
        rules::check(a.ip(), allowed).map_err(|why| format!("not allowed: {why}"))?;
    }
    Ok(())
}

/// Resolves as the default resolver does, then refuses unless every address passes.
#[derive(Debug)]
struct GuardedResolver {
    allowed: Vec<Net>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = DefaultResolver::default().resolve(uri, config, timeout)?;
        check_all(&addrs, &self.allowed)
            .map_err(|why| ureq::Error::Other(Box::new(Refused(why))))?;
        Ok(addrs)
    }
}

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered (any status), with the start of its answer.
    Answered {
        /// The HTTP status.
        status: u16,
        /// The start of the answer (or what it was).
        answer: String,
    },
    /// No answer: refused address, no connection, timeout, broken answer.
    Failed(String),
}

/// Why a request got no (whole) answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The URL or an address it resolves to is not allowed.
    Refused,
    /// No (whole) answer before the deadline.
    Timeout,
    /// Host not found, connection refused or broken, TLS failed.
    Unreachable,
}

/// A request without a (whole) answer: why, and what happened in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswer {
    /// The kind of failure.
    pub why: Why,
    /// What happened.
    pub message: String,
}

/// An answer as read: its status and at most [`ANSWER_CAP`] bytes of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, at most [`ANSWER_CAP`] bytes.
    pub body: Vec<u8>,
    /// The body was longer than [`ANSWER_CAP`] and was cut off.
    pub over_cap: bool,
    /// Why reading the body broke off, if it did.
    pub broken: Option<NoAnswer>,
    /// The `Location` of a redirect (never followed).
    pub location: Option<String>,
}

/// The client: one per sender, its configuration fixed.
pub struct Client {
    agent: ureq::Agent,
    config: WebhooksConfig,
    purpose: Purpose,
}

impl Client {
    /// A webhook client under the operator's allow lists.
    pub fn new(config: &WebhooksConfig) -> Client {
        Client::for_purpose(config, WEBHOOKS)
    }

    /// A client for `purpose` under the operator's allow lists.
    pub fn for_purpose(config: &WebhooksConfig, purpose: Purpose) -> Client {
        let cfg = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(purpose.timeout))
            .max_response_header_size(16 * 1024)
            .user_agent(purpose.user_agent)
            .build();
        let connector = ().chain(TcpConnector::default()).chain(RustlsConnector::default());
        let resolver = GuardedResolver {
            allowed: config.networks(),
        };
        Client {
            agent: ureq::Agent::with_parts(cfg, connector, resolver),
            config: config.clone(),
            purpose,
        }
    }

    /// Posts a JSON body to `url` with extra headers; the answer as read, or why there was
    /// none.
    pub fn send(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::result::Result<Answer, NoAnswer> {
        let target =
            Target::parse_for(url, &self.config, self.purpose.what).map_err(|e| NoAnswer {
                why: Why::Refused,
                message: e.to_string(),
            })?;
        let mut req = self
            .agent
            .post(target.uri.clone())
            .header("Content-Type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut res = req
            .send(body)
            .map_err(|e| describe(&e, self.purpose.timeout))?;
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // One byte more than the cap tells a full answer from a longer one.
        let mut buf = Vec::new();
        let read = res
            .body_mut()
            .as_reader()
            .take(ANSWER_CAP + 1)
            .read_to_end(&mut buf);
        let over_cap = buf.len() as u64 > ANSWER_CAP;
        buf.truncate(ANSWER_CAP as usize);
        let broken = match read {
            Err(_) if over_cap => None,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Some(NoAnswer {
                why: Why::Timeout,
                message: format!(
                    "no whole answer within {} seconds",
                    self.purpose.timeout.as_secs()
                ),
            }),
            Err(e) => Some(NoAnswer {
                why: Why::Unreachable,
                message: e.to_string(),
            }),
            Ok(_) => None,
        };
        Ok(Answer {
            status,
            body: buf,
            over_cap,
            broken,
            location,
        })
    }

    /// Posts a signed body to `url`.
    pub fn post(&self, url: &str, headers: &[(&str, &str)], body: &str) -> Outcome {
        let a = match self.send(url, headers, body) {
            Ok(a) => a,
            Err(no) => return Outcome::Failed(no.message),
        };
        let mut answer = excerpt(&a.body);
        if let Some(e) = &a.broken {
            answer = format!("{answer} (answer broken off: {})", e.message);
        } else if a.over_cap {
            answer = format!("{answer} (answer cut off after 64 KiB)");
        }
        if let (300..=399, Some(to)) = (a.status, &a.location) {
            answer = format!("redirect to {} not followed", excerpt(to.as_bytes()));
        }
        Outcome::Answered {
            status: a.status,
            answer,
        }
    }
}

/// The start of an answer as text, control characters replaced.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT)]);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn describe(e: &ureq::Error, timeout: Duration) -> NoAnswer {
    let (why, message) = match e {
        ureq::Error::Timeout(_) => (
            Why::Timeout,
            format!("no answer within {} seconds", timeout.as_secs()),
        ),
        ureq::Error::HostNotFound => (Why::Unreachable, "host not found".into()),
        ureq::Error::Other(other) if other.downcast_ref::<Refused>().is_some() => {
            (Why::Refused, other.to_string())
        }
        ureq::Error::Other(other) => (Why::Unreachable, other.to_string()),
        ureq::Error::Io(io) => (
            Why::Unreachable,
            format!("connection failed: {}", io.kind()),
        ),
        other => (Why::Unreachable, other.to_string()),
    };
    NoAnswer { why, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WebhooksConfig {
        WebhooksConfig::default()
    }

    #[test]
    fn only_https_urls_with_a_host_are_taken() {
        let c = config();
        assert!(Target::parse("https://hooks.example.com/in", &c).is_ok());
        for bad in [
            "http://hooks.example.com/in",
            "ftp://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "hooks.example.com/in",
            "https:///in",
            "",
        ] {
            assert!(Target::parse(bad, &c).is_err(), "{bad}");
        }
        let allow = WebhooksConfig {
            allow_http_hosts: vec!["127.0.0.1".into()],
            ..Default::default()
        };
        assert!(Target::parse("http://127.0.0.1:9/x", &allow).is_ok());
        assert!(Target::parse("http://127.0.0.2:9/x", &allow).is_err());
    }

    #[test]
    fn literal_forbidden_addresses_are_refused_at_resolving() {
        let c = config();
        for url in [
            "https://127.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:127.0.0.1]/",
            "https://[fe80::1]/",
            "https://[::1]:8443/",
            "https://10.0.0.1/",
        ] {
            let err = Target::parse(url, &c).unwrap().resolve(&c).unwrap_err();
            assert!(err.to_string().contains("not allowed"), "{url}: {err}");
        }
    }
}
