//! Agent sign-in, sessions and sign-out.
//!
//! Unknown tenants, unknown agents, disabled agents and wrong passwords all take the same path
//! (one argon2 verification, the same error), so responses do not reveal which accounts exist.

use super::agents;
use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::crypto;
use crate::error::{Error, Result};
use crate::model::ip;
use crate::model::throttle::{SignIn, Throttle};
use crate::model::tracking;
use crate::store::audit::{self as astore, AuditEntry};
use crate::store::tenant::{self as tstore, AgentRecord};
use crate::store::{Store, TenantDb};
use std::net::IpAddr;
use std::sync::Arc;

/// How often at most a session's last-seen time is written (saves a write per request).
const TOUCH_EVERY_SECS: i64 = 60;

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

/// Checks credentials, applies throttling, creates a session and writes the audit log.
pub fn login(
    store: &Store,
    throttle: &Throttle,
    clock: &Clock,
    a: &LoginAttempt<'_>,
) -> Result<NewSession> {
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
        let entry = AuditEntry {
            actor: &email,
            role,
            action: "login",
            object: "",
            result,
            ip: &shown_ip,
            request_id: a.request_id,
        };
        if let Err(e) = db.with(|c| astore::append(c, clock.now(), &entry)) {
            tracing::error!(error = %e, "writing the audit log failed");
        }
    };

    if let Some(wait) = throttle.sign_in_blocked_for(&keys, t0) {
        if let Some(db) = &tenant {
            audit(db, "throttled", "");
        }
        tracing::warn!(tenant = ?tenant_slug, ip = %shown_ip, "sign-in throttled");
        return Err(Error::Throttled(wait));
    }

    let creds = match &tenant {
        Some(db) => db.with(|c| tstore::agent_credentials(c, &email))?,
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
        tracing::info!(tenant = ?tenant_slug, ip = %shown_ip, "sign-in failed");
        return Err(Error::Unauthorized);
    };
    let Some(db) = tenant else {
        return Err(Error::Unauthorized);
    };

    let token = crypto::random_token();
    let origin = tstore::SessionOrigin {
        device: device_of(a.user_agent),
        ip: shown_ip.clone(),
    };
    db.with(|c| {
        tstore::insert_session(
            c,
            &crypto::token_hash(&token),
            agent.id,
            clock.now(),
            &origin,
        )
    })?;
    throttle.sign_in_succeeded(&keys);
    audit(&db, "success", &agent.role);
    tracing::info!(tenant = ?tenant_slug, agent = agent.id, "signed in");
    Ok(NewSession {
        cookie: format!("{}.{}", db.uuid, token),
        agent,
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
    if idle || expired {
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
