//! The live-visitor rules without sockets or a database: reports in, rows and agents'
//! frames out. The ledger keeps ids in memory and records every write.

use super::*;
use crate::model::tracking::Conditions;
use crate::store::campaigns::Matchers;
use crate::store::visits::{NewInvitation, NewVisit};

#[derive(Default)]
struct Mem {
    next: i64,
    rules: Vec<Rule>,
    writes: Vec<String>,
}

impl Mem {
    fn id(&mut self) -> i64 {
        self.next += 1;
        self.next
    }
}

impl VisitLedger for Mem {
    fn rules(&mut self) -> Result<Vec<Rule>> {
        Ok(self.rules.clone())
    }
    fn matchers(&mut self) -> Result<Matchers> {
        Ok(Matchers::default())
    }
    fn relevance_weights(
        &mut self,
    ) -> Result<std::collections::HashMap<String, crate::model::relevance::Weights>> {
        Ok(Default::default())
    }
    fn earlier_chats(&mut self, _visitor_id: i64) -> Result<i64> {
        Ok(0)
    }
    fn visitor_by_vid(&mut self, _vid: &[u8]) -> Result<Option<(i64, i64)>> {
        Ok(None)
    }
    fn new_visitor(
        &mut self,
        _site: &str,
        mode: &str,
        _vid: Option<&[u8]>,
        _at: i64,
    ) -> Result<i64> {
        let id = self.id();
        self.writes.push(format!("visitor {id} {mode}"));
        Ok(id)
    }
    fn set_vid(&mut self, visitor_id: i64, _v: &[u8]) -> Result<()> {
        self.writes.push(format!("vid {visitor_id}"));
        Ok(())
    }
    fn move_visit(&mut self, visit_id: i64, from: i64, to: i64) -> Result<()> {
        self.writes.push(format!("move {visit_id} {from}->{to}"));
        Ok(())
    }
    fn count_visit(&mut self, _visitor_id: i64, _at: i64) -> Result<i64> {
        Ok(1)
    }
    fn insert_visit(&mut self, v: &NewVisit<'_>) -> Result<i64> {
        let id = self.id();
        self.writes.push(format!("visit {id} of {}", v.visitor_id));
        Ok(id)
    }
    fn attribute(&mut self, visit_id: i64, campaign_id: i64) -> Result<()> {
        self.writes
            .push(format!("attribute {visit_id} {campaign_id}"));
        Ok(())
    }
    fn convert(&mut self, visit_id: i64, goal_id: i64, _v: i64, _at: i64) -> Result<()> {
        self.writes.push(format!("goal {visit_id} {goal_id}"));
        Ok(())
    }
    fn touch_visit(&mut self, visit_id: i64, _last: i64, pages: i64) -> Result<()> {
        self.writes
            .push(format!("touch visit {visit_id} pages {pages}"));
        Ok(())
    }
    fn touch_visitor(&mut self, visitor_id: i64, _last: i64) -> Result<()> {
        self.writes.push(format!("touch visitor {visitor_id}"));
        Ok(())
    }
    fn page_id(&mut self, _url: &str, _title: &str) -> Result<i64> {
        Ok(100)
    }
    fn insert_page_view(&mut self, visit_id: i64, _page: i64, _at: i64) -> Result<i64> {
        let id = self.id();
        self.writes.push(format!("view {id} in {visit_id}"));
        Ok(id)
    }
    fn set_page_seconds(&mut self, view_id: i64, seconds: i64) -> Result<()> {
        self.writes.push(format!("seconds {view_id} {seconds}"));
        Ok(())
    }
    fn insert_invitation(&mut self, n: &NewInvitation<'_>) -> Result<i64> {
        let id = self.id();
        let (agent, rule, text) = (n.agent_id, n.rule_id, n.text);
        self.writes.push(format!(
            "invitation {id} agent {agent:?} rule {rule:?} {text}"
        ));
        Ok(id)
    }
    fn set_invitation_state(&mut self, id: i64, state: &str) -> Result<()> {
        self.writes.push(format!("invitation {id} {state}"));
        Ok(())
    }
    fn link_chat(&mut self, chat: i64, visitor_id: i64, _visit: i64) -> Result<()> {
        self.writes.push(format!("chat {chat} of {visitor_id}"));
        Ok(())
    }
}

