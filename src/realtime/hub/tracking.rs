//! Live visitors in the hub: page views and heartbeats come in (group-committed with the rest
//! of the batch), agents see who is on the site, and invitations go out by hand or by rule.
//!
//! A visitor is found by their anonymous daily key (or, in consented mode, by the hash of the
//! id their browser keeps). A visit ends after 30 minutes without a sign of life; a visitor
//! leaves the live list after the grace period without a heartbeat.

use super::{ConnId, Hub, Outbox, Status};
use crate::error::{Code, Result};
use crate::i18n::{self, Lang};
use crate::model::tracking::{Agent, Campaign, Facts, Referrer};
use crate::realtime::protocol::{InviteOut, Out, PageOut, VisitorChat, VisitorOut};
use crate::store::visits::{self as vstore, NewVisit, Rule};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

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
pub(super) struct Live {
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
    screen: String,
    country: Option<String>,
    visits: i64,
    chat: Option<(i64, &'static str)>,
    invite: Option<LiveInvite>,
    /// Rules fired in this visit, and on the current page.
    fired_visit: HashSet<i64>,
    fired_page: HashSet<i64>,
    /// When each rule's conditions first held (its delay counts from then).
    held_since: HashMap<i64, i64>,
}

/// The hub's visitor state.
pub(super) struct Visitors {
    grace: Duration,
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
    /// Visitors whose frame must go out at the end of the batch.
    dirty: HashSet<i64>,
    left: Vec<i64>,
}

impl Visitors {
    pub(super) fn new(grace: Duration) -> Visitors {
        Visitors {
            grace,
            live: HashMap::new(),
            by_key: HashMap::new(),
            earlier_today: HashMap::new(),
            day: 0,
            by_vid: HashMap::new(),
            by_chat: HashMap::new(),
            rules: Vec::new(),
            rules_loaded: false,
            matchers: Default::default(),
            dirty: HashSet::new(),
            left: Vec::new(),
        }
    }

    /// Forgets everything live (after a failed commit the memory may be ahead of the
    /// database); browsers re-report on their next heartbeat.
    pub(super) fn reset(&mut self) {
        *self = Visitors::new(self.grace);
    }

    /// Whether anyone is being watched (the sweep has work).
    pub(super) fn any(&self) -> bool {
        !self.live.is_empty()
    }

    /// The rules changed: read them again before the next evaluation.
    pub(super) fn rules_changed(&mut self) {
        self.rules_loaded = false;
    }

