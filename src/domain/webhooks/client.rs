//! The webhook client, guarded against server-side request forgery: `https://` only (plain
//! `http://` for the hosts the operator allows), every address the host resolves to checked by
//! the address rules right before the connection (so a DNS answer that changed since the
//! endpoint was saved is caught too), and only checked addresses connected to, while the TLS
//! name stays the URL's host. No proxy, no redirects, five seconds for the whole call, and at
//! most 64 KiB of the answer read.

use crate::config::{Net, WebhooksConfig};
use crate::error::{Error, Result};
use crate::model::webhooks as rules;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{Connector, NextTimeout, RustlsConnector, TcpConnector};

/// The whole call (connect, send, answer) ends after this.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// At most this much of an answer is read.
pub const ANSWER_CAP: u64 = 64 * 1024;

/// At most this much of an answer is kept in the delivery log.
const EXCERPT: usize = 500;

/// A webhook address that passed the checks that need no network.
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
        let bad = |why: &str| Error::Invalid(format!("webhook URL: {why}"));
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
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|_| Error::Invalid(format!("webhook URL: host {} not found", self.host)))?
            .collect();
        check_all(&addrs, &config.networks())
            .map_err(|why| Error::Invalid(format!("webhook URL: {why}")))?;
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

/// The client: one per sender, its configuration fixed.
pub struct Client {
    agent: ureq::Agent,
    config: WebhooksConfig,
}

impl Client {
    /// A client under the operator's allow lists.
    pub fn new(config: &WebhooksConfig) -> Client {
        let cfg = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(TIMEOUT))
            .max_response_header_size(16 * 1024)
            .user_agent("kontor-webhooks")
            .build();
        let connector = ().chain(TcpConnector::default()).chain(RustlsConnector::default());
        let resolver = GuardedResolver {
            allowed: config.networks(),
        };
        Client {
            agent: ureq::Agent::with_parts(cfg, connector, resolver),
            config: config.clone(),
        }
    }

    /// Posts a signed body to `url`.
    pub fn post(&self, url: &str, headers: &[(&str, &str)], body: &str) -> Outcome {
        let target = match Target::parse(url, &self.config) {
            Ok(t) => t,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let mut req = self
            .agent
            .post(target.uri.clone())
            .header("Content-Type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut res = match req.send(body) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(describe(&e)),
        };
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut buf = Vec::new();
        let read = res
            .body_mut()
            .as_reader()
            .take(ANSWER_CAP)
            .read_to_end(&mut buf);
        let mut answer = excerpt(&buf);
        if let Err(e) = read {
            answer = format!("{answer} (answer broken off: {e})");
        } else if buf.len() as u64 == ANSWER_CAP {
            answer = format!("{answer} (answer cut off after 64 KiB)");
        }
        if let (300..=399, Some(to)) = (status, location) {
            answer = format!("redirect to {} not followed", excerpt(to.as_bytes()));
        }
        Outcome::Answered { status, answer }
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

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "no answer within 5 seconds".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::Other(why) => why.to_string(),
        ureq::Error::Io(io) => format!("connection failed: {}", io.kind()),
        other => other.to_string(),
    }
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
