//! Set-up links (`agent_links`): the invitation of a new agent and the password reset, each a
//! single-use, expiring link whose token is kept only as its SHA-256.

use super::tenant::{self as tstore, AgentRecord};
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A new agent, disabled until they choose a password; using the link enables them.
    Invite,
    /// A new password for an existing agent; their state is left as it is.
    Reset,
}

impl Purpose {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Invite => "invite",
            Purpose::Reset => "reset",
        }
    }

    fn parse(s: &str) -> Purpose {
        if s == "invite" {
            Purpose::Invite
        } else {
            Purpose::Reset
        }
    }
}

/// A link found by its token.
#[derive(Debug, Clone)]
pub struct Link {
    /// Whose password it sets.
    pub agent: AgentRecord,
    /// What for.
    pub purpose: Purpose,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds when it was used, if it was.
    pub used_at: Option<i64>,
}

/// Stores a new link for `agent_id`; earlier unused links of the agent die with it, so only
/// the newest one works.
pub fn issue(
    c: &Connection,
    token_hash: &[u8],
    agent_id: i64,
    purpose: Purpose,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    c.execute(
        "DELETE FROM agent_links WHERE agent_id = ?1 AND used_at IS NULL",
        [agent_id],
    )?;
    c.execute(
        "INSERT INTO agent_links (token_hash, agent_id, purpose, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, agent_id, purpose.name(), now, expires_at],
    )?;
    Ok(())
}

/// The link with this token hash, used or not.
pub fn find(c: &Connection, token_hash: &[u8]) -> Result<Option<Link>> {
    let row: Option<(i64, String, i64, Option<i64>)> = c
        .query_row(
            "SELECT agent_id, purpose, expires_at, used_at FROM agent_links WHERE token_hash = ?1",
            [token_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((agent_id, purpose, expires_at, used_at)) = row else {
        return Ok(None);
    };
    let Some(agent) = tstore::agent_by_id(c, agent_id)? else {
        return Ok(None);
    };
    Ok(Some(Link {
        agent,
        purpose: Purpose::parse(&purpose),
        expires_at,
        used_at,
    }))
}

/// Whether the agent was invited and has not set a password yet (an unused invitation).
pub fn invited(c: &Connection, agent_id: i64) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM agent_links
           WHERE agent_id = ?1 AND purpose = 'invite' AND used_at IS NULL)",
        [agent_id],
        |r| r.get(0),
    )?)
}

/// Uses a live link: sets the password hash, marks the link used, ends the agent's sessions
/// and, for an invitation, enables the agent; all in one transaction. `NotFound` when the link
/// is unknown, used or expired at `now` (checked again inside the transaction, so two
/// submissions of one link cannot both win).
pub fn redeem(
    c: &mut Connection,
    token_hash: &[u8],
    password_hash: &str,
    now: i64,
) -> Result<AgentRecord> {
    let tx = c.transaction()?;
    let link = find(&tx, token_hash)?
        .filter(|l| l.used_at.is_none() && l.expires_at > now)
        .ok_or_else(|| Error::NotFound("set-up link".into()))?;
    tx.execute(
        "UPDATE agent_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
        params![token_hash, now],
    )?;
    tx.execute(
        "UPDATE agents SET password_hash = ?2 WHERE id = ?1",
        params![link.agent.id, password_hash],
    )?;
    if link.purpose == Purpose::Invite {
        tx.execute(
            "UPDATE agents SET disabled = 0 WHERE id = ?1",
            [link.agent.id],
        )?;
    }
    tx.execute("DELETE FROM sessions WHERE agent_id = ?1", [link.agent.id])?;
    let rec =
        tstore::agent_by_id(&tx, link.agent.id)?.ok_or_else(|| Error::NotFound("agent".into()))?;
    tx.commit()?;
    Ok(rec)
}
