//! Live visitors as a state machine: page views and heartbeats come in (group-committed with the rest
//! of the batch), agents see who is on the site, and invitations go out by hand or by rule.
//!
//! A visitor is found by their anonymous daily key (or, in consented mode, by the hash of the
//! id their browser keeps). A visit ends after 30 minutes without a sign of life; a visitor
//! leaves the live list after the grace period without a heartbeat.

use crate::clock::Clock;
use crate::domain::conversation::Status;
use crate::domain::protocol::{InviteOut, Out, PageOut, VisitorChat, VisitorOut};
use crate::error::Result;
use crate::model::relevance::{self, Relevance, Signals, Weights};
use crate::model::tracking::{Agent, Campaign, Referrer};
use crate::store::visits::Rule;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

mod invite;
pub mod ledger;
mod visit;

pub use ledger::VisitLedger;

/// A visit ends after this long without a page view or heartbeat.
pub const VISIT_TIMEOUT: i64 = 30 * 60;
/// Pages of a visit kept in memory and sent to agents.
const LIVE_PAGES: usize = 50;
/// Longest invitation text.
pub const MAX_INVITE_TEXT: usize = 500;

/// One report from a visitor's browser.
pub struct TrackEvent {
    /// The site.
    pub site_key: String,
    /// `anonymous` or `consented` (the site's mode; `off` never reaches the hub).
    pub consented_site: bool,
    /// The anonymous daily key.
    pub key: [u8; 16],
    /// SHA-256 of the id the browser keeps (consented mode, after opt-in).
    pub vid: Option<Vec<u8>>,
    /// The page load's random id.
    pub pv: String,
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub kind: TrackKind,
}

/// What a browser reports.
pub enum TrackKind {
    /// A page was opened.
    View(Box<PageView>),
    /// Still there.
    Ping,
    /// The page was hidden or closed.
    Leave,
    /// What the visitor did with an invitation.
    Invite {
        /// The invitation.
        id: i64,
        /// shown, accepted or dismissed.
        result: &'static str,
    },
    /// The site reports a goal (`kontor('goal', NAME, VALUE)`).
    Goal {
        /// The goal's name.
        name: String,
        /// Its value in cents, when the site gave one.
        value_cents: Option<i64>,
    },
}

/// A page view's facts, cleaned by the HTTP layer.
pub struct PageView {
    /// Address (stripped).
    pub url: String,
    /// Title.
    pub title: String,
    /// Where the visitor came from.
    pub referrer: Referrer,
    /// `utm_*` of the address.
    pub campaign: Campaign,
    /// Browser, OS, device.
    pub agent: Agent,
    /// Browser language.
    pub lang: String,
    /// The widget's language on this page (one of `Lang::ALL`, or empty).
    pub ui_lang: String,
    /// Screen size.
    pub screen: String,
    /// Truncated address.
    pub ip: String,
    /// Country, when a GeoIP database is configured.
    pub country: Option<String>,
}

/// An invitation for the widget to show.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    /// Its id, reported back with the visitor's answer.
    pub id: i64,
    /// Who invites.
    pub agent: String,
    /// What it says.
    pub text: String,
}

/// The hub's answer to a report, given after the commit.
#[derive(Debug)]
pub enum TrackReply {
    /// Stored; maybe an invitation to show.
    Stored(Option<Offer>),
    /// The page view is unknown here: send it again.
    Again,
    /// Not stored (the batch failed): retry later.
    Failed,
}

struct LivePage {
    pv: String,
    view_id: i64,
    url: String,
    title: String,
    at: i64,
    seconds: Option<i64>,
}

struct LiveInvite {
    id: i64,
    state: &'static str,
    agent_name: String,
    text: String,
    rule_id: Option<i64>,
    /// Given to the widget already (it shows an invitation once).
    offered: bool,
}

