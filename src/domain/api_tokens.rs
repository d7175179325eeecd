//! API tokens for integrations: `kt_<tenant uuid>_<64 hex>`, sent as `Authorization: Bearer`.
//! A token acts for the agent who made it (or whom the operator named), with the permissions
//! chosen for it that the agent's role still holds at the time of each call: demoting or
//! disabling the agent narrows or stops their tokens at once. Only a hash is stored.

use super::auth::Session;
use crate::clock::Clock;
use crate::crypto;
use crate::error::{Error, Result};
use crate::model::rights::Permissions;
use crate::store::Store;
use crate::store::api_tokens::{self as tstore, NewToken};
use crate::store::tenant::AgentRecord;
use rusqlite::Connection;

/// Every token starts with this, so a leaked one is easy to recognise (and to scan for).
pub const PREFIX: &str = "kt_";

/// Names are short labels.
const MAX_NAME: usize = 80;

/// The longest lifetime one can give a token: ten years (none: until revoked).
pub const MAX_DAYS: u32 = 3650;

/// A token's last use is written at most this often (and whenever its address changes).
const TOUCH_EVERY_SECS: i64 = 60;

/// What a new token is to be.
#[derive(Debug, Clone)]
pub struct Request {
    /// What it is for.
    pub name: String,
    /// The agent it acts for.
    pub agent_id: i64,
    /// What it may do.
    pub permissions: Permissions,
    /// Days until it stops working; none: until revoked.
    pub days: Option<u32>,
}

/// A token just made: its number and its secret (shown this once).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    /// Its number.
    pub id: i64,
    /// The token itself.
    pub token: String,
    /// When it stops working.
    pub expires_at: Option<i64>,
}

/// A call made with a token: the agent's session (permissions narrowed to the token's) and
/// the token.
pub struct TokenSession {
    /// The session the call runs as (no CSRF: a bearer token is not sent by browsers on
    /// their own).
    pub session: Session,
    /// The token's number.
    pub id: i64,
    /// The token's name (audited with every change).
    pub name: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token of ours (malformed, unknown tenant or hash).
    Unknown,
    /// Past its expiry.
    Expired,
    /// Revoked, or its agent is disabled.
    Revoked,
}

/// Makes a token for `r.agent_id`. `granter`: the permissions of whoever makes it (an agent
/// in the dashboard hands out only what they hold; the operator's CLI: every permission);
/// the token's permissions must also be the agent's.
pub fn create(
    c: &Connection,
    tenant_uuid: &str,
    r: &Request,
    granter: Permissions,
    by: &str,
    now: i64,
) -> Result<Created> {
    let name = r.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "a token's name is 1-{MAX_NAME} characters without control characters"
        )));
    }
    if r.permissions.is_empty() {
        return Err(Error::Invalid(
            "a token needs at least one permission".into(),
        ));
    }
    if r.days.is_some_and(|d| d == 0 || d > MAX_DAYS) {
        return Err(Error::Invalid(format!(
            "a token's lifetime is 1-{MAX_DAYS} days (or none: until revoked)"
        )));
    }
    super::agents::may_grant(granter, r.permissions)?;
    let agent = crate::store::tenant::agent_by_id(c, r.agent_id)?
        .ok_or_else(|| Error::NotFound(format!("agent {}", r.agent_id)))?;
    if agent.disabled || agent.role_id == crate::model::rights::SUPPORT {
        return Err(Error::Invalid(format!(
            "{} cannot hold API tokens (disabled, or the support login)",
            agent.email
        )));
    }
    let missing = r.permissions.beyond(agent.permissions);
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "{}'s role lacks {}; a token has only permissions its agent holds",
            agent.email,
            missing.names().join(", ")
        )));
    }
    let token = format!("{PREFIX}{tenant_uuid}_{}", crypto::random_token());
    let expires_at = r.days.map(|d| now + i64::from(d) * 86_400);
    let id = tstore::insert(
        c,
        &NewToken {
            name,
            token_hash: &crypto::token_hash(&token),
            agent_id: agent.id,
            permissions: r.permissions,
            created_at: now,
            created_by: by,
            expires_at,
        },
    )?;
    Ok(Created {
        id,
        token,
        expires_at,
    })
}

/// The tenant a token names, if it is shaped like one of ours.
fn tenant_of(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (uuid, secret) = rest.split_once('_')?;
    let ok = uuid::Uuid::parse_str(uuid).is_ok()
        && secret.len() == 64
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some((uuid, secret))
}

/// Checks a bearer token and records its use from `ip` (truncated); the session it runs as.
pub fn authenticate(
    store: &Store,
    clock: &Clock,
    token: &str,
    ip: &str,
) -> Result<std::result::Result<TokenSession, Refusal>> {
    let Some((uuid, _)) = tenant_of(token) else {
        return Ok(Err(Refusal::Unknown));
    };
    let tenant = match store.tenant_db(uuid) {
        Ok(db) => db,
        Err(Error::NotFound(_)) => return Ok(Err(Refusal::Unknown)),
        Err(e) => return Err(e),
    };
    let token_hash = crypto::token_hash(token);
    let Some(found) = tenant.with(|c| tstore::by_hash(c, &token_hash))? else {
        return Ok(Err(Refusal::Unknown));
    };
    let now = clock.now();
    if found.revoked || found.agent.disabled {
        return Ok(Err(Refusal::Revoked));
    }
    if found.expires_at.is_some_and(|e| now >= e) {
        return Ok(Err(Refusal::Expired));
    }
    let stale = found
        .last_used_at
        .is_none_or(|t| now - t >= TOUCH_EVERY_SECS);
    if stale || found.last_used_ip.as_deref() != Some(ip) {
        tenant.with(|c| tstore::touch(c, found.id, now, ip))?;
    }
    let agent = AgentRecord {
        permissions: found.agent.permissions.and(found.permissions),
        ..found.agent
    };
    Ok(Ok(TokenSession {
        session: Session {
            tenant,
            agent,
            token_hash,
            csrf: String::new(),
        },
        id: found.id,
        name: found.name,
    }))
}

/// Every token of the tenant (never a secret).
pub fn list(c: &Connection) -> Result<Vec<tstore::TokenRow>> {
    tstore::list(c)
}

/// Revokes a token; its name.
pub fn revoke(c: &Connection, id: i64, by: &str, now: i64) -> Result<String> {
    tstore::revoke(c, id, now, by)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_of_our_shape_name_a_tenant() {
        let uuid = "0f8c7a52-3a52-4d6e-9c51-8f0a6b2f1d10";
        let secret = "a".repeat(64);
        let good = format!("kt_{uuid}_{secret}");
        assert_eq!(tenant_of(&good), Some((uuid, secret.as_str())));
        for bad in [
            format!("kt_{uuid}_{}", "a".repeat(63)),
            format!("kt_{uuid}_{}g", "a".repeat(63)),
            format!("xx_{uuid}_{secret}"),
            format!("kt_not-a-uuid_{secret}"),
            String::new(),
            "kt_".into(),
        ] {
            assert_eq!(tenant_of(&bad), None, "{bad}");
        }
    }
}