fn view(pv: &str, url: &str, at: i64) -> TrackEvent {
    TrackEvent {
        site_key: "site1".into(),
        consented_site: false,
        key: [3; 16],
        vid: None,
        pv: pv.into(),
        at,
        kind: TrackKind::View(Box::new(PageView {
            url: url.into(),
            title: "Title".into(),
            referrer: Referrer {
                kind: "direct",
                url: String::new(),
                host: String::new(),
            },
            campaign: Campaign::default(),
            agent: Agent::default(),
            lang: "de-DE".into(),
            ui_lang: String::new(),
            screen: "1920x1080".into(),
            ip: "192.0.2.0".into(),
            country: None,
        })),
    }
}

fn ping(pv: &str, at: i64) -> TrackEvent {
    TrackEvent {
        kind: TrackKind::Ping,
        ..view(pv, "", at)
    }
}

fn rule(delay_seconds: i64, url: &str) -> Rule {
    Rule {
        id: 9,
        site_key: "site1".into(),
        name: "cart".into(),
        enabled: true,
        text: "Need help?".into(),
        delay_seconds,
        once_per_visit: true,
        conditions: Conditions {
            url: Some(url.into()),
            ..Default::default()
        },
    }
}

fn stored(reply: TrackReply) -> Option<Offer> {
    match reply {
        TrackReply::Stored(offer) => offer,
        other => panic!("not stored: {other:?}"),
    }
}

#[test]
fn a_page_view_starts_a_visit_and_agents_hear_of_it() {
    let mut mem = Mem::default();
    let mut v = Visitors::new(Duration::from_secs(60), Clock::manual());
    stored(
        v.track(&mut mem, view("p1", "https://shop/a", 1_000), None)
            .unwrap(),
    );
    assert_eq!(
        mem.writes[..3],
        ["visitor 1 anonymous", "visit 2 of 1", "view 3 in 2"]
    );
    let news = v.news(|_| None);
    assert_eq!(news.len(), 1);
    let frame: serde_json::Value = serde_json::from_str(&news[0].1.encode()).unwrap();
    assert_eq!(frame["type"], "visitor");
    assert_eq!(frame["visitor"]["pages"][0]["url"], "https://shop/a");
    // A heartbeat for a page load the hub does not know asks the browser to report it again.
    assert!(matches!(
        v.track(&mut mem, ping("other", 1_010), None).unwrap(),
        TrackReply::Again
    ));
    assert!(v.news(|_| None).is_empty(), "nothing changed");
}

#[test]
fn with_nobody_watching_no_frame_is_built_and_a_later_watcher_gets_the_whole_list() {
    let mut mem = Mem::default();
    let mut v = Visitors::new(Duration::from_secs(60), Clock::manual());
    stored(
        v.track(&mut mem, view("p1", "https://shop/a", 1_000), None)
            .unwrap(),
    );
    v.drop_news(|_| None);
    assert!(v.news(|_| None).is_empty(), "what nobody saw is not kept");
    // An agent who says hello now gets the visitor in the whole list.
    let Out::Visitors { visitors, .. } = v.visitors_frame() else {
        panic!("not a list");
    };
    assert_eq!(visitors.len(), 1);
    assert_eq!(visitors[0].pages[0].url, "https://shop/a");
    // A later change is news again.
    stored(
        v.track(&mut mem, view("p2", "https://shop/b", 1_010), None)
            .unwrap(),
    );
    assert_eq!(v.news(|_| None).len(), 1);
}

#[test]
fn a_rule_fires_once_its_conditions_held_for_its_delay_and_someone_can_answer() {
    // (inviter online, page, seconds after the view, expected invitation)
    let cases = [
        (true, "https://shop/cart", 31, true),
        (true, "https://shop/cart", 10, false),
        (true, "https://shop/home", 31, false),
        (false, "https://shop/cart", 31, false),
    ];
    for (online, url, after, fires) in cases {
        let mut mem = Mem {
            rules: vec![rule(30, "*/cart")],
            ..Default::default()
        };
        let mut v = Visitors::new(Duration::from_secs(60), Clock::manual());
        let inviter = || online.then(|| "Anna".to_string());
        stored(
            v.track(&mut mem, view("p1", url, 1_000), inviter())
                .unwrap(),
        );
        let offer = stored(
            v.track(&mut mem, ping("p1", 1_000 + after), inviter())
                .unwrap(),
        );
        assert_eq!(offer.is_some(), fires, "{online} {url} +{after}s");
        if let Some(offer) = offer {
            assert_eq!(
                (offer.agent.as_str(), offer.text.as_str()),
                ("Anna", "Need help?")
            );
            // Handed to the widget once.
            let again = stored(
                v.track(&mut mem, ping("p1", 1_000 + after + 5), inviter())
                    .unwrap(),
            );
            assert!(again.is_none());
        }
    }
}