/// A visitor seen in the last 30 minutes.
pub struct Live {
    visitor_id: i64,
    visit_id: i64,
    site_key: String,
    consented: bool,
    key: [u8; 16],
    vid: Option<Vec<u8>>,
    started_at: i64,
    last_seen: i64,
    beat: Instant,
    /// Left the live list (grace period over); the visit goes on if they come back in time.
    gone: bool,
    pages: Vec<LivePage>,
    page_count: i64,
    entry: String,
    referrer: Referrer,
    campaign: Campaign,
    agent: Agent,
    lang: String,
    /// The widget's language on the latest page, for the invitation's default text.
    ui_lang: String,
    screen: String,
    country: Option<String>,
    visits: i64,
    /// Goals reached in this visit (relevance).
    goals: i64,
    /// Chats before this visit (consented visitors only; relevance).
    earlier_chats: i64,
    /// The relevance last sent to the agents.
    relevance: u8,
    chat: Option<(i64, &'static str)>,
    invite: Option<LiveInvite>,
    /// Rules fired in this visit, and on the current page.
    fired_visit: HashSet<i64>,
    fired_page: HashSet<i64>,
    /// When each rule's conditions first held (its delay counts from then).
    held_since: HashMap<i64, i64>,
}

/// The hub's visitor state.
pub struct Visitors {
    grace: Duration,
    /// Heartbeats and visit times.
    clock: Clock,
    live: HashMap<i64, Live>,
    /// Anonymous key -> visitor, for the day (the key changes with the day anyway).
    by_key: HashMap<[u8; 16], i64>,
    /// Visitors recognised by key today but not live any more: `(visitor id, visits)`.
    earlier_today: HashMap<[u8; 16], (i64, i64)>,
    day: i64,
    by_vid: HashMap<Vec<u8>, i64>,
    /// Conversation -> visitor, for live visitors in a chat.
    by_chat: HashMap<i64, i64>,
    rules: Vec<Rule>,
    rules_loaded: bool,
    /// Campaigns and goals, for attribution and conversions.
    matchers: crate::store::campaigns::Matchers,
    /// Each site's relevance weights (the defaults where none are set).
    weights: HashMap<String, Weights>,
    /// Visitors whose frame must go out at the end of the batch.
    dirty: HashSet<i64>,
    left: Vec<i64>,
}

impl Visitors {
    pub fn new(grace: Duration, clock: Clock) -> Visitors {
        Visitors {
            grace,
            clock,
            live: HashMap::new(),
            by_key: HashMap::new(),
            earlier_today: HashMap::new(),
            day: 0,
            by_vid: HashMap::new(),
            by_chat: HashMap::new(),
            rules: Vec::new(),
            rules_loaded: false,
            matchers: Default::default(),
            weights: HashMap::new(),
            dirty: HashSet::new(),
            left: Vec::new(),
        }
    }

    /// Forgets everything live (after a failed commit the memory may be ahead of the
    /// database); browsers re-report on their next heartbeat.
    pub fn reset(&mut self) {
        *self = Visitors::new(self.grace, self.clock.clone());
    }

    /// Lets go of visitors whose data is about to be erased: their live presence ends (agents
    /// see them leave) and nothing of them is kept to be written later. A browser still open
    /// counts as a new visitor on its next report.
    pub fn forget_for_erasure(&mut self, ids: &[i64]) {
        for id in ids {
            if self.live.remove(id).is_some() {
                self.left.push(*id);
            }
            self.dirty.remove(id);
        }
        self.by_key.retain(|_, v| !ids.contains(v));
        self.earlier_today.retain(|_, (v, _)| !ids.contains(v));
        self.by_vid.retain(|_, v| !ids.contains(v));
        self.by_chat.retain(|_, v| !ids.contains(v));
    }

    /// Whether anyone is being watched (the sweep has work).
    pub fn any(&self) -> bool {
        !self.live.is_empty()
    }

    /// The rules changed: read them again before the next evaluation.
    pub fn rules_changed(&mut self) {
        self.rules_loaded = false;
    }

    /// A live visitor's browser: their anonymous key and current visit (to block them).
    pub fn browser_of(&self, visitor_id: i64) -> Option<([u8; 16], i64)> {
        self.live.get(&visitor_id).map(|l| (l.key, l.visit_id))
    }

    /// The live visitor in a chat, if they are still on the site.
    pub fn in_chat(&self, conversation_id: i64) -> Option<i64> {
        self.by_chat.get(&conversation_id).copied()
    }

