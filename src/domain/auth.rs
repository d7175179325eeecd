//! Agent sign-in, sessions and sign-out.
//!
//! Unknown tenants, unknown agents, disabled agents and wrong passwords all take the same path
//! (one argon2 verification, the same error), so responses do not reveal which accounts exist.

use super::agents;
use super::intrusion::{self, Factor};
use super::two_factor::{self, Proof};
use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::crypto;
use crate::error::{Error, Result};
use crate::model::ip;
use crate::model::throttle::{SignIn, Throttle};
use crate::model::tracking;
use crate::store::audit::{self as astore, AuditEntry};
use crate::store::tenant::{self as tstore, AgentRecord};
use crate::store::two_factor as tfstore;
use crate::store::{Store, TenantDb};
use std::net::IpAddr;
use std::sync::Arc;

/// How often at most a session's last-seen time is written (saves a write per request).
const TOUCH_EVERY_SECS: i64 = 60;
/// Seconds a half-done sign-in waits for its second factor (setting one up included).
const CHALLENGE_SECS: i64 = 600;
/// Wrong codes a half-done sign-in takes before the password must be typed again.
const CHALLENGE_TRIES: i64 = 5;

/// A sign-in attempt.
#[derive(Debug, Clone)]
pub struct LoginAttempt<'a> {
    /// Tenant slug as typed.
    pub tenant: &'a str,
    /// Email as typed.
    pub email: &'a str,
    /// Password as typed.
    pub password: &'a str,
    /// The client's address (already resolved through the trusted proxy).
    pub ip: IpAddr,
    /// The request id, for the audit log.
    pub request_id: &'a str,
    /// The browser's User-Agent (only its parsed browser and system are kept).
    pub user_agent: &'a str,
}

/// "Chrome 120 on Windows 10" from a User-Agent; empty when neither is known.
pub fn device_of(user_agent: &str) -> String {
    let a = tracking::parse_agent(user_agent);
    match (a.browser.is_empty(), a.os.is_empty()) {
        (false, false) => format!("{} on {}", a.browser, a.os),
        (false, true) => a.browser,
        (true, false) => a.os,
        (true, true) => String::new(),
    }
}

/// A session created by a successful sign-in.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Cookie value: `<tenant uuid>.<token>`; only its hash is stored.
    pub cookie: String,
    /// The agent who signed in.
    pub agent: AgentRecord,
}

/// A request's valid session.
#[derive(Clone)]
pub struct Session {
    /// The tenant's database.
    pub tenant: Arc<TenantDb>,
    /// The signed-in agent.
    pub agent: AgentRecord,
    /// Hash of the token (the stored key).
    pub token_hash: Vec<u8>,
    /// The CSRF token bound to this session.
    pub csrf: String,
}

/// The CSRF token of a session: an HMAC keyed by the session token, so it needs no storage
/// and is useless without the (HttpOnly) cookie.
pub fn csrf_for(token: &str) -> String {
    crypto::mac_hex(token.as_bytes(), b"kontor csrf v1")
}

/// Where a right password leads.
#[derive(Debug, Clone)]
pub enum Step {
    /// Signed in.
    Done(NewSession),
    /// A second factor is owed first. `cookie` names the half-done sign-in
    /// (`<tenant uuid>.<token>`, only the token's hash is stored); `enrol` when the agent has
    /// none yet and their role requires one, so they set it up now.
    SecondFactor {
        /// The challenge cookie's value.
        cookie: String,
        /// They must set up an authenticator first.
        enrol: bool,
    },
}

