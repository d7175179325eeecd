//! Blocking a visitor: who they are is known only here (their sockets and live visit hold the
//! anonymous key and the truncated address), so the hub resolves the target, stores the block
//! in its transaction, takes it into the rules at once, ends the chat it came from, and
//! answers after the commit.

use super::{Hub, Outbox, Peer};
use crate::domain::conversation::ledger::Tx;
use crate::error::{Error, Result};
use crate::store::blocks::{self, NewBlock};
use rusqlite::{Connection, OptionalExtension};

/// Whom to block.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The visitor of this chat.
    Conversation(i64),
    /// This live visitor.
    Visitor(i64),
}

/// An agent's block, answered with the block's id after the commit.
pub struct BlockRequest {
    /// Whom.
    pub target: Target,
    /// Also their truncated address.
    pub address: bool,
    /// For how long, in seconds.
    pub secs: i64,
    /// Why.
    pub reason: String,
    /// The agent.
    pub agent_id: i64,
    /// The answer.
    pub reply: tokio::sync::oneshot::Sender<std::result::Result<i64, String>>,
}

impl Hub {
    /// The browser key and truncated address of a chat's visitor: from their socket while
    /// they are connected, else from their live visit, else the address of their last visit.
    fn chat_visitor(&self, c: &Connection, id: i64) -> Result<(Option<[u8; 16]>, Option<String>)> {
        let socket = self
            .attached
            .get(&id)
            .into_iter()
            .flatten()
            .find_map(|conn| match &self.conns.get(conn)?.peer {
                Peer::Visitor {
                    visitor_key,
                    address,
                    ..
                } => Some((*visitor_key, Some(address.clone()))),
                _ => None,
            });
        if let Some(found) = socket {
            return Ok(found);
        }
        if let Some(v) = self.visitors.in_chat(id) {
            return self.live_visitor(c, v);
        }
        let address: Option<String> = c
            .query_row(
                "SELECT v.ip FROM visits v JOIN conversations k ON k.visitor_id = v.visitor_id
                 WHERE k.id = ?1 AND v.ip <> '' ORDER BY v.id DESC LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok((None, address))
    }

    /// A live visitor's browser key and the truncated address of their visit.
    fn live_visitor(&self, c: &Connection, id: i64) -> Result<(Option<[u8; 16]>, Option<String>)> {
        let Some((key, visit)) = self.visitors.browser_of(id) else {
            return Err(Error::NotFound("visitor".into()));
        };
        let address: Option<String> = c
            .query_row("SELECT ip FROM visits WHERE id = ?1", [visit], |r| r.get(0))
            .optional()?
            .filter(|ip: &String| !ip.is_empty());
        Ok((Some(key), address))
    }

    fn try_block(&mut self, c: &Connection, req: &BlockRequest, out: &mut Outbox) -> Result<i64> {
        let (key, address) = match req.target {
            Target::Conversation(id) => self.chat_visitor(c, id)?,
            Target::Visitor(id) => self.live_visitor(c, id)?,
        };
        let address = address.filter(|_| req.address);
        if key.is_none() && address.is_none() {
            return Err(Error::Invalid(
                "this visitor's browser is not known (the site does not track visitors, or \
                 they left): block their address instead"
                    .into(),
            ));
        }
        let now = self.clock.now();
        let conversation_id = match req.target {
            Target::Conversation(id) => Some(id),
            Target::Visitor(_) => None,
        };
        let id = blocks::insert(
            c,
            &NewBlock {
                visitor_key: key,
                address: address.as_deref(),
                conversation_id,
                reason: &req.reason,
                created_by: req.agent_id,
                at: now,
                expires_at: now + req.secs,
            },
        )?;
        self.chats.set_blocks(blocks::active(c, now)?);
        if let Some(conv) = conversation_id {
            let fx = self.chats.end_blocked(&mut Tx(c), conv, now)?;
            self.apply(c, None, fx, out)?;
        }
        Ok(id)
    }

    /// Carries out a block; the agent hears of it after the commit.
    pub(super) fn block(&mut self, c: &Connection, req: BlockRequest, out: &mut Outbox) {
        let result = self.try_block(c, &req, out).map_err(|e| match e {
            Error::Invalid(m) => m,
            Error::NotFound(_) => "that visitor is not on the site any more".to_string(),
            other => {
                tracing::error!(error = %other, "blocking failed");
                "internal error".to_string()
            }
        });
        let reply = req.reply;
        out.after_commit.push(Box::new(move |committed| {
            let _ = reply.send(match result {
                Ok(id) if committed => Ok(id),
                Ok(_) => Err("the block could not be stored; retry".into()),
                Err(e) => Err(e),
            });
        }));
    }
}
