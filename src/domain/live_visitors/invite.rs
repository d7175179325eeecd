//! Invitations: by rule (conditions held long enough) or by an agent, what the widget is
//! handed, a chat started from one, and the end of silent visits.

use super::{LiveInvite, MAX_INVITE_TEXT, Offer, VISIT_TIMEOUT, VisitLedger, Visitors};
use crate::domain::protocol::Out;
use crate::error::{Code, Result};
use crate::i18n::{self, Lang};
use crate::model::tracking::Facts;
use crate::store::visits::NewInvitation;

impl Visitors {
    /// The invitation to hand to the widget now, once.
    pub(super) fn offer(&mut self, id: i64) -> Option<Offer> {
        let l = self.live.get_mut(&id)?;
        let inv = l
            .invite
            .as_mut()
            .filter(|i| i.state == "pending" && !i.offered)?;
        inv.offered = true;
        Some(Offer {
            id: inv.id,
            agent: inv.agent_name.clone(),
            text: inv.text.clone(),
        })
    }

    /// Fires the first automatic invitation whose conditions held long enough.
    pub(super) fn evaluate_rules(
        &mut self,
        ledger: &mut dyn VisitLedger,
        id: i64,
        at: i64,
        inviter: Option<&str>,
    ) -> Result<()> {
        // An invitation nobody can answer helps no one.
        let Some(agent_name) = inviter.map(str::to_string) else {
            return Ok(());
        };
        let relevance = match self.live.get(&id) {
            Some(l) => self.relevance_of(l, at).score,
            None => return Ok(()),
        };
        let Some(l) = self.live.get_mut(&id) else {
            return Ok(());
        };
        let busy = l.chat.is_some_and(|(_, s)| s != "closed")
            || l.invite
                .as_ref()
                .is_some_and(|i| i.state == "shown" || (i.state == "pending" && !i.offered));
        if busy {
            return Ok(());
        }
        let Some(page) = l.pages.last() else {
            return Ok(());
        };
        let facts = Facts {
            url: &page.url,
            seconds_on_page: at - page.at,
            pages: l.page_count,
            referrer: l.referrer.kind,
            campaign: &l.campaign.campaign,
            visits: l.visits,
            relevance: i64::from(relevance),
        };
        let mut fire = None;
        for r in self
            .rules
            .iter()
            .filter(|r| r.enabled && r.site_key == l.site_key)
        {
            let done = if r.once_per_visit {
                l.fired_visit.contains(&r.id)
            } else {
                l.fired_page.contains(&r.id)
            };
            if done || !r.conditions.hold(&facts) {
                continue;
            }
            let since = *l.held_since.entry(r.id).or_insert(at);
            if at - since >= r.delay_seconds {
                fire = Some((r.id, r.text.clone()));
                break;
            }
        }
        let Some((rule_id, text)) = fire else {
            return Ok(());
        };
        l.fired_visit.insert(rule_id);
        l.fired_page.insert(rule_id);
        let invite_id = ledger.insert_invitation(&NewInvitation {
            visit_id: l.visit_id,
            agent_id: None,
            rule_id: Some(rule_id),
            text: &text,
            at,
        })?;
        l.invite = Some(LiveInvite {
            id: invite_id,
            state: "pending",
            agent_name,
            text,
            rule_id: Some(rule_id),
            offered: false,
        });
        self.dirty.insert(id);
        Ok(())
    }