/// Checks credentials, applies throttling, writes the audit log, and creates a session or,
/// when the agent has a second factor or their role requires one, a half-done sign-in.
pub fn login(
    store: &Store,
    throttle: &Throttle,
    clock: &Clock,
    a: &LoginAttempt<'_>,
) -> Result<Step> {
    let email = agents::normalize_email(a.email).unwrap_or_else(|_| a.email.trim().to_lowercase());
    let tenant_slug = a.tenant.trim().to_lowercase();
    let keys = SignIn::new(&tenant_slug, &email, a.ip);
    let shown_ip = ip::truncate(a.ip).to_string();
    let t0 = clock.instant();
    let tenant = match store.tenant_db_by_slug(&tenant_slug) {
        Ok((_, db)) => Some(db),
        Err(Error::NotFound(_)) => None,
        Err(e) => {
            // A damaged or unreadable tenant: the caller sees a failed sign-in, we see why.
            tracing::error!(tenant = ?tenant_slug, error = %e, "cannot open tenant for sign-in");
            None
        }
    };
    // The role is known (and recorded) only once the password matched.
    let audit = |db: &TenantDb, result: &str, role: &str| {
        record_login(
            db,
            clock,
            &LoginRecord::new(&email, role, result, &shown_ip, a.request_id),
        );
    };

    if let Some(wait) = throttle.sign_in_blocked_for(&keys, t0) {
        if let Some(db) = &tenant {
            audit(db, "throttled", "");
        }
        intrusion::login_throttled(a.ip, &tenant_slug, &email, Factor::Password);
        return Err(Error::Throttled(wait));
    }

    let creds = match &tenant {
        Some(db) => db.with(|c| {
            let creds = tstore::agent_credentials(c, &email)?;
            // The support login opens only while the business grants it.
            match creds {
                Some(cr) if !super::support::may_sign_in(c, cr.agent.role_id, clock.now())? => {
                    Ok(None)
                }
                other => Ok(other),
            }
        })?,
        None => None,
    };
    let (hash, agent) = match creds {
        Some(c) if !c.agent.disabled => (c.password_hash, Some(c.agent)),
        _ => (crypto::dummy_password_hash().to_string(), None),
    };
    let password_ok = crypto::verify_password(a.password, &hash);
    let (Some(agent), true) = (agent, password_ok) else {
        throttle.sign_in_failed(&keys, t0);
        if let Some(db) = &tenant {
            audit(db, "failure", "");
        }
        intrusion::login_failed(a.ip, &tenant_slug, &email, Factor::Password);
        return Err(Error::Unauthorized);
    };
    let Some(db) = tenant else {
        return Err(Error::Unauthorized);
    };

    let origin = tstore::SessionOrigin {
        device: device_of(a.user_agent),
        ip: shown_ip.clone(),
    };
    let (enrolled, required) = db.with(|c| {
        Ok((
            two_factor::enrolled(c, agent.id)?,
            two_factor::required(c, &agent)?,
        ))
    })?;
    if enrolled || required {
        // The password was right; the throttle forgets nothing until the second factor is.
        let token = crypto::random_token();
        let now = clock.now();
        db.with(|c| {
            tfstore::delete_challenge(c, &[], now - CHALLENGE_SECS)?;
            tfstore::insert_challenge(
                c,
                &crypto::token_hash(&token),
                &tfstore::Challenge {
                    agent_id: agent.id,
                    created_at: now,
                    failures: 0,
                    device: origin.device.clone(),
                    ip: origin.ip.clone(),
                },
            )
        })?;
        audit(&db, "second_factor_owed", &agent.role);
        return Ok(Step::SecondFactor {
            cookie: format!("{}.{}", db.uuid, token),
            enrol: !enrolled,
        });
    }
    throttle.sign_in_succeeded(&keys);
    let session = start_session(&db, agent, clock, &origin)?;
    audit(&db, "success", &session.agent.role);
    tracing::info!(tenant = ?tenant_slug, agent = session.agent.id, "signed in");
    Ok(Step::Done(session))
}

/// A new session for `agent`.
fn start_session(
    db: &TenantDb,
    agent: AgentRecord,
    clock: &Clock,
    origin: &tstore::SessionOrigin,
) -> Result<NewSession> {
    let token = crypto::random_token();
    db.with(|c| {
        tstore::insert_session(
            c,
            &crypto::token_hash(&token),
            agent.id,
            clock.now(),
            origin,
        )
    })?;
    Ok(NewSession {
        cookie: format!("{}.{}", db.uuid, token),
        agent,
    })
}

/// One line of the audit trail about a sign-in.
struct LoginRecord<'a> {
    entry: AuditEntry<'a>,
}

impl<'a> LoginRecord<'a> {
    fn new(email: &'a str, role: &'a str, result: &'a str, ip: &'a str, rid: &'a str) -> Self {
        LoginRecord {
            entry: AuditEntry {
                actor: email,
                role,
                action: "login",
                object: "",
                result,
                ip,
                request_id: rid,
            },
        }
    }

    /// With the kind of second factor in the object column.
    fn factor(mut self, what: &'a str) -> Self {
        self.entry.object = what;
        self
    }
}

/// Appends a sign-in to the audit trail; a failure to write is logged, not shown.
fn record_login(db: &TenantDb, clock: &Clock, r: &LoginRecord<'_>) {
    if let Err(e) = db.with(|c| astore::append(c, clock.now(), &r.entry)) {
        tracing::error!(error = %e, "writing the audit log failed");
    }
}

/// A half-done sign-in, found by its challenge cookie.
pub struct Pending {
    /// The tenant's database.
    pub tenant: Arc<TenantDb>,
    /// The tenant's slug and display name.
    pub record: crate::store::system::TenantRecord,
    /// Whose password was right.
    pub agent: AgentRecord,
    /// They must set up an authenticator first.
    pub enrol: bool,
    token_hash: Vec<u8>,
    challenge: tfstore::Challenge,
}

