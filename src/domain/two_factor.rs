//! Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238: HMAC-SHA1, six digits,
//! 30-second steps, one step of clock skew either way) from any authenticator app, ten
//! single-use recovery codes, and a per-role policy that makes agents enrol at their next
//! sign-in.
//!
//! Each code is accepted once: the step it belongs to is recorded and no earlier or equal
//! step is taken again. Recovery codes are 50 random bits each, stored as SHA-256 hashes and
//! crossed out when used. The enrolment QR code is drawn here as an SVG path, so nothing
//! leaves the server to make it.

use crate::crypto;
use crate::error::{Error, Result};
use crate::store::tenant::AgentRecord;
use crate::store::two_factor as store;
use rusqlite::Connection;
use serde::Serialize;
use totp_rs::{Builder, Secret, Totp};

/// How many recovery codes an agent gets.
pub const RECOVERY_CODES: usize = 10;
/// Seconds a new secret may wait for its confirming code.
const PENDING_SECS: i64 = 900;
/// Letters of recovery codes: no 0, o, 1 or l to misread.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// The RFC 6238 parameters every authenticator app understands.
fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<Totp> {
    // The otpauth address separates issuer and account with ':'; neither may hold one.
    let clean = |s: &str| s.replace(':', " ").trim().to_string();
    Builder::new()
        .with_secret(Secret::from(secret.to_vec()))
        .with_issuer(Some(clean(issuer)))
        .with_account_name(clean(account))
        .build()
        .map_err(|e| Error::Internal(format!("totp parameters: {e}")))
}

/// A new random secret (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    crypto::random_array::<20>().to_vec()
}

/// The time step a code from the app belongs to at `now`, if it is right (spaces allowed).
pub fn code_step(secret: &[u8], code: &str, now: i64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now).ok()?;
    totp(secret, "kontor", "agent").ok()?.check(&code, now)
}

/// The code an app shows for `secret` at `now` (what the tests type).
pub fn code_at(secret: &[u8], now: i64) -> String {
    totp(secret, "kontor", "agent")
        .map(|t| t.generate(u64::try_from(now).unwrap_or(0)).to_string())
        .unwrap_or_default()
}

/// A QR code as one SVG path over a `size` × `size` grid (quiet zone included).
#[derive(Debug, Clone, Serialize)]
pub struct Qr {
    /// Width and height in modules.
    pub size: usize,
    /// The dark modules as an SVG path.
    pub path: String,
}

/// Draws `text` as a QR code.
fn qr(text: &str) -> Result<Qr> {
    const QUIET: usize = 4;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(format!("qr code: {e}")))?;
    let width = code.width();
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % width + QUIET, i / width + QUIET);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Ok(Qr {
        size: width + 2 * QUIET,
        path,
    })
}

/// What an agent needs to add kontor to an authenticator app.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolment {
    /// The secret in base32, in groups of four, for typing it in.
    pub secret: String,
    /// The `otpauth://` address the QR code holds.
    pub uri: String,
    /// The QR code.
    pub qr: Qr,
}

/// The enrolment of `secret` for `account`, shown under the name `issuer` in the app.
pub fn enrolment(secret: &[u8], issuer: &str, account: &str) -> Result<Enrolment> {
    let t = totp(secret, issuer, account)?;
    let uri = t
        .to_url()
        .map_err(|e| Error::Internal(format!("otpauth address: {e}")))?;
    let b32 = t.secret().to_base32();
    let grouped = b32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Enrolment {
        secret: grouped,
        qr: qr(&uri)?,
        uri,
    })
}

/// Ten new recovery codes, `xxxxx-xxxxx`, as shown once to the agent.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = crypto::random_array::<10>();
            let s: String = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

/// The stored hash of a recovery code as typed (any case, dashes and spaces ignored).
fn recovery_hash(code: &str) -> Option<Vec<u8>> {
    let s: String = code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let ok = s.len() == 10 && s.bytes().all(|b| ALPHABET.contains(&b));
    ok.then(|| crypto::token_hash(&s))
}

fn hashes(codes: &[String]) -> Vec<Vec<u8>> {
    codes.iter().filter_map(|c| recovery_hash(c)).collect()
}

/// What a second factor proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// A code from the app.
    Code,
    /// A recovery code; this many are left.
    Recovery {
        /// Unused recovery codes after this one.
        left: i64,
    },
}

