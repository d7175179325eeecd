//! Intrusion-detection hooks: every failed or refused attempt at one of the server's doors is
//! logged as one line that fail2ban (`packaging/fail2ban/`) or any log watcher can match:
//!
//! ```text
//! kontor-security: event=login_failed client=203.0.113.7 tenant=acme user=3fa9c2d1 factor=password
//! ```
//!
//! The prefix and the first two fields are fixed; `client` is the address the rate limits
//! use (the proxy's forwarded one only when the peer is the configured `trusted_proxy`). The
//! other fields are fixed names with values reduced to `A-Z a-z 0-9 . _ -`, so nothing a
//! client sends can end the line, forge a field or a second event; a sign-in name appears
//! only as a short hash, never in clear, and no secret ever does.
//! `docs/operator-guide.md` ("Intrusion detection with fail2ban") lists the events.

use std::net::IpAddr;

/// What every event line starts with.
pub const PREFIX: &str = "kontor-security:";

/// Longest field value logged (a longer one is cut).
const MAX_VALUE: usize = 64;

/// Which step of a sign-in failed or was throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// The password.
    Password,
    /// A code from the authenticator app or a recovery code.
    Code,
}

impl Factor {
    fn name(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Code => "code",
        }
    }
}

/// A wrong password, or a wrong code at the second step (`tenant` and `email` as typed).
pub fn login_failed(client: IpAddr, tenant: &str, email: &str, factor: Factor) {
    emit(
        "login_failed",
        client,
        &[
            ("tenant", tenant),
            ("user", &user_hash(email)),
            ("factor", factor.name()),
        ],
    );
}

/// A sign-in (or a code check) refused because of earlier failures.
pub fn login_throttled(client: IpAddr, tenant: &str, email: &str, factor: Factor) {
    emit(
        "login_throttled",
        client,
        &[
            ("tenant", tenant),
            ("user", &user_hash(email)),
            ("factor", factor.name()),
        ],
    );
}

/// A state-changing request without our Origin or without the right CSRF token; `door`
/// names where (`login`, `second_factor`, `setup`, `logout`, `api`, `upload`, `offline`).
pub fn csrf_refused(client: IpAddr, door: &'static str) {
    emit("csrf_refused", client, &[("door", door)]);
}

/// A token that opens nothing: `kind` is `setup_link` (an unknown, used or expired
/// invitation or reset link), `chat_token` (a visitor's chat token that fits no chat),
/// `api_token` (an unknown, expired or revoked API token) or `metrics_token` (a scrape of
/// `/metrics` without the configured token).
pub fn token_refused(client: IpAddr, kind: &'static str) {
    emit("token_refused", client, &[("kind", kind)]);
}

/// A WebSocket refused or closed by the server: `side` is `visitor` or `agent`; `reason` is
/// `origin` (not an allowed origin, or an unknown site), `too_many_sockets` or
/// `too_many_frames`.
pub fn socket_refused(client: IpAddr, side: &'static str, reason: &'static str, site: &str) {
    emit(
        "socket_refused",
        client,
        &[("side", side), ("reason", reason), ("site", site)],
    );
}

/// A request refused by a rate limit: `door` is `track`, `upload`, `offline` or
/// `chat_start`.
pub fn rate_limited(client: IpAddr, door: &'static str) {
    emit("rate_limited", client, &[("door", door)]);
}

fn emit(event: &str, client: IpAddr, fields: &[(&str, &str)]) {
    tracing::warn!("{}", line(event, client, fields));
}

/// The event's line (without the logger's time and level).
pub fn line(event: &str, client: IpAddr, fields: &[(&str, &str)]) -> String {
    let mut out = format!("{PREFIX} event={event} client={}", client.to_canonical());
    for (k, v) in fields {
        out.push(' ');
        out.push_str(k);
        out.push('=');
        out.push_str(&value(v));
    }
    out
}

/// A field value as logged: `A-Z a-z 0-9 . _ -` only (anything else becomes `_`), at most
/// [`MAX_VALUE`] characters, `-` when empty.
fn value(v: &str) -> String {
    let cleaned: String = v
        .chars()
        .take(MAX_VALUE)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "-".into()
    } else {
        cleaned
    }
}

/// Eight hex digits of a SHA-256 of the sign-in name as typed (trimmed, lower case): the
/// same account shows as the same value, the address itself is not in the log.
pub fn user_hash(email: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("kontor sign-in name\0{}", email.trim().to_lowercase()).as_bytes(),
    );
    crate::crypto::hex(&d.as_ref()[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_a_fixed_prefix_the_client_first_and_tame_values() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(
            line(
                "login_failed",
                ip,
                &[("tenant", "acme"), ("factor", "password")]
            ),
            "kontor-security: event=login_failed client=203.0.113.7 tenant=acme factor=password"
        );
        let forged = line(
            "csrf_refused",
            ip,
            &[(
                "tenant",
                "x\nkontor-security: event=login_failed client=198.51.100.1 \u{1b}[31m",
            )],
        );
        assert!(
            !forged.contains('\n') && !forged.contains('\u{1b}') && !forged.contains(" client=198")
        );
        assert_eq!(forged.matches("client=").count(), 1);
        assert!(line("x", ip, &[("site", &"s".repeat(500))]).len() < 120);
        assert!(line("x", ip, &[("tenant", "")]).ends_with("tenant=-"));
        // An IPv4 client seen through an IPv6 socket is logged as IPv4.
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert!(line("x", mapped, &[]).ends_with("client=203.0.113.7"));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(line("x", v6, &[]).ends_with("client=2001:db8::1"));
    }

    #[test]
    fn sign_in_names_are_logged_as_a_short_hash() {
        let h = user_hash("Ann@Acme.example ");
        assert_eq!(h, user_hash("ann@acme.example"));
        assert_eq!(h.len(), 8);
        assert_ne!(h, user_hash("bob@acme.example"));
    }
}
