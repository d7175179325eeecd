//! Queries for two-factor sign-in: an agent's TOTP secret, an enrolment not yet confirmed,
//! recovery codes (hashes only), half-done sign-ins, and the per-role policy. The rules are
//! in `domain::two_factor`.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;

/// An agent's confirmed authenticator.
#[derive(Debug, Clone)]
pub struct Totp {
    /// The shared secret (raw bytes).
    pub secret: Vec<u8>,
    /// Unix seconds.
    pub enrolled_at: i64,
}

/// The agent's confirmed authenticator, if any.
pub fn totp(c: &Connection, agent_id: i64) -> Result<Option<Totp>> {
    Ok(c.query_row(
        "SELECT secret, enrolled_at FROM agent_totp WHERE agent_id = ?1",
        [agent_id],
        |r| {
            Ok(Totp {
                secret: r.get(0)?,
                enrolled_at: r.get(1)?,
            })
        },
    )
    .optional()?)
}

/// Ids of the agents who have a confirmed authenticator.
pub fn enrolled_agents(c: &Connection) -> Result<HashSet<i64>> {
    super::rows::all(c, "SELECT agent_id FROM agent_totp", [], |r| r.get(0))
}

/// Takes time step `step` for the agent: true only if it is later than every step taken
/// before, so each code is accepted once (also by two requests at the same time).
pub fn take_step(c: &Connection, agent_id: i64, step: u64) -> Result<bool> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    Ok(c.execute(
        "UPDATE agent_totp SET last_step = ?2 WHERE agent_id = ?1 AND last_step < ?2",
        params![agent_id, step],
    )? == 1)
}

/// Keeps `secret` as the agent's enrolment awaiting confirmation (replacing an older one).
pub fn set_pending(c: &Connection, agent_id: i64, secret: &[u8], at: i64) -> Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO totp_pending (agent_id, secret, created_at) VALUES (?1, ?2, ?3)",
        params![agent_id, secret, at],
    )?;
    Ok(())
}

/// The agent's unconfirmed secret and when it was made.
pub fn pending(c: &Connection, agent_id: i64) -> Result<Option<(Vec<u8>, i64)>> {
    Ok(c.query_row(
        "SELECT secret, created_at FROM totp_pending WHERE agent_id = ?1",
        [agent_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// Makes `secret` the agent's authenticator, with `step` already taken, and `codes` (hashes)
/// their only recovery codes; the pending enrolment is gone. One transaction.
pub fn enrol(
    c: &mut Connection,
    agent_id: i64,
    secret: &[u8],
    step: u64,
    at: i64,
    codes: &[Vec<u8>],
) -> Result<()> {
    let tx = c.transaction()?;
    tx.execute(
        "INSERT OR REPLACE INTO agent_totp (agent_id, secret, enrolled_at, last_step)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            agent_id,
            secret,
            at,
            i64::try_from(step).unwrap_or(i64::MAX)
        ],
    )?;
    tx.execute("DELETE FROM totp_pending WHERE agent_id = ?1", [agent_id])?;
    replace_recovery_codes(&tx, agent_id, codes)?;
    tx.commit()?;
    Ok(())
}

/// Replaces the agent's recovery codes with `codes` (hashes).
pub fn replace_recovery_codes(c: &Connection, agent_id: i64, codes: &[Vec<u8>]) -> Result<()> {
    c.execute("DELETE FROM recovery_codes WHERE agent_id = ?1", [agent_id])?;
    let mut insert =
        c.prepare("INSERT OR IGNORE INTO recovery_codes (agent_id, code_hash) VALUES (?1, ?2)")?;
    for code in codes {
        insert.execute(params![agent_id, code])?;
    }
    Ok(())
}

/// Marks the unused recovery code with this hash as used; false if there is none such.
pub fn use_recovery_code(c: &Connection, agent_id: i64, hash: &[u8], at: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE recovery_codes SET used_at = ?3
         WHERE agent_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        params![agent_id, hash, at],
    )? == 1)
}

/// How many of the agent's recovery codes are still unused.
pub fn recovery_codes_left(c: &Connection, agent_id: i64) -> Result<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM recovery_codes WHERE agent_id = ?1 AND used_at IS NULL",
        [agent_id],
        |r| r.get(0),
    )?)
}