#[test]
fn an_agent_invitation_is_refused_when_it_cannot_help() {
    let mut mem = Mem::default();
    let mut v = Visitors::new(Duration::from_secs(60), Clock::manual());
    stored(
        v.track(&mut mem, view("p1", "https://shop/a", 1_000), None)
            .unwrap(),
    );
    let code = |r: Option<crate::domain::protocol::Out>| {
        r.map(|o| serde_json::from_str::<serde_json::Value>(&o.encode()).unwrap()["code"].clone())
    };
    let long = "x".repeat(MAX_INVITE_TEXT + 1);
    assert_eq!(
        code(v.invite(&mut mem, 1, "A".into(), 77, None).unwrap()),
        Some("not_found".into())
    );
    assert_eq!(
        code(v.invite(&mut mem, 1, "A".into(), 1, Some(long)).unwrap()),
        Some("invalid_input".into())
    );
    assert_eq!(
        code(v.invite(&mut mem, 1, "A".into(), 1, None).unwrap()),
        None
    );
    assert!(
        mem.writes.last().unwrap().contains("agent Some(1)"),
        "{:?}",
        mem.writes
    );
    // German browser: the default text is German.
    assert!(mem.writes.last().unwrap().ends_with(i18n_default_de()));
    assert_eq!(
        code(v.invite(&mut mem, 1, "A".into(), 1, None).unwrap()),
        Some("already_invited".into())
    );
    v.chat_started(&mut mem, Some(&[3; 16]), 42).unwrap();
    assert_eq!(
        code(v.invite(&mut mem, 1, "A".into(), 1, None).unwrap()),
        Some("in_chat".into())
    );
}

#[test]
fn the_default_invitation_is_in_the_widgets_language_on_the_page() {
    let mut mem = Mem::default();
    let mut v = Visitors::new(Duration::from_secs(60), Clock::manual());
    // A German browser on a French page: the widget speaks French there.
    let mut ev = view("p1", "https://shop/a", 1_000);
    if let TrackKind::View(pv) = &mut ev.kind {
        pv.ui_lang = "fr".into();
    }
    stored(v.track(&mut mem, ev, None).unwrap());
    assert!(
        v.invite(&mut mem, 1, "A".into(), 1, None)
            .unwrap()
            .is_none()
    );
    let fr = crate::i18n::t(crate::i18n::Lang::Fr, "invite.default");
    assert!(mem.writes.last().unwrap().ends_with(fr), "{:?}", mem.writes);
}

fn i18n_default_de() -> &'static str {
    crate::i18n::t(crate::i18n::Lang::De, "invite.default")
}

#[test]
fn a_silent_visitor_leaves_after_the_grace_period_and_their_invitation_expires() {
    let clock = Clock::manual();
    let mut mem = Mem::default();
    let mut v = Visitors::new(Duration::from_secs(60), clock.clone());
    stored(
        v.track(&mut mem, view("p1", "https://shop/a", 1_000), None)
            .unwrap(),
    );
    v.invite(&mut mem, 1, "A".into(), 1, Some("Hi".into()))
        .unwrap();
    v.news(|_| None);
    v.sweep(&mut mem).unwrap();
    assert!(v.news(|_| None).is_empty(), "still within the grace period");
    clock.advance(Duration::from_secs(61));
    mem.writes.clear();
    v.sweep(&mut mem).unwrap();
    assert!(
        mem.writes.iter().any(|w| w.ends_with(" expired")),
        "{:?}",
        mem.writes
    );
    let news = v.news(|_| None);
    let frame: serde_json::Value = serde_json::from_str(&news[0].1.encode()).unwrap();
    assert_eq!(frame["type"], "visitor_left");
}
