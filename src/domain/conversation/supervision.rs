//! Supervision: an agent whose role has `chats.supervise` watches another agent's live chat
//! read-only (its log and notes as they happen), whispers to the chat's agent (an internal
//! note the visitor never sees) and takes the chat over (a transfer to themselves, beyond
//! their capacity if need be: it is a rescue). Each is audited and each is shown to the chat's
//! agent: a `supervision` frame names the supervisor and what they did.

use super::{Conversations, Effect, Effects, Ledger, To};
use crate::domain::conversation::AgentCtx;
use crate::domain::protocol::{Out, check_message};
use crate::error::{Code, Result};

/// The frame that tells a chat's agent (and the supervisor) what a supervisor did.
pub(super) fn notice(conversation_id: i64, action: &'static str, who: i64, name: &str) -> Out {
    Out::Supervision {
        conversation_id,
        action,
        supervisor_id: who,
        supervisor_name: name.into(),
    }
}

impl Conversations {
    /// The supervisors watching a chat.
    pub(super) fn watchers(&self, id: i64) -> Vec<i64> {
        self.convs
            .get(&id)
            .map(|cv| cv.watchers.iter().copied().collect())
            .unwrap_or_default()
    }

    fn audited(
        &self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        action: &str,
        id: i64,
    ) -> Result<()> {
        let actor = format!("{} (agent#{})", ctx.name, ctx.agent_id);
        ledger.audit_done(ctx.at, &actor, action, &format!("conversation#{id}"))
    }

    /// Starts watching a waiting or open chat that is not the supervisor's own: they get it
    /// (marked `watching`) with its whole log and notes, then its entries as they come.
    pub(super) fn watch(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        id: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        let me = ctx.agent_id;
        let Some(cv) = self.convs.get_mut(&id) else {
            return self.deny(ledger, ctx, id, fx);
        };
        if cv.agent_id == Some(me) {
            fx.refuse(Code::InvalidInput, "this chat is your own");
            return Ok(());
        }
        let new = cv.watchers.insert(me);
        let holder = cv.agent_id;
        if let Some(mut shown) = self.conversation_out(id) {
            shown.watching = true;
            fx.send(To::Agent(me), Out::Conversation(Box::new(shown)));
        }
        fx.0.push(Effect::CatchUp {
            agent_id: me,
            conversation_id: id,
        });
        if new {
            self.audited(ledger, ctx, "chat.watch", id)?;
            let told = notice(id, "watching", me, &ctx.name);
            if let Some(h) = holder {
                fx.send(To::Agent(h), told.clone());
            }
            fx.reply(told);
        }
        Ok(())
    }

    /// Stops watching; the chat's agent is told.
    pub(super) fn unwatch(&mut self, ctx: &AgentCtx, id: i64, fx: &mut Effects) {
        let me = ctx.agent_id;
        let Some(cv) = self.convs.get_mut(&id) else {
            return fx.refuse(Code::NotFound, "no such conversation");
        };
        if !cv.watchers.remove(&me) {
            return fx.refuse(Code::InvalidInput, "you are not watching this chat");
        }
        let told = notice(id, "stopped", me, &ctx.name);
        if let Some(h) = cv.agent_id {
            fx.send(To::Agent(h), told.clone());
        }
        fx.0.push(Effect::Forget {
            agent_id: me,
            conversation_id: id,
        });
        fx.reply(told);
    }

    /// A watching supervisor's note to the chat's agent: stored as an internal note by the
    /// supervisor (answered by `noted`), shown to the agent and the other watchers.
    pub(super) fn whisper(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        id: i64,
        client_id: String,
        text: String,
        fx: &mut Effects,
    ) -> Result<()> {
        if !self.watchers(id).contains(&ctx.agent_id) {
            fx.refuse(Code::InvalidInput, "watch the chat before you whisper");
            return Ok(());
        }
        if let Err(refusal) = check_message(&client_id, &text) {
            fx.reply(refusal);
            return Ok(());
        }
        self.audited(ledger, ctx, "chat.whisper", id)?;
        self.note(ledger, ctx, id, client_id, text, fx)
    }

    /// Takes another agent's open chat: it becomes the supervisor's with its whole history;
    /// the agent loses it at once and is told who took it.
    pub(super) fn take_over(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        id: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        let me = ctx.agent_id;
        let Some(cv) = self.convs.get(&id) else {
            return self.deny(ledger, ctx, id, fx);
        };
        let Some(holder) = self.holder(cv) else {
            fx.refuse(
                Code::InvalidInput,
                "only an open chat can be taken over; take a waiting one from the queue",
            );
            return Ok(());
        };
        if holder == me {
            fx.refuse(Code::InvalidInput, "this chat is your own");
            return Ok(());
        }
        if !self.agents.contains_key(&me) {
            fx.refuse(Code::AgentUnavailable, "say hello first");
            return Ok(());
        }
        ledger.reassign(id, me)?;
        if let Some(cv) = self.convs.get_mut(&id) {
            cv.agent_id = Some(me);
        }
        self.audited(ledger, ctx, "chat.take_over", id)?;
        // The agent hears who took it before the chat leaves their list.
        let told = notice(id, "took_over", me, &ctx.name);
        fx.send(To::Agent(holder), told.clone());
        fx.reply(told);
        self.lose(holder, id, fx);
        self.hand_over(ledger, id, me, "transferred", ctx.at, fx)
    }
}