    /// The live visitor with this anonymous key, if any (to link a chat to its visitor).
    pub fn by_key(&self, key: &[u8; 16]) -> Option<i64> {
        self.by_key
            .get(key)
            .copied()
            .filter(|id| self.live.get(id).is_some_and(|l| !l.gone))
    }
}

impl Visitors {
    /// Handles one report from a browser. `inviter`: the name of an agent who takes chats
    /// now (an automatic invitation nobody can answer is not made).
    pub fn track(
        &mut self,
        ledger: &mut dyn VisitLedger,
        ev: TrackEvent,
        inviter: Option<String>,
    ) -> Result<TrackReply> {
        self.roll_day(ev.at);
        if !self.rules_loaded {
            self.rules = ledger.rules()?;
            self.matchers = ledger.matchers()?;
            self.weights = ledger.relevance_weights()?;
            self.rules_loaded = true;
        }
        let found = self.find_live(&ev);
        match ev.kind {
            TrackKind::View(ref view) => {
                let id = match found {
                    Some(id) => id,
                    None => self.start_visit(ledger, &ev, view)?,
                };
                self.link_vid(ledger, id, &ev)?;
                let id = self.current_id(id, &ev);
                self.page_view(ledger, id, &ev, view)?;
                self.evaluate_rules(ledger, id, ev.at, inviter.as_deref())?;
                Ok(TrackReply::Stored(self.offer(id)))
            }
            TrackKind::Ping => {
                let Some(id) = found.filter(|id| self.knows_pv(*id, &ev.pv)) else {
                    return Ok(TrackReply::Again);
                };
                self.alive(id, ev.at);
                self.link_vid(ledger, id, &ev)?;
                let id = self.current_id(id, &ev);
                self.evaluate_rules(ledger, id, ev.at, inviter.as_deref())?;
                Ok(TrackReply::Stored(self.offer(id)))
            }
            TrackKind::Leave => {
                if let Some(id) = found
                    && let Some(l) = self.live.get_mut(&id)
                {
                    l.last_seen = ev.at;
                    if let Some(p) = l.pages.last_mut().filter(|p| p.pv == ev.pv) {
                        let secs = (ev.at - p.at).max(0);
                        p.seconds = Some(secs);
                        ledger.set_page_seconds(p.view_id, secs)?;
                    }
                    ledger.touch_visit(l.visit_id, ev.at, l.page_count)?;
                }
                Ok(TrackReply::Stored(None))
            }
            TrackKind::Goal {
                ref name,
                value_cents,
            } => {
                let goal = self.matchers.goal_named(name);
                if let (Some(id), Some((goal_id, default))) = (found, goal)
                    && let Some(l) = self.live.get(&id)
                {
                    let value = value_cents.unwrap_or(default);
                    ledger.convert(l.visit_id, goal_id, value, ev.at)?;
                    self.goal_reached(id, ev.at);
                }
                Ok(TrackReply::Stored(None))
            }
            TrackKind::Invite {
                id: invite_id,
                result,
            } => {
                if let Some(id) = found
                    && let Some(l) = self.live.get_mut(&id)
                    && let Some(inv) = l.invite.as_mut().filter(|i| i.id == invite_id)
                {
                    // Only forward moves: pending -> shown -> accepted | dismissed.
                    let allowed = matches!(
                        (inv.state, result),
                        ("pending", _) | ("shown", "accepted" | "dismissed")
                    );
                    if allowed {
                        inv.state = result;
                        ledger.set_invitation_state(invite_id, result)?;
                        self.dirty.insert(id);
                    }
                }
                Ok(TrackReply::Stored(None))
            }
        }
    }

    /// The frames for agents of what changed since the last batch: visitors who left, and
    /// visitors whose page, chat, invitation or relevance changed.
    pub fn news(&mut self, status_of: impl Fn(i64) -> Option<Status>) -> Vec<(i64, Out)> {
        self.follow_chats(status_of);
        self.frames()
    }

    /// What [`Visitors::news`] does when no agent may see the visitor list: the chats' states
    /// are followed, but no frame is built for nobody (at 30,000 page views/s that was a
    /// visitor frame encoded per view). An agent who comes later gets the whole list after
    /// their `hello`, so nothing they should see is lost.
    pub fn drop_news(&mut self, status_of: impl Fn(i64) -> Option<Status>) {
        self.follow_chats(status_of);
        self.left.clear();
        self.dirty.clear();
    }

    /// Follows the state of the chats of live visitors (a closed one is let go of).
    fn follow_chats(&mut self, status_of: impl Fn(i64) -> Option<Status>) {
        let chats: Vec<(i64, i64)> = self.by_chat.iter().map(|(c, v)| (*c, *v)).collect();
        for (conv, vid) in chats {
            let status = status_of(conv).map_or("closed", Status::as_str);
            if let Some(l) = self.live.get_mut(&vid)
                && l.chat.is_some_and(|(c, s)| c == conv && s != status)
            {
                l.chat = Some((conv, status));
                self.dirty.insert(vid);
            }
            if status == "closed" {
                self.by_chat.remove(&conv);
            }
        }
    }

