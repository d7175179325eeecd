//! API tokens: stored as hashes, each acting for the agent who made it with a subset of their
//! permissions, with its last use.

use super::rows;
use super::tenant::{AGENT_COLS, AGENT_COLUMNS, AgentRecord, agent_from_row};
use crate::error::{Error, Result};
use crate::model::rights::Permissions;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One token as listed (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenRow {
    /// Its number.
    pub id: i64,
    /// What it is for, in the business's words.
    pub name: String,
    /// The agent it acts for.
    pub agent_email: String,
    /// What it may do (within the agent's role at the time of each call).
    pub permissions: Vec<&'static str>,
    /// When and by whom it was made.
    pub created_at: i64,
    /// Who made it.
    pub created_by: String,
    /// When it stops working by itself.
    pub expires_at: Option<i64>,
    /// When it was revoked, and by whom.
    pub revoked_at: Option<i64>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// Its last use: when, and from which (truncated) address.
    pub last_used_at: Option<i64>,
    /// The (truncated) address of its last use.
    pub last_used_ip: Option<String>,
}

/// A new token's row.
pub struct NewToken<'a> {
    /// Its name.
    pub name: &'a str,
    /// The hash of its secret.
    pub token_hash: &'a [u8],
    /// The agent it acts for.
    pub agent_id: i64,
    /// What it may do.
    pub permissions: Permissions,
    /// When.
    pub created_at: i64,
    /// By whom.
    pub created_by: &'a str,
    /// When it stops working, if ever.
    pub expires_at: Option<i64>,
}

/// A live token found by its hash: the agent it acts for and what it may do.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its number.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// What the token itself may do.
    pub permissions: Permissions,
    /// When it stops working, if ever.
    pub expires_at: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// Its last use.
    pub last_used_at: Option<i64>,
    /// The address of its last use.
    pub last_used_ip: Option<String>,
    /// The agent (enabled or not).
    pub agent: AgentRecord,
}

/// Stores a new token; its number.
pub fn insert(c: &Connection, t: &NewToken<'_>) -> Result<i64> {
    c.execute(
        "INSERT INTO api_tokens (name, token_hash, agent_id, permissions, created_at, created_by,
             expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            t.name,
            t.token_hash,
            t.agent_id,
            t.permissions.to_text(),
            t.created_at,
            t.created_by,
            t.expires_at
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// The token with this hash and its agent.
pub fn by_hash(c: &Connection, token_hash: &[u8]) -> Result<Option<Found>> {
    let sql = format!(
        "SELECT {AGENT_COLUMNS}, t.id, t.name, t.permissions, t.expires_at, t.revoked_at,
                t.last_used_at, t.last_used_ip
         FROM api_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.token_hash = ?1"
    );
    Ok(c.prepare_cached(&sql)?
        .query_row([token_hash], |r| {
            let n = AGENT_COLS;
            let perms: String = r.get(n + 2)?;
            Ok(Found {
                agent: agent_from_row(r)?,
                id: r.get(n)?,
                name: r.get(n + 1)?,
                permissions: Permissions::parse(&perms).unwrap_or_default(),
                expires_at: r.get(n + 3)?,
                revoked: r.get::<_, Option<i64>>(n + 4)?.is_some(),
                last_used_at: r.get(n + 5)?,
                last_used_ip: r.get(n + 6)?,
            })
        })
        .optional()?)
}

/// Records a token's use.
pub fn touch(c: &Connection, id: i64, at: i64, ip: &str) -> Result<()> {
    c.execute(
        "UPDATE api_tokens SET last_used_at = ?2, last_used_ip = ?3 WHERE id = ?1",
        params![id, at, ip],
    )?;
    Ok(())
}

/// Every token, newest first.
pub fn list(c: &Connection) -> Result<Vec<TokenRow>> {
    rows::all(
        c,
        "SELECT t.id, t.name, a.email, t.permissions, t.created_at, t.created_by, t.expires_at,
                t.revoked_at, t.revoked_by, t.last_used_at, t.last_used_ip
         FROM api_tokens t JOIN agents a ON a.id = t.agent_id ORDER BY t.id DESC",
        [],
        |r| {
            let perms: String = r.get(3)?;
            Ok(TokenRow {
                id: r.get(0)?,
                name: r.get(1)?,
                agent_email: r.get(2)?,
                permissions: Permissions::parse(&perms).unwrap_or_default().names(),
                created_at: r.get(4)?,
                created_by: r.get(5)?,
                expires_at: r.get(6)?,
                revoked_at: r.get(7)?,
                revoked_by: r.get(8)?,
                last_used_at: r.get(9)?,
                last_used_ip: r.get(10)?,
            })
        },
    )
}

/// Revokes a token (once); its name.
pub fn revoke(c: &Connection, id: i64, at: i64, by: &str) -> Result<String> {
    let name: Option<(String, Option<i64>)> = c
        .query_row(
            "SELECT name, revoked_at FROM api_tokens WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match name {
        None => Err(Error::NotFound(format!("no API token {id}"))),
        Some((_, Some(_))) => Err(Error::Conflict(format!(
            "API token {id} is already revoked"
        ))),
        Some((name, None)) => {
            c.execute(
                "UPDATE api_tokens SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1",
                params![id, at, by],
            )?;
            Ok(name)
        }
    }
}

/// The id of the agent with this (lower-case) email.
pub fn agent_id_by_email(c: &Connection, email: &str) -> Result<i64> {
    c.query_row("SELECT id FROM agents WHERE email = ?1", [email], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| Error::NotFound(format!("agent {email:?}")))
}