/// Checks a code from the app or a recovery code against the agent's authenticator and uses
/// it up; `None` when it is wrong, used already, or the agent has no authenticator.
pub fn verify(c: &Connection, agent_id: i64, code: &str, now: i64) -> Result<Option<Proof>> {
    let Some(t) = store::totp(c, agent_id)? else {
        return Ok(None);
    };
    if let Some(step) = code_step(&t.secret, code, now) {
        return Ok(store::take_step(c, agent_id, step)?.then_some(Proof::Code));
    }
    if let Some(hash) = recovery_hash(code)
        && store::use_recovery_code(c, agent_id, &hash, now)?
    {
        let left = store::recovery_codes_left(c, agent_id)?;
        return Ok(Some(Proof::Recovery { left }));
    }
    Ok(None)
}

/// Whether the agent has an authenticator.
pub fn enrolled(c: &Connection, agent_id: i64) -> Result<bool> {
    Ok(store::totp(c, agent_id)?.is_some())
}

/// Whether the agent's role requires a second factor.
pub fn required(c: &Connection, agent: &AgentRecord) -> Result<bool> {
    store::role_requires(c, agent.role_id)
}

/// An agent's two-factor state, as their settings show it.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// They have an authenticator.
    pub enrolled: bool,
    /// Since when (Unix seconds).
    pub enrolled_at: Option<i64>,
    /// Their role requires one (they cannot turn it off).
    pub required: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

/// The agent's two-factor state.
pub fn status(c: &Connection, agent: &AgentRecord) -> Result<Status> {
    let t = store::totp(c, agent.id)?;
    Ok(Status {
        enrolled: t.is_some(),
        enrolled_at: t.map(|t| t.enrolled_at),
        required: required(c, agent)?,
        recovery_codes_left: store::recovery_codes_left(c, agent.id)?,
    })
}

/// Starts an enrolment: a new secret kept until a code from it confirms it.
pub fn begin(c: &Connection, agent: &AgentRecord, issuer: &str, now: i64) -> Result<Enrolment> {
    let secret = new_secret();
    store::set_pending(c, agent.id, &secret, now)?;
    enrolment(&secret, issuer, &agent.email)
}

/// The enrolment the agent started and has not confirmed, if it is still fresh.
pub fn pending(
    c: &Connection,
    agent: &AgentRecord,
    issuer: &str,
    now: i64,
) -> Result<Option<Enrolment>> {
    match store::pending(c, agent.id)? {
        Some((secret, at)) if now - at <= PENDING_SECS => {
            Ok(Some(enrolment(&secret, issuer, &agent.email)?))
        }
        _ => Ok(None),
    }
}

fn wrong_code() -> Error {
    Error::Invalid(
        "that code is not right: type the six digits the app shows now (check that the phone's \
         clock is right)"
            .into(),
    )
}

/// Confirms the started enrolment with a code from the app; returns the new recovery codes.
pub fn confirm(c: &mut Connection, agent_id: i64, code: &str, now: i64) -> Result<Vec<String>> {
    let Some((secret, at)) = store::pending(c, agent_id)? else {
        return Err(Error::Conflict(
            "no set-up is in progress; start again to get a new QR code".into(),
        ));
    };
    if now - at > PENDING_SECS {
        return Err(Error::Conflict(
            "the set-up took longer than 15 minutes; start again to get a new QR code".into(),
        ));
    }
    let step = code_step(&secret, code, now).ok_or_else(wrong_code)?;
    let codes = new_recovery_codes();
    store::enrol(c, agent_id, &secret, step, now, &hashes(&codes))?;
    Ok(codes)
}

/// New recovery codes (the old ones stop working), after a code from the app.
pub fn renew_recovery_codes(
    c: &mut Connection,
    agent_id: i64,
    code: &str,
    now: i64,
) -> Result<Vec<String>> {
    require_app_code(c, agent_id, code, now)?;
    let codes = new_recovery_codes();
    store::replace_recovery_codes(c, agent_id, &hashes(&codes))?;
    Ok(codes)
}

/// Turns the agent's second factor off, after a code from the app; refused while their role
/// requires one.
pub fn turn_off(c: &mut Connection, agent: &AgentRecord, code: &str, now: i64) -> Result<()> {
    if required(c, agent)? {
        return Err(Error::Conflict(
            "your role requires a second factor, so it cannot be turned off".into(),
        ));
    }
    require_app_code(c, agent.id, code, now)?;
    store::remove(c, agent.id)?;
    Ok(())
}

/// A code from the app (not a recovery code) must be right.
fn require_app_code(c: &Connection, agent_id: i64, code: &str, now: i64) -> Result<()> {
    let t = store::totp(c, agent_id)?.ok_or_else(|| {
        Error::Conflict("two-factor sign-in is not set up for this account".into())
    })?;
    match code_step(&t.secret, code, now) {
        Some(step) if store::take_step(c, agent_id, step)? => Ok(()),
        _ => Err(wrong_code()),
    }
}