    fn frames(&mut self) -> Vec<(i64, Out)> {
        let mut news = Vec::new();
        for id in std::mem::take(&mut self.left) {
            if self.live.get(&id).is_none_or(|l| l.gone) {
                news.push((id, Out::VisitorLeft { visitor_id: id }));
            }
        }
        let now = self.clock.now();
        for id in std::mem::take(&mut self.dirty) {
            if let Some(v) = self.visitor_out(id) {
                if let Some(l) = self.live.get_mut(&id) {
                    l.relevance = v.relevance;
                }
                let frame = Out::Visitor {
                    now,
                    visitor: Box::new(v),
                };
                news.push((id, frame));
            }
        }
        news
    }

    /// Every live visitor in one frame (after a failed batch, when the list was emptied).
    pub fn visitors_frame(&self) -> Out {
        let (visitors, _) = self.visitor_part(i64::MIN, usize::MAX);
        Out::Visitors {
            now: self.clock.now(),
            visitors,
            more: false,
        }
    }

    /// Up to `n` live visitors with ids above `after`, by id, and whether more follow.
    pub fn visitor_part(&self, after: i64, n: usize) -> (Vec<VisitorOut>, bool) {
        let mut ids: Vec<i64> = self
            .live
            .iter()
            .filter(|(id, l)| **id > after && !l.gone)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        let more = ids.len() > n;
        let part = ids
            .into_iter()
            .take(n)
            .filter_map(|id| self.visitor_out(id))
            .collect();
        (part, more)
    }

    fn visitor_out(&self, id: i64) -> Option<VisitorOut> {
        let l = self.live.get(&id).filter(|l| !l.gone)?;
        let relevance = self.relevance_of(l, self.clock.now());
        let pages: Vec<PageOut> = l
            .pages
            .iter()
            .map(|p| PageOut {
                url: p.url.clone(),
                title: p.title.clone(),
                at: p.at,
                seconds: p.seconds,
            })
            .collect();
        Some(VisitorOut {
            visitor_id: id,
            site_key: l.site_key.clone(),
            mode: if l.consented {
                "consented"
            } else {
                "anonymous"
            },
            started_at: l.started_at,
            last_seen: l.last_seen,
            page: pages.last().cloned().map(|mut p| {
                p.seconds = None;
                p
            }),
            pages,
            entry: l.entry.clone(),
            referrer: l.referrer.url.clone(),
            referrer_kind: l.referrer.kind,
            referrer_host: l.referrer.host.clone(),
            campaign: (!l.campaign.is_empty()).then(|| l.campaign.clone()),
            browser: l.agent.browser.clone(),
            os: l.agent.os.clone(),
            device: l.agent.device,
            lang: l.lang.clone(),
            screen: l.screen.clone(),
            country: l.country.clone(),
            visits: l.visits,
            relevance: relevance.score,
            relevance_why: relevance.why,
            chat: l.chat.map(|(conversation_id, status)| VisitorChat {
                conversation_id,
                status,
            }),
            invite: l.invite.as_ref().map(|i| InviteOut {
                id: i.id,
                state: i.state,
                agent_name: i.agent_name.clone(),
                text: i.text.clone(),
                rule_id: i.rule_id,
            }),
        })
    }
}

#[cfg(test)]
mod tests;

impl Visitors {
    /// The visitor's relevance now (see `model::relevance`): what the visit shows, under the
    /// site's weights.
    pub(super) fn relevance_of(&self, l: &Live, now: i64) -> Relevance {
        let signals = Signals {
            pages: l.page_count,
            seconds: now - l.started_at,
            campaign: !l.campaign.campaign.is_empty() || !l.campaign.source.is_empty(),
            goals: l.goals,
            consented: l.consented,
            visits: l.visits,
            earlier_chats: l.earlier_chats,
        };
        let w = self.weights.get(&l.site_key).copied().unwrap_or_default();
        relevance::score(&signals, &w)
    }

    /// Sends the visitor again when their score moved (time passing, a goal): the list and
    /// the agents' alarms follow live.
    fn rescore(&mut self, id: i64, now: i64) {
        let Some(l) = self.live.get(&id) else { return };
        let score = self.relevance_of(l, now).score;
        if let Some(l) = self.live.get_mut(&id)
            && l.relevance != score
        {
            l.relevance = score;
            self.dirty.insert(id);
        }
    }

    /// A goal was reached in the visit.
    fn goal_reached(&mut self, id: i64, now: i64) {
        if let Some(l) = self.live.get_mut(&id) {
            l.goals += 1;
        }
        self.rescore(id, now);
    }
}