/// The live half-done sign-in a challenge cookie names, if any (an expired one is ended).
pub fn pending(store: &Store, clock: &Clock, cookie: &str) -> Result<Option<Pending>> {
    let Some((uuid, token)) = cookie.split_once('.') else {
        return Ok(None);
    };
    if uuid::Uuid::parse_str(uuid).is_err() || token.len() != 64 {
        return Ok(None);
    }
    let tenant = match store.tenant_db(uuid) {
        Ok(db) => db,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(record) = store.system(|c| crate::store::system::tenant_by_uuid(c, uuid))? else {
        return Ok(None);
    };
    let token_hash = crypto::token_hash(token);
    let now = clock.now();
    let found = tenant.with(|c| {
        let Some(ch) = tfstore::challenge(c, &token_hash)? else {
            return Ok(None);
        };
        if now - ch.created_at > CHALLENGE_SECS {
            tfstore::delete_challenge(c, &token_hash, now - CHALLENGE_SECS)?;
            return Ok(None);
        }
        let Some(agent) = tstore::agent_by_id(c, ch.agent_id)?.filter(|a| !a.disabled) else {
            return Ok(None);
        };
        let enrol = !two_factor::enrolled(c, agent.id)?;
        Ok(Some((ch, agent, enrol)))
    })?;
    Ok(found.map(|(challenge, agent, enrol)| Pending {
        tenant,
        record,
        agent,
        enrol,
        token_hash,
        challenge,
    }))
}

/// A code typed at the second step of a sign-in.
#[derive(Debug, Clone)]
pub struct CodeAttempt<'a> {
    /// The challenge cookie's value.
    pub cookie: &'a str,
    /// A code from the app or a recovery code, as typed.
    pub code: &'a str,
    /// The client's address.
    pub ip: IpAddr,
    /// The request id, for the audit log.
    pub request_id: &'a str,
}

/// What the second step led to.
#[derive(Debug, Clone)]
pub enum CodeOutcome {
    /// Signed in. `recovery_codes` are new (shown once) when the authenticator was set up
    /// just now; `proof` says what was used otherwise.
    SignedIn {
        /// The new session.
        session: NewSession,
        /// Recovery codes to show once (empty unless just enrolled).
        recovery_codes: Vec<String>,
        /// The factor used (none when just enrolled).
        proof: Option<Proof>,
    },
    /// The code was wrong; this many tries are left (0: the half-done sign-in ended).
    Wrong {
        /// Tries left.
        tries_left: i64,
    },
    /// No such half-done sign-in, or it took too long: sign in again.
    Expired,
}

/// The second step of a sign-in: checks a code (or, when enrolling, confirms the new
/// authenticator), throttled and audited like passwords, and creates the session.
pub fn second_factor(
    store: &Store,
    throttle: &Throttle,
    clock: &Clock,
    a: &CodeAttempt<'_>,
) -> Result<CodeOutcome> {
    let Some(p) = pending(store, clock, a.cookie)? else {
        return Ok(CodeOutcome::Expired);
    };
    let keys = SignIn::new(&p.record.slug, &p.agent.email, a.ip);
    let shown_ip = ip::truncate(a.ip).to_string();
    let (email, role) = (p.agent.email.clone(), p.agent.role.clone());
    let log = |result: &str, what: &str| {
        let r = LoginRecord::new(&email, &role, result, &shown_ip, a.request_id).factor(what);
        record_login(&p.tenant, clock, &r);
    };
    let t0 = clock.instant();
    if let Some(wait) = throttle.sign_in_blocked_for(&keys, t0) {
        log("throttled", "second_factor");
        intrusion::login_throttled(a.ip, &p.record.slug, &email, Factor::Code);
        return Err(Error::Throttled(wait));
    }
    let (now, agent_id, code) = (clock.now(), p.agent.id, a.code);
    let proved = if p.enrol {
        match p
            .tenant
            .with(|c| two_factor::confirm(c, agent_id, code, now))
        {
            Ok(codes) => Some((codes, None)),
            Err(Error::Invalid(_) | Error::Conflict(_)) => None,
            Err(e) => return Err(e),
        }
    } else {
        p.tenant
            .with(|c| two_factor::verify(c, agent_id, code, now))?
            .map(|proof| (Vec::new(), Some(proof)))
    };
    let Some((recovery_codes, proof)) = proved else {
        throttle.sign_in_failed(&keys, t0);
        log("failure", "second_factor");
        intrusion::login_failed(a.ip, &p.record.slug, &email, Factor::Code);
        let failures = p
            .tenant
            .with(|c| tfstore::challenge_failed(c, &p.token_hash))?;
        let tries_left = (CHALLENGE_TRIES - failures).max(0);
        if tries_left == 0 {
            p.tenant
                .with(|c| tfstore::delete_challenge(c, &p.token_hash, now - CHALLENGE_SECS))?;
        }
        return Ok(CodeOutcome::Wrong { tries_left });
    };
    p.tenant
        .with(|c| tfstore::delete_challenge(c, &p.token_hash, now - CHALLENGE_SECS))?;
    throttle.sign_in_succeeded(&keys);
    let what = match proof {
        None => "totp_enrolled",
        Some(Proof::Code) => "totp",
        Some(Proof::Recovery { .. }) => "recovery_code",
    };
    log("success", what);
    let origin = tstore::SessionOrigin {
        device: p.challenge.device.clone(),
        ip: p.challenge.ip.clone(),
    };
    let session = start_session(&p.tenant, p.agent.clone(), clock, &origin)?;
    tracing::info!(tenant = ?p.record.slug, agent = agent_id, factor = what, "signed in");
    Ok(CodeOutcome::SignedIn {
        session,
        recovery_codes,
        proof,
    })
}