/// An admin's reset: the agent's authenticator and recovery codes are forgotten (they enrol
/// again at their next sign-in if their role requires it); true if they had one.
pub fn reset(c: &mut Connection, agent_id: i64) -> Result<bool> {
    store::remove(c, agent_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238, appendix B (the last six of the eight digits).
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(secret, t), code);
            assert!(code_step(secret, code, t).is_some());
        }
    }

    #[test]
    fn codes_are_good_one_step_either_way_only() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now);
        assert!(code_step(&secret, &code, now + 30).is_some());
        assert!(code_step(&secret, &code, now - 30).is_some());
        assert!(code_step(&secret, &code, now + 90).is_none());
        assert!(code_step(&secret, &format!("{} {}", &code[..3], &code[3..]), now).is_some());
        for bad in ["", "12345", "1234567", "abcdef", "１２３４５６"] {
            assert!(code_step(&secret, bad, now).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_read_back_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let set: std::collections::HashSet<_> = hashes(&codes).into_iter().collect();
        assert_eq!(set.len(), RECOVERY_CODES);
        let c = &codes[0];
        let loose = format!(" {} ", c.to_uppercase().replace('-', " "));
        assert_eq!(recovery_hash(&loose), recovery_hash(c));
        assert_eq!(recovery_hash("abcde-fghi"), None);
        assert_eq!(recovery_hash("abcde-fghi0"), None);
    }

    #[test]
    fn the_enrolment_holds_an_otpauth_address_and_a_qr_code() {
        let secret = new_secret();
        let e = enrolment(&secret, "kontor: Acme", "ann@acme.example").unwrap();
        assert!(e.uri.starts_with("otpauth://totp/"), "{}", e.uri);
        assert!(e.uri.contains("secret="), "{}", e.uri);
        assert_eq!(e.secret.replace(' ', ""), Secret::from(secret).to_base32());
        assert!(e.qr.size > 21 && e.qr.path.starts_with('M'));
    }
}

#[cfg(test)]
mod flow_tests {
    use super::*;
    use crate::store::migrations;

    fn tenant() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        migrations::apply(&mut c, migrations::TENANT).unwrap();
        c.execute(
            "INSERT INTO agents (id, email, display_name, role, role_id, password_hash, created_at)
             VALUES (1, 'ann@acme.example', 'Ann', 'admin', 1, 'x', 0)",
            [],
        )
        .unwrap();
        c
    }

    #[test]
    fn a_confirmed_enrolment_takes_codes_once_and_recovery_codes_once() {
        let mut c = tenant();
        let agent = crate::store::tenant::agent_by_id(&c, 1).unwrap().unwrap();
        let now = 1_800_000_000;
        begin(&c, &agent, "Acme", now).unwrap();
        let (secret, _) = store::pending(&c, 1).unwrap().unwrap();
        let codes = confirm(&mut c, 1, &code_at(&secret, now), now).unwrap();
        assert!(enrolled(&c, 1).unwrap());
        // The confirming code's step is taken.
        assert_eq!(verify(&c, 1, &code_at(&secret, now), now).unwrap(), None);
        let later = now + 30;
        assert_eq!(
            verify(&c, 1, &code_at(&secret, later), later).unwrap(),
            Some(Proof::Code)
        );
        let loose = codes[2].to_uppercase().replace('-', " ");
        assert_eq!(
            verify(&c, 1, &loose, later).unwrap(),
            Some(Proof::Recovery { left: 9 })
        );
        assert_eq!(verify(&c, 1, &codes[2], later).unwrap(), None);
        assert!(reset(&mut c, 1).unwrap());
        assert_eq!(verify(&c, 1, &codes[3], later).unwrap(), None);
    }
}

#[cfg(test)]
mod qr_tests {
    /// The QR path, read back by an independent decoder as a phone's camera would.
    #[test]
    fn the_qr_code_reads_back_as_the_otpauth_address() {
        let e = super::enrolment(b"12345678901234567890", "Acme GmbH", "ann@acme.example").unwrap();
        let n = e.qr.size;
        let mut dark = vec![false; n * n];
        for cmd in e.qr.path.split('M').filter(|c| !c.is_empty()) {
            let xy = cmd.trim_end_matches("h1v1h-1z");
            let (x, y) = xy.split_once(' ').unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            dark[y * n + x] = true;
        }
        const SCALE: usize = 4;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(n * SCALE, n * SCALE, |x, y| {
            if dark[(y / SCALE) * n + x / SCALE] {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(text, e.uri);
    }
}