    /// An agent invites a visitor.
    pub fn invite(
        &mut self,
        ledger: &mut dyn VisitLedger,
        agent_id: i64,
        agent_name: String,
        visitor_id: i64,
        text: Option<String>,
    ) -> Result<Option<Out>> {
        let refuse = |code, message: &str| Ok(Some(Out::error(code, message)));
        let Some(l) = self.live.get_mut(&visitor_id).filter(|l| !l.gone) else {
            return refuse(Code::NotFound, "this visitor has left");
        };
        if l.chat.is_some_and(|(_, s)| s != "closed") {
            return refuse(Code::InChat, "this visitor is in a chat already");
        }
        // An invitation the widget received but never showed (its chat panel was open, say)
        // does not block a new one; one waiting to be delivered or on screen does.
        let open = |i: &LiveInvite| i.state == "shown" || (i.state == "pending" && !i.offered);
        if l.invite.as_ref().is_some_and(open) {
            return refuse(Code::AlreadyInvited, "this visitor has an open invitation");
        }
        // The widget's language on the visitor's page, else their browser's if the widget
        // speaks it, else English.
        let lang = Lang::parse(&l.ui_lang)
            .or_else(|| Lang::parse(&l.lang))
            .unwrap_or(Lang::En);
        let text = match text.as_deref().map(str::trim) {
            None | Some("") => i18n::t(lang, "invite.default").to_string(),
            Some(t) if t.chars().count() > MAX_INVITE_TEXT => {
                return refuse(
                    Code::InvalidInput,
                    "the invitation may have at most 500 characters",
                );
            }
            Some(t) => t.to_string(),
        };
        let at = self.clock.now();
        let id = ledger.insert_invitation(&NewInvitation {
            visit_id: l.visit_id,
            agent_id: Some(agent_id),
            rule_id: None,
            text: &text,
            at,
        })?;
        l.invite = Some(LiveInvite {
            id,
            state: "pending",
            agent_name,
            text,
            rule_id: None,
            offered: false,
        });
        self.dirty.insert(visitor_id);
        Ok(None)
    }

    /// A visitor with this key started a chat: link the two, and an open invitation counts
    /// as accepted.
    pub fn chat_started(
        &mut self,
        ledger: &mut dyn VisitLedger,
        key: Option<&[u8; 16]>,
        conversation_id: i64,
    ) -> Result<()> {
        let Some(id) = key.and_then(|k| self.by_key(k)) else {
            return Ok(());
        };
        let Some(l) = self.live.get_mut(&id) else {
            return Ok(());
        };
        ledger.link_chat(conversation_id, id, l.visit_id)?;
        if let Some((old, _)) = l.chat {
            self.by_chat.remove(&old);
        }
        l.chat = Some((conversation_id, "waiting"));
        if let Some(inv) = undecided(&mut l.invite) {
            inv.state = "accepted";
            ledger.set_invitation_state(inv.id, "accepted")?;
        }
        self.by_chat.insert(conversation_id, id);
        self.dirty.insert(id);
        Ok(())
    }

    /// Ends visits of visitors who went silent; forgets visits older than the visit timeout.
    pub fn sweep(&mut self, ledger: &mut dyn VisitLedger) -> Result<()> {
        let grace = self.grace;
        let (at, beat_now) = (self.clock.now(), self.clock.instant());
        let mut silent = Vec::new();
        let mut expired = Vec::new();
        for (id, l) in &self.live {
            if !l.gone && beat_now.saturating_duration_since(l.beat) > grace {
                silent.push(*id);
            } else if l.gone && at - l.last_seen > VISIT_TIMEOUT {
                expired.push(*id);
            }
        }
        for id in silent {
            let Some(l) = self.live.get_mut(&id) else {
                continue;
            };
            l.gone = true;
            if let Some(p) = l.pages.last_mut()
                && p.seconds.is_none()
            {
                let secs = (l.last_seen - p.at).max(0);
                p.seconds = Some(secs);
                ledger.set_page_seconds(p.view_id, secs)?;
            }
            ledger.touch_visit(l.visit_id, l.last_seen, l.page_count)?;
            ledger.touch_visitor(l.visitor_id, l.last_seen)?;
            if let Some(inv) = undecided(&mut l.invite) {
                inv.state = "dismissed";
                ledger.set_invitation_state(inv.id, "expired")?;
            }
            self.left.push(id);
            self.dirty.remove(&id);
        }
        for id in expired {
            if let Some(l) = self.live.remove(&id) {
                self.forget(&l);
                if at.div_euclid(86_400) == self.day {
                    self.earlier_today.insert(l.key, (l.visitor_id, l.visits));
                }
            }
        }
        Ok(())
    }
}

/// The invitation, if the visitor has not answered it yet (pending or on screen).
fn undecided(invite: &mut Option<LiveInvite>) -> Option<&mut LiveInvite> {
    invite
        .as_mut()
        .filter(|i| matches!(i.state, "pending" | "shown"))
}