    /// The live visitor with this anonymous key, if any (to link a chat to its visitor).
    pub(super) fn by_key(&self, key: &[u8; 16]) -> Option<i64> {
        self.by_key
            .get(key)
            .copied()
            .filter(|id| self.live.get(id).is_some_and(|l| !l.gone))
    }
}

impl Hub {
    /// Handles one report; the answer goes out after the commit.
    pub(super) fn track(
        &mut self,
        c: &Connection,
        ev: TrackEvent,
        reply: tokio::sync::oneshot::Sender<TrackReply>,
        out: &mut Outbox,
    ) {
        let answer = match self.track_event(c, ev) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "storing a page view failed");
                TrackReply::Failed
            }
        };
        out.after_commit.push(Box::new(move |committed| {
            let _ = reply.send(if committed {
                answer
            } else {
                TrackReply::Failed
            });
        }));
    }

    fn track_event(&mut self, c: &Connection, ev: TrackEvent) -> Result<TrackReply> {
        self.roll_day(ev.at);
        if !self.visitors.rules_loaded {
            self.visitors.rules = vstore::list_rules(c)?;
            self.visitors.matchers = crate::store::campaigns::matchers(c)?;
            self.visitors.rules_loaded = true;
        }
        let found = self.find_live(&ev);
        match ev.kind {
            TrackKind::View(ref view) => {
                let id = match found {
                    Some(id) => id,
                    None => self.start_visit(c, &ev, view)?,
                };
                self.link_vid(c, id, &ev)?;
                let id = self.current_id(id, &ev);
                self.page_view(c, id, &ev, view)?;
                self.evaluate_rules(c, id, ev.at)?;
                Ok(TrackReply::Stored(self.offer(id)))
            }
            TrackKind::Ping => {
                let Some(id) = found.filter(|id| self.knows_pv(*id, &ev.pv)) else {
                    return Ok(TrackReply::Again);
                };
                self.alive(id, ev.at);
                self.link_vid(c, id, &ev)?;
                let id = self.current_id(id, &ev);
                self.evaluate_rules(c, id, ev.at)?;
                Ok(TrackReply::Stored(self.offer(id)))
            }
            TrackKind::Leave => {
                if let Some(id) = found
                    && let Some(l) = self.visitors.live.get_mut(&id)
                {
                    l.last_seen = ev.at;
                    if let Some(p) = l.pages.last_mut().filter(|p| p.pv == ev.pv) {
                        let secs = (ev.at - p.at).max(0);
                        p.seconds = Some(secs);
                        vstore::set_page_seconds(c, p.view_id, secs)?;
                    }
                    vstore::touch_visit(c, l.visit_id, ev.at, l.page_count)?;
                }
                Ok(TrackReply::Stored(None))
            }
            TrackKind::Goal {
                ref name,
                value_cents,
            } => {
                let goal = self.visitors.matchers.goal_named(name);
                if let (Some(id), Some((goal_id, default))) = (found, goal)
                    && let Some(l) = self.visitors.live.get(&id)
                {
                    let value = value_cents.unwrap_or(default);
                    crate::store::campaigns::convert(c, l.visit_id, goal_id, value, ev.at)?;
                }
                Ok(TrackReply::Stored(None))
            }
            TrackKind::Invite {
                id: invite_id,
                result,
            } => {
                if let Some(id) = found
                    && let Some(l) = self.visitors.live.get_mut(&id)
                    && let Some(inv) = l.invite.as_mut().filter(|i| i.id == invite_id)
                {
                    // Only forward moves: pending -> shown -> accepted | dismissed.
                    let allowed = matches!(
                        (inv.state, result),
                        ("pending", _) | ("shown", "accepted" | "dismissed")
                    );
                    if allowed {
                        inv.state = result;
                        vstore::set_invitation_state(c, invite_id, result)?;
                        self.visitors.dirty.insert(id);
                    }
                }
                Ok(TrackReply::Stored(None))
            }
        }
    }

    /// A new UTC day: yesterday's keys cannot match any more, forget them.
    fn roll_day(&mut self, at: i64) {
        let day = at.div_euclid(86_400);
        if day != self.visitors.day {
            self.visitors.day = day;
            self.visitors.earlier_today.clear();
            let live = &self.visitors.live;
            self.visitors.by_key.retain(|_, id| live.contains_key(id));
        }
    }

    fn find_live(&self, ev: &TrackEvent) -> Option<i64> {
        let v = &self.visitors;
        let by_vid = ev.vid.as_ref().and_then(|h| v.by_vid.get(h).copied());
        let id = by_vid.or_else(|| v.by_key.get(&ev.key).copied())?;
        let l = v.live.get(&id)?;
        // A visit ends after 30 minutes of silence; the next page view starts a new one.
        (l.site_key == ev.site_key && ev.at - l.last_seen <= VISIT_TIMEOUT).then_some(id)
    }

    fn knows_pv(&self, id: i64, pv: &str) -> bool {
        self.visitors
            .live
            .get(&id)
            .is_some_and(|l| l.pages.iter().any(|p| p.pv == pv))
    }

    /// After a merge the visitor may have a new id; find it again.
    fn current_id(&self, id: i64, ev: &TrackEvent) -> i64 {
        if self.visitors.live.contains_key(&id) {
            return id;
        }
        ev.vid
            .as_ref()
            .and_then(|h| self.visitors.by_vid.get(h).copied())
            .unwrap_or(id)
    }

    fn alive(&mut self, id: i64, at: i64) {
        if let Some(l) = self.visitors.live.get_mut(&id) {
            l.last_seen = at;
            l.beat = self.clock.instant();
            if l.gone {
                l.gone = false;
                self.visitors.dirty.insert(id);
            }
        }
    }

    fn start_visit(&mut self, c: &Connection, ev: &TrackEvent, view: &PageView) -> Result<i64> {
        // Who is it? A consented visitor by the id their browser keeps; otherwise the
        // visitor this key belonged to earlier today; otherwise someone new.
        let known = match (&ev.vid, ev.consented_site) {
            (Some(h), true) => vstore::visitor_by_vid(c, h)?,
            _ => None,
        };
        let known = known.or_else(|| {
            let id = self.visitors.by_key.get(&ev.key)?;
            self.visitors.live.get(id).map(|l| (l.visitor_id, l.visits))
        });
        let known = known.or_else(|| self.visitors.earlier_today.get(&ev.key).copied());
        let consented = ev.consented_site && ev.vid.is_some();
        let visitor_id = match known {
            Some((id, _)) => id,
            None => vstore::insert_visitor(
                c,
                &ev.site_key,
                if consented { "consented" } else { "anonymous" },
                if consented { ev.vid.as_deref() } else { None },
                ev.at,
            )?,
        };
        let visits = vstore::count_visit(c, visitor_id, ev.at)?;
        let utm = &view.campaign;
        let visit_id = vstore::insert_visit(
            c,
            &NewVisit {
                visitor_id,
                site_key: &ev.site_key,
                at: ev.at,
                ip: &view.ip,
                browser: &view.agent.browser,
                os: &view.agent.os,
                device: view.agent.device,
                lang: &view.lang,
                screen: &view.screen,
                country: view.country.as_deref().unwrap_or(""),
                referrer: &view.referrer.url,
                referrer_kind: view.referrer.kind,
                utm: [
                    &utm.source,
                    &utm.medium,
                    &utm.campaign,
                    &utm.term,
                    &utm.content,
                ],
            },
        )?;
        let utm3 = [
            utm.source.as_str(),
            utm.medium.as_str(),
            utm.campaign.as_str(),
        ];
        if let Some(campaign) = self.visitors.matchers.campaign_for(utm3, ev.at) {
            crate::store::campaigns::attribute(c, visit_id, campaign)?;
        }
        // An earlier visit of the same visitor may still be in memory: replace it.
        if let Some(old) = self.visitors.live.remove(&visitor_id) {
            self.forget(&old);
            if !old.gone {
                self.visitors.left.push(visitor_id);
            }
        }
        let live = Live {
            visitor_id,
            visit_id,
            site_key: ev.site_key.clone(),
            consented,
            key: ev.key,
            vid: if consented { ev.vid.clone() } else { None },
            started_at: ev.at,
            last_seen: ev.at,
            beat: self.clock.instant(),
            gone: false,
            pages: Vec::new(),
            page_count: 0,
            entry: view.url.clone(),
            referrer: view.referrer.clone(),
            campaign: view.campaign.clone(),
            agent: view.agent.clone(),
            lang: view.lang.clone(),
            screen: view.screen.clone(),
            country: view.country.clone(),
            visits,
            chat: None,
            invite: None,
            fired_visit: HashSet::new(),
            fired_page: HashSet::new(),
            held_since: HashMap::new(),
        };
        self.visitors.by_key.insert(ev.key, visitor_id);
        if let Some(h) = &live.vid {
            self.visitors.by_vid.insert(h.clone(), visitor_id);
        }
        self.visitors.live.insert(visitor_id, live);
        Ok(visitor_id)
    }

    fn forget(&mut self, l: &Live) {
        let v = &mut self.visitors;
        if v.by_key.get(&l.key) == Some(&l.visitor_id) {
            v.by_key.remove(&l.key);
        }
        if let Some(h) = &l.vid
            && v.by_vid.get(h) == Some(&l.visitor_id)
        {
            v.by_vid.remove(h);
        }
        if let Some((conv, _)) = l.chat {
            v.by_chat.remove(&conv);
        }
    }

    /// The visitor opted in on a consented site: remember them by their browser's id from now
    /// on. If that id belongs to an earlier visitor, this visit joins them.
    fn link_vid(&mut self, c: &Connection, id: i64, ev: &TrackEvent) -> Result<()> {
        let Some(h) = ev.vid.as_ref().filter(|_| ev.consented_site) else {
            return Ok(());
        };
        let Some(l) = self.visitors.live.get(&id) else {
            return Ok(());
        };
        if l.vid.as_ref() == Some(h) {
            return Ok(());
        }
        match vstore::visitor_by_vid(c, h)? {
            Some((other, _)) if other != id => {
                let Some(mut l) = self.visitors.live.remove(&id) else {
                    return Ok(());
                };
                self.forget(&l);
                vstore::move_visit(c, l.visit_id, id, other)?;
                l.visits = vstore::count_visit(c, other, ev.at)?;
                l.visitor_id = other;
                if let Some(old) = self.visitors.live.remove(&other) {
                    self.forget(&old);
                }
                self.visitors.left.push(id);
                self.adopt(l, h.clone());
            }
            Some(_) => {}
            None => {
                vstore::set_vid(c, id, h)?;
                if let Some(l) = self.visitors.live.remove(&id) {
                    self.forget(&l);
                    self.adopt(l, h.clone());
                }
            }
        }
        Ok(())
    }

    fn adopt(&mut self, mut l: Live, vid: Vec<u8>) {
        let id = l.visitor_id;
        l.consented = true;
        l.vid = Some(vid.clone());
        let v = &mut self.visitors;
        v.by_key.insert(l.key, id);
        v.by_vid.insert(vid, id);
        if let Some((conv, _)) = l.chat {
            v.by_chat.insert(conv, id);
        }
        v.live.insert(id, l);
        v.dirty.insert(id);
    }

    fn page_view(
        &mut self,
        c: &Connection,
        id: i64,
        ev: &TrackEvent,
        view: &PageView,
    ) -> Result<()> {
        self.alive(id, ev.at);
        let Some(l) = self.visitors.live.get_mut(&id) else {
            return Ok(());
        };
        // The same page load reporting again (after "again"): nothing new to store.
        if l.pages.iter().any(|p| p.pv == ev.pv) {
            self.visitors.dirty.insert(id);
            return Ok(());
        }
        if let Some(prev) = l.pages.last_mut()
            && prev.seconds.is_none()
        {
            let secs = (ev.at - prev.at).max(0);
            prev.seconds = Some(secs);
            vstore::set_page_seconds(c, prev.view_id, secs)?;
        }
        let page_id = vstore::page_id(c, &view.url, &view.title)?;
        let view_id = vstore::insert_page_view(c, l.visit_id, page_id, ev.at)?;
        for (goal_id, value) in self.visitors.matchers.goals_for_url(&view.url) {
            crate::store::campaigns::convert(c, l.visit_id, goal_id, value, ev.at)?;
        }
        l.pages.push(LivePage {
            pv: ev.pv.clone(),
            view_id,
            url: view.url.clone(),
            title: view.title.clone(),
            at: ev.at,
            seconds: None,
        });
        if l.pages.len() > LIVE_PAGES {
            l.pages.remove(0);
        }
        l.page_count += 1;
        l.fired_page.clear();
        l.held_since.clear();
        vstore::touch_visit(c, l.visit_id, ev.at, l.page_count)?;
        self.visitors.dirty.insert(id);
        Ok(())
    }

    /// The invitation to hand to the widget now, once.
    fn offer(&mut self, id: i64) -> Option<Offer> {
        let l = self.visitors.live.get_mut(&id)?;
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
    fn evaluate_rules(&mut self, c: &Connection, id: i64, at: i64) -> Result<()> {
        // An invitation nobody can answer helps no one.
        let Some(agent_name) = self
            .agents
            .values()
            .find(|a| a.takes_chats())
            .map(|a| a.name.clone())
        else {
            return Ok(());
        };
        let Some(l) = self.visitors.live.get_mut(&id) else {
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
        };
        let mut fire = None;
        for r in self
            .visitors
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
        let invite_id = vstore::insert_invitation(c, l.visit_id, None, Some(rule_id), &text, at)?;
        l.invite = Some(LiveInvite {
            id: invite_id,
            state: "pending",
            agent_name,
            text,
            rule_id: Some(rule_id),
            offered: false,
        });
        self.visitors.dirty.insert(id);
        Ok(())
    }

    /// An agent invites a visitor.
    pub(super) fn invite(
        &mut self,
        c: &Connection,
        conn: ConnId,
        agent_id: i64,
        visitor_id: i64,
        text: Option<String>,
        out: &mut Outbox,
    ) -> Result<()> {
        let agent_name = self
            .agents
            .get(&agent_id)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let Some(l) = self.visitors.live.get_mut(&visitor_id).filter(|l| !l.gone) else {
            out.send(conn, &Out::error(Code::NotFound, "this visitor has left"));
            return Ok(());
        };
        if l.chat.is_some_and(|(_, s)| s != "closed") {
            out.send(
                conn,
                &Out::error(Code::InChat, "this visitor is in a chat already"),
            );
            return Ok(());
        }
        // An invitation the widget received but never showed (its chat panel was open, say)
        // does not block a new one; one waiting to be delivered or on screen does.
        let open = |i: &LiveInvite| i.state == "shown" || (i.state == "pending" && !i.offered);
        if l.invite.as_ref().is_some_and(open) {
            out.send(
                conn,
                &Out::error(Code::AlreadyInvited, "this visitor has an open invitation"),
            );
            return Ok(());
        }
        let lang = if l.lang.to_ascii_lowercase().starts_with("de") {
            Lang::De
        } else {
            Lang::En
        };
        let text = match text.as_deref().map(str::trim) {
            None | Some("") => i18n::t(lang, "invite.default").to_string(),
            Some(t) if t.chars().count() > MAX_INVITE_TEXT => {
                out.send(
                    conn,
                    &Out::error(
                        Code::InvalidInput,
                        "the invitation may have at most 500 characters",
                    ),
                );
                return Ok(());
            }
            Some(t) => t.to_string(),
        };
        let id = vstore::insert_invitation(
            c,
            l.visit_id,
            Some(agent_id),
            None,
            &text,
            self.clock.now(),
        )?;
        l.invite = Some(LiveInvite {
            id,
            state: "pending",
            agent_name,
            text,
            rule_id: None,
            offered: false,
        });
        self.visitors.dirty.insert(visitor_id);
        Ok(())
    }

    /// A visitor with this key started a chat: link the two, and an open invitation counts
    /// as accepted.
    pub(super) fn chat_started(
        &mut self,
        c: &Connection,
        key: Option<&[u8; 16]>,
        conversation_id: i64,
    ) -> Result<()> {
        let Some(id) = key.and_then(|k| self.visitors.by_key(k)) else {
            return Ok(());
        };
        let Some(l) = self.visitors.live.get_mut(&id) else {
            return Ok(());
        };
        vstore::link_conversation(c, conversation_id, id, l.visit_id)?;
        if let Some((old, _)) = l.chat {
            self.visitors.by_chat.remove(&old);
        }
        l.chat = Some((conversation_id, "waiting"));
        if let Some(inv) = l
            .invite
            .as_mut()
            .filter(|i| matches!(i.state, "pending" | "shown"))
        {
            inv.state = "accepted";
            vstore::set_invitation_state(c, inv.id, "accepted")?;
        }
        self.visitors.by_chat.insert(conversation_id, id);
        self.visitors.dirty.insert(id);
        Ok(())
    }

    /// Ends visits of visitors who went silent; forgets visits older than the visit timeout.
    pub(super) fn sweep(&mut self, c: &Connection) -> Result<()> {
        let grace = self.visitors.grace;
        let (at, beat_now) = (self.clock.now(), self.clock.instant());
        let mut silent = Vec::new();
        let mut expired = Vec::new();
        for (id, l) in &self.visitors.live {
            if !l.gone && beat_now.saturating_duration_since(l.beat) > grace {
                silent.push(*id);
            } else if l.gone && at - l.last_seen > VISIT_TIMEOUT {
                expired.push(*id);
            }
        }
        for id in silent {
            let Some(l) = self.visitors.live.get_mut(&id) else {
                continue;
            };
            l.gone = true;
            if let Some(p) = l.pages.last_mut()
                && p.seconds.is_none()
            {
                let secs = (l.last_seen - p.at).max(0);
                p.seconds = Some(secs);
                vstore::set_page_seconds(c, p.view_id, secs)?;
            }
            vstore::touch_visit(c, l.visit_id, l.last_seen, l.page_count)?;
            vstore::touch_visitor(c, l.visitor_id, l.last_seen)?;
            if let Some(inv) = l
                .invite
                .as_mut()
                .filter(|i| matches!(i.state, "pending" | "shown"))
            {
                inv.state = "dismissed";
                vstore::set_invitation_state(c, inv.id, "expired")?;
            }
            self.visitors.left.push(id);
            self.visitors.dirty.remove(&id);
        }
        for id in expired {
            if let Some(l) = self.visitors.live.remove(&id) {
                self.forget(&l);
                if at.div_euclid(86_400) == self.visitors.day {
                    self.visitors
                        .earlier_today
                        .insert(l.key, (l.visitor_id, l.visits));
                }
            }
        }
        Ok(())
    }

    /// Sends the visitors that changed in this batch (and those who left) to every agent,
    /// after bringing their chat state up to date.
    pub(super) fn broadcast_visitors(&mut self, out: &mut Outbox) {
        let chats: Vec<(i64, i64)> = self
            .visitors
            .by_chat
            .iter()
            .map(|(c, v)| (*c, *v))
            .collect();
        for (conv, vid) in chats {
            let status = match self.convs.get(&conv).map(|cv| cv.status) {
                Some(Status::Waiting) => "waiting",
                Some(Status::Open) => "open",
                None => "closed",
            };
            if let Some(l) = self.visitors.live.get_mut(&vid)
                && l.chat.is_some_and(|(c, s)| c == conv && s != status)
            {
                l.chat = Some((conv, status));
                self.visitors.dirty.insert(vid);
            }
            if status == "closed" {
                self.visitors.by_chat.remove(&conv);
            }
        }
        if self.visitors.dirty.is_empty() && self.visitors.left.is_empty() {
            return;
        }
        let agents = self.conns_that_may(crate::model::rights::Permission::VisitorsView);
        // A socket still receiving the list in parts hears of a visitor with the part that
        // holds them.
        let told = |hub: &Hub, id: i64| -> Vec<ConnId> {
            agents
                .iter()
                .copied()
                .filter(|c| {
                    hub.conns
                        .get(c)
                        .is_some_and(|s| !s.backlog.behind_on_visitor(id))
                })
                .collect()
        };
        let at = self.clock.now();
        for id in std::mem::take(&mut self.visitors.left) {
            if self.visitors.live.get(&id).is_none_or(|l| l.gone) {
                out.send_all(told(self, id), &Out::VisitorLeft { visitor_id: id });
            }
        }
        for id in std::mem::take(&mut self.visitors.dirty) {
            if let Some(v) = self.visitor_out(id) {
                out.send_all(
                    told(self, id),
                    &Out::Visitor {
                        now: at,
                        visitor: Box::new(v),
                    },
                );
            }
        }
    }

    /// Every live visitor in one frame (after a failed batch, when the list was emptied).
    pub(super) fn visitors_frame(&self) -> Out {
        let (visitors, _) = self.visitor_part(i64::MIN, usize::MAX);
        Out::Visitors {
            now: self.clock.now(),
            visitors,
            more: false,
        }
    }

    /// Up to `n` live visitors with ids above `after`, by id, and whether more follow.
    pub(super) fn visitor_part(&self, after: i64, n: usize) -> (Vec<VisitorOut>, bool) {
        let mut ids: Vec<i64> = self
            .visitors
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
        let l = self.visitors.live.get(&id).filter(|l| !l.gone)?;
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
