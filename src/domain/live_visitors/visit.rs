//! Visits: who a report is from (by anonymous daily key or, consented, by the id their
//! browser keeps), a new visit after 30 minutes of silence, page views with time on page,
//! campaign attribution and goals reached by address.

use super::{
    LIVE_PAGES, Live, LivePage, PageView, TrackEvent, VISIT_TIMEOUT, VisitLedger, Visitors,
};
use crate::error::Result;
use crate::store::visits::NewVisit;
use std::collections::{HashMap, HashSet};

impl Visitors {
    /// A new UTC day: yesterday's keys cannot match any more, forget them.
    pub(super) fn roll_day(&mut self, at: i64) {
        let day = at.div_euclid(86_400);
        if day != self.day {
            self.day = day;
            self.earlier_today.clear();
            let live = &self.live;
            self.by_key.retain(|_, id| live.contains_key(id));
        }
    }

    pub(super) fn find_live(&self, ev: &TrackEvent) -> Option<i64> {
        let v = self;
        let by_vid = ev.vid.as_ref().and_then(|h| v.by_vid.get(h).copied());
        let id = by_vid.or_else(|| v.by_key.get(&ev.key).copied())?;
        let l = v.live.get(&id)?;
        // A visit ends after 30 minutes of silence; the next page view starts a new one.
        (l.site_key == ev.site_key && ev.at - l.last_seen <= VISIT_TIMEOUT).then_some(id)
    }

    pub(super) fn knows_pv(&self, id: i64, pv: &str) -> bool {
        self.live
            .get(&id)
            .is_some_and(|l| l.pages.iter().any(|p| p.pv == pv))
    }

    /// After a merge the visitor may have a new id; find it again.
    pub(super) fn current_id(&self, id: i64, ev: &TrackEvent) -> i64 {
        if self.live.contains_key(&id) {
            return id;
        }
        ev.vid
            .as_ref()
            .and_then(|h| self.by_vid.get(h).copied())
            .unwrap_or(id)
    }

    pub(super) fn alive(&mut self, id: i64, at: i64) {
        if let Some(l) = self.live.get_mut(&id) {
            l.last_seen = at;
            l.beat = self.clock.instant();
            if l.gone {
                l.gone = false;
                self.dirty.insert(id);
            }
        }
        self.rescore(id, at);
    }