/// Finds the valid session for a cookie value; ends it when idle or too old on `clock`.
pub fn authenticate(
    store: &Store,
    timeouts: &SessionConfig,
    clock: &Clock,
    cookie: &str,
) -> Result<Session> {
    let (uuid, token) = cookie.split_once('.').ok_or(Error::Unauthorized)?;
    if uuid::Uuid::parse_str(uuid).is_err() || token.len() != 64 {
        return Err(Error::Unauthorized);
    }
    let tenant = match store.tenant_db(uuid) {
        Ok(db) => db,
        Err(Error::NotFound(_)) => return Err(Error::Unauthorized),
        Err(e) => return Err(e),
    };
    let token_hash = crypto::token_hash(token);
    let rec = tenant
        .with(|c| tstore::session(c, &token_hash))?
        .ok_or(Error::Unauthorized)?;
    let t = clock.now();
    let idle = t - rec.last_seen_at > (timeouts.idle_minutes * 60) as i64;
    let expired = t - rec.created_at > (timeouts.absolute_hours * 3600) as i64;
    // Only the support login depends on a grant: the one extra read is for it alone.
    let support = rec.agent.role_id == crate::model::rights::SUPPORT;
    let granted = || tenant.with(|c| super::support::may_sign_in(c, rec.agent.role_id, t));
    if idle || expired || (support && !granted()?) {
        tenant.with(|c| tstore::delete_session(c, &token_hash))?;
        return Err(Error::Unauthorized);
    }
    if t - rec.last_seen_at >= TOUCH_EVERY_SECS {
        tenant.with(|c| tstore::touch_session(c, &token_hash, t))?;
    }
    Ok(Session {
        tenant,
        agent: rec.agent,
        token_hash,
        csrf: csrf_for(token),
    })
}

/// Which stored sessions are still alive at `now` under these timeouts.
pub fn alive_at(now: i64, timeouts: &SessionConfig) -> tstore::Alive {
    tstore::Alive {
        seen_since: now - (timeouts.idle_minutes * 60) as i64,
        begun_since: now - (timeouts.absolute_hours * 3600) as i64,
    }
}

/// Ends a session and records it.
pub fn logout(session: &Session, clock: &Clock, ip: IpAddr, request_id: &str) -> Result<()> {
    let shown_ip = ip::truncate(ip).to_string();
    session.tenant.with(|c| {
        tstore::delete_session(c, &session.token_hash)?;
        astore::append(
            c,
            clock.now(),
            &AuditEntry {
                actor: &session.agent.email,
                role: &session.agent.role,
                action: "logout",
                object: "",
                result: "success",
                ip: &shown_ip,
                request_id,
            },
        )
    })
}

/// Which of these sessions (token hashes, each with the caller's key) have ended: logged
/// out, idle too long or past their absolute limit. The others count as active: an open
/// dashboard socket keeps its session from idling out.
pub fn ended_sessions<K: Copy>(
    c: &rusqlite::Connection,
    tokens: &[(K, Vec<u8>)],
    now: i64,
    timeouts: &SessionConfig,
) -> Result<Vec<K>> {
    let idle = (timeouts.idle_minutes * 60) as i64;
    let absolute = (timeouts.absolute_hours * 3600) as i64;
    let mut ended = Vec::new();
    for (key, hash) in tokens {
        match tstore::session(c, hash)? {
            Some(s) if now - s.created_at <= absolute && now - s.last_seen_at <= idle => {
                if now - s.last_seen_at >= 60 {
                    tstore::touch_session(c, hash, now)?;
                }
            }
            _ => ended.push(*key),
        }
    }
    Ok(ended)
}