/// Forgets the agent's authenticator, pending enrolment, recovery codes and half-done
/// sign-ins; true if they had an authenticator.
pub fn remove(c: &mut Connection, agent_id: i64) -> Result<bool> {
    let tx = c.transaction()?;
    let had = tx.execute("DELETE FROM agent_totp WHERE agent_id = ?1", [agent_id])? == 1;
    for table in ["totp_pending", "recovery_codes", "sign_in_challenges"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE agent_id = ?1"),
            [agent_id],
        )?;
    }
    tx.commit()?;
    Ok(had)
}

/// Whether agents of role `role_id` must use a second factor.
pub fn role_requires(c: &Connection, role_id: i64) -> Result<bool> {
    Ok(c.query_row(
        "SELECT coalesce((SELECT two_factor FROM roles WHERE id = ?1), 0)",
        [role_id],
        |r| r.get::<_, i64>(0),
    )? == 1)
}

/// Ids of the roles that require a second factor.
pub fn requiring_roles(c: &Connection) -> Result<HashSet<i64>> {
    super::rows::all(c, "SELECT id FROM roles WHERE two_factor = 1", [], |r| {
        r.get(0)
    })
}

/// Sets whether role `role_id` requires a second factor; false when there is no such role.
pub fn set_role_requires(c: &Connection, role_id: i64, required: bool) -> Result<bool> {
    Ok(c.execute(
        "UPDATE roles SET two_factor = ?2 WHERE id = ?1",
        params![role_id, i64::from(required)],
    )? == 1)
}

/// A half-done sign-in.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// Whose password was right.
    pub agent_id: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Wrong codes so far.
    pub failures: i64,
    /// Browser and system at sign-in.
    pub device: String,
    /// Truncated address at sign-in.
    pub ip: String,
}

/// Stores a half-done sign-in under the hash of its token.
pub fn insert_challenge(c: &Connection, token_hash: &[u8], ch: &Challenge) -> Result<()> {
    c.execute(
        "INSERT INTO sign_in_challenges (token_hash, agent_id, created_at, failures, device, ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            token_hash,
            ch.agent_id,
            ch.created_at,
            ch.failures,
            ch.device,
            ch.ip
        ],
    )?;
    Ok(())
}

/// The half-done sign-in with this token hash.
pub fn challenge(c: &Connection, token_hash: &[u8]) -> Result<Option<Challenge>> {
    Ok(c.query_row(
        "SELECT agent_id, created_at, failures, device, ip FROM sign_in_challenges
         WHERE token_hash = ?1",
        [token_hash],
        |r| {
            Ok(Challenge {
                agent_id: r.get(0)?,
                created_at: r.get(1)?,
                failures: r.get(2)?,
                device: r.get(3)?,
                ip: r.get(4)?,
            })
        },
    )
    .optional()?)
}

/// Counts a wrong code against the half-done sign-in; returns the failures so far.
pub fn challenge_failed(c: &Connection, token_hash: &[u8]) -> Result<i64> {
    c.execute(
        "UPDATE sign_in_challenges SET failures = failures + 1 WHERE token_hash = ?1",
        [token_hash],
    )?;
    Ok(c.query_row(
        "SELECT coalesce((SELECT failures FROM sign_in_challenges WHERE token_hash = ?1), 0)",
        [token_hash],
        |r| r.get(0),
    )?)
}

/// Ends a half-done sign-in, and every one begun before `stale_before`.
pub fn delete_challenge(c: &Connection, token_hash: &[u8], stale_before: i64) -> Result<()> {
    c.execute(
        "DELETE FROM sign_in_challenges WHERE token_hash = ?1 OR created_at < ?2",
        params![token_hash, stale_before],
    )?;
    Ok(())
}