    pub(super) fn start_visit(
        &mut self,
        ledger: &mut dyn VisitLedger,
        ev: &TrackEvent,
        view: &PageView,
    ) -> Result<i64> {
        // Who is it? A consented visitor by the id their browser keeps; otherwise the
        // visitor this key belonged to earlier today; otherwise someone new.
        let known = match (&ev.vid, ev.consented_site) {
            (Some(h), true) => ledger.visitor_by_vid(h)?,
            _ => None,
        };
        let known = known.or_else(|| {
            let id = self.by_key.get(&ev.key)?;
            self.live.get(id).map(|l| (l.visitor_id, l.visits))
        });
        let known = known.or_else(|| self.earlier_today.get(&ev.key).copied());
        let consented = ev.consented_site && ev.vid.is_some();
        let visitor_id = match known {
            Some((id, _)) => id,
            None => ledger.new_visitor(
                &ev.site_key,
                if consented { "consented" } else { "anonymous" },
                if consented { ev.vid.as_deref() } else { None },
                ev.at,
            )?,
        };
        let visits = ledger.count_visit(visitor_id, ev.at)?;
        // Earlier chats count for relevance only where the visitor is recognised.
        let earlier_chats = if consented {
            ledger.earlier_chats(visitor_id)?
        } else {
            0
        };
        let utm = &view.campaign;
        let visit_id = ledger.insert_visit(&NewVisit {
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
        })?;
        let utm3 = [
            utm.source.as_str(),
            utm.medium.as_str(),
            utm.campaign.as_str(),
        ];
        if let Some(campaign) = self.matchers.campaign_for(utm3, ev.at) {
            ledger.attribute(visit_id, campaign)?;
        }
        // An earlier visit of the same visitor may still be in memory: replace it.
        if let Some(old) = self.live.remove(&visitor_id) {
            self.forget(&old);
            if !old.gone {
                self.left.push(visitor_id);
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
            ui_lang: view.ui_lang.clone(),
            screen: view.screen.clone(),
            country: view.country.clone(),
            visits,
            goals: 0,
            earlier_chats,
            relevance: 0,
            chat: None,
            invite: None,
            fired_visit: HashSet::new(),
            fired_page: HashSet::new(),
            held_since: HashMap::new(),
        };
        self.by_key.insert(ev.key, visitor_id);
        if let Some(h) = &live.vid {
            self.by_vid.insert(h.clone(), visitor_id);
        }
        self.live.insert(visitor_id, live);
        Ok(visitor_id)
    }

    pub(super) fn forget(&mut self, l: &Live) {
        let v = &mut *self;
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
    pub(super) fn link_vid(
        &mut self,
        ledger: &mut dyn VisitLedger,
        id: i64,
        ev: &TrackEvent,
    ) -> Result<()> {
        let Some(h) = ev.vid.as_ref().filter(|_| ev.consented_site) else {
            return Ok(());
        };
        let Some(l) = self.live.get(&id) else {
            return Ok(());
        };
        if l.vid.as_ref() == Some(h) {
            return Ok(());
        }
        match ledger.visitor_by_vid(h)? {
            Some((other, _)) if other != id => {
                let Some(mut l) = self.live.remove(&id) else {
                    return Ok(());
                };
                self.forget(&l);
                ledger.move_visit(l.visit_id, id, other)?;
                l.visits = ledger.count_visit(other, ev.at)?;
                l.visitor_id = other;
                if let Some(old) = self.live.remove(&other) {
                    self.forget(&old);
                }
                self.left.push(id);
                self.adopt(l, h.clone());
            }
            Some(_) => {}
            None => {
                ledger.set_vid(id, h)?;
                if let Some(l) = self.live.remove(&id) {
                    self.forget(&l);
                    self.adopt(l, h.clone());
                }
            }
        }
        Ok(())
    }

    pub(super) fn adopt(&mut self, mut l: Live, vid: Vec<u8>) {
        let id = l.visitor_id;
        l.consented = true;
        l.vid = Some(vid.clone());
        let v = &mut *self;
        v.by_key.insert(l.key, id);
        v.by_vid.insert(vid, id);
        if let Some((conv, _)) = l.chat {
            v.by_chat.insert(conv, id);
        }
        v.live.insert(id, l);
        v.dirty.insert(id);
    }

    pub(super) fn page_view(
        &mut self,
        ledger: &mut dyn VisitLedger,
        id: i64,
        ev: &TrackEvent,
        view: &PageView,
    ) -> Result<()> {
        self.alive(id, ev.at);
        let Some(l) = self.live.get_mut(&id) else {
            return Ok(());
        };
        // The same page load reporting again (after "again"): nothing new to store.
        if l.pages.iter().any(|p| p.pv == ev.pv) {
            self.dirty.insert(id);
            return Ok(());
        }
        if let Some(prev) = l.pages.last_mut()
            && prev.seconds.is_none()
        {
            let secs = (ev.at - prev.at).max(0);
            prev.seconds = Some(secs);
            ledger.set_page_seconds(prev.view_id, secs)?;
        }
        if !view.ui_lang.is_empty() {
            l.ui_lang.clone_from(&view.ui_lang);
        }
        let page_id = ledger.page_id(&view.url, &view.title)?;
        let view_id = ledger.insert_page_view(l.visit_id, page_id, ev.at)?;
        for (goal_id, value) in self.matchers.goals_for_url(&view.url) {
            ledger.convert(l.visit_id, goal_id, value, ev.at)?;
            l.goals += 1;
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
        ledger.touch_visit(l.visit_id, ev.at, l.page_count)?;
        self.dirty.insert(id);
        Ok(())
    }
}
