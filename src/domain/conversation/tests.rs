//! The conversation rules without sockets or a database: events in, effects and rows out.
//! The ledger here keeps rows in memory and records every write, so a test can say which
//! rows an event writes as well as which frames it sends.

use super::*;
use crate::domain::protocol::{AgentIn, VisitorIn};
use crate::store::chat::NewConversation;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Rows in memory; `writes` lists every write in order, as text.
#[derive(Default)]
struct Mem {
    convs: Vec<(i64, String, Vec<u8>)>,
    seqs: HashMap<i64, i64>,
    departments: HashSet<i64>,
    /// id -> (name, capacity, departments, may chat)
    agents: HashMap<i64, (String, usize, Vec<i64>, bool)>,
    notes: Vec<(i64, String)>,
    /// When each message was written.
    message_at: Vec<i64>,
    writes: Vec<String>,
}

impl Ledger for Mem {
    fn audit(&mut self, _at: i64, actor: &str, action: &str, object: &str) -> Result<()> {
        self.writes.push(format!("audit {actor} {action} {object}"));
        Ok(())
    }
    fn audit_done(&mut self, _at: i64, actor: &str, action: &str, object: &str) -> Result<()> {
        self.writes.push(format!("done {actor} {action} {object}"));
        Ok(())
    }
    fn conversation_by_token(&mut self, token_hash: &[u8]) -> Result<Option<(i64, String)>> {
        let found = self.convs.iter().find(|(_, _, h)| h == token_hash);
        Ok(found.map(|(id, site, _)| (*id, site.clone())))
    }
    fn last_seq(&mut self, id: i64) -> Result<i64> {
        Ok(self.seqs.get(&id).copied().unwrap_or(0))
    }
    fn department_exists(&mut self, id: i64) -> Result<bool> {
        Ok(self.departments.contains(&id))
    }
    fn median_wait(&mut self, _since: i64) -> Result<Option<i64>> {
        Ok(None)
    }
    fn open_chat(&mut self, n: &NewConversation<'_>, dep: Option<i64>) -> Result<i64> {
        let id = self.convs.len() as i64 + 1;
        self.convs
            .push((id, n.site_key.into(), n.token_hash.to_vec()));
        self.writes
            .push(format!("conversation {id} department {dep:?}"));
        Ok(id)
    }
    fn faq_chat(&mut self, site_key: &str, _at: i64) -> Result<()> {
        self.writes.push(format!("faq chat {site_key}"));
        Ok(())
    }
    fn form_values(&mut self, id: i64, values: &[crate::model::forms::Filled]) -> Result<()> {
        for v in values {
            self.writes
                .push(format!("field {id} {}={}", v.name, v.value));
        }
        Ok(())
    }
    fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<()> {
        self.seqs.insert(m.conversation_id, m.seq);
        self.message_at.push(m.at);
        let w = format!(
            "message {}#{} {} {}",
            m.conversation_id, m.seq, m.author, m.body
        );
        self.writes.push(w);
        Ok(())
    }
    fn note(
        &mut self,
        id: i64,
        _agent: i64,
        text: &str,
        cid: &str,
        _at: i64,
    ) -> Result<(i64, bool)> {
        if let Some(n) = self.notes.iter().position(|(_, c)| c == cid) {
            return Ok((n as i64 + 1, false));
        }
        self.notes.push((id, cid.into()));
        self.writes.push(format!("note {id} {text}"));
        Ok((self.notes.len() as i64, true))
    }
    fn files_since(&mut self, _id: i64, _since: i64) -> Result<crate::model::uploads::Usage> {
        Ok(Default::default())
    }
    fn files_bytes(&mut self) -> Result<u64> {
        Ok(0)
    }
    fn file(&mut self, id: i64, name: &str, mime: &str, data: &[u8], _at: i64) -> Result<FileRef> {
        self.writes.push(format!("file {id} {name}"));
        Ok(FileRef {
            id: 1,
            name: name.into(),
            mime: mime.into(),
            size: data.len() as i64,
        })
    }
    fn file_at(&mut self, _id: i64, _seq: i64) -> Result<Option<FileRef>> {
        Ok(None)
    }
    fn accept(&mut self, id: i64, agent_id: i64, _at: i64) -> Result<()> {
        self.writes.push(format!("accept {id} by {agent_id}"));
        Ok(())
    }
    fn reassign(&mut self, id: i64, agent_id: i64) -> Result<()> {
        self.writes.push(format!("reassign {id} to {agent_id}"));
        Ok(())
    }
    fn requeue(&mut self, id: i64, d: i64) -> Result<()> {
        self.writes.push(format!("requeue {id} for {d}"));
        Ok(())
    }
    fn release(&mut self, id: i64) -> Result<()> {
        self.writes.push(format!("release {id}"));
        Ok(())
    }
    fn close(&mut self, id: i64, _at: i64) -> Result<()> {
        self.writes.push(format!("close {id}"));
        Ok(())
    }
    fn rate(&mut self, id: i64, score: i64, _comment: &str, _at: i64) -> Result<()> {
        self.writes.push(format!("rate {id} {score}"));
        Ok(())
    }
    fn agent_name(&mut self, agent_id: i64) -> Result<String> {
        Ok(self
            .agents
            .get(&agent_id)
            .map(|a| a.0.clone())
            .unwrap_or_default())
    }
    fn agent_load(&mut self, agent_id: i64) -> Result<(usize, Vec<i64>)> {
        Ok(self
            .agents
            .get(&agent_id)
            .map(|a| (a.1, a.2.clone()))
            .unwrap_or_default())
    }
    fn agent_may_chat(&mut self, agent_id: i64) -> Result<bool> {
        Ok(self.agents.get(&agent_id).is_some_and(|a| a.3))
    }
    fn agent_presence(
        &mut self,
        agent_id: i64,
        status: Option<crate::domain::protocol::AgentStatus>,
        _at: i64,
    ) -> Result<()> {
        self.writes.push(format!("presence {agent_id} {status:?}"));
        Ok(())
    }
}

const SITE: &str = "site1";

fn visitor(current: Option<i64>) -> VisitorCtx {
    VisitorCtx {
        address: "192.0.2.0".into(),
        greeting: Default::default(),
        site_key: SITE.into(),
        visitor_key: Some([7; 16]),
        notice_current: 2,
        current,
        form: Default::default(),
        at: 1_000,
    }
}

fn agent(agent_id: i64, permissions: Permissions) -> AgentCtx {
    AgentCtx {
        agent_id,
        name: format!("Agent {agent_id}"),
        permissions,
        at: 1_000,
    }
}

fn chatter() -> Permissions {
    Permissions::parse("chat,visitors.view").unwrap()
}

fn start(notice: &str) -> VisitorIn {
    serde_json::from_value(serde_json::json!({
        "type": "start", "consent": true, "notice_version": notice, "name": "Ann",
        "email": "", "lang": "de"
    }))
    .unwrap()
}

fn message(cid: &str, text: &str) -> VisitorIn {
    VisitorIn::Message {
        client_id: cid.into(),
        text: text.into(),
    }
}

/// The frames of some effects as `(audience, JSON)`.
fn frames(fx: &Effects) -> Vec<(To, Value)> {
    fx.0.iter()
        .filter_map(|e| match e {
            Effect::Send(to, out) => Some((*to, serde_json::from_str(&out.encode()).unwrap())),
            _ => None,
        })
        .collect()
}

/// The error code answered to the sender, if any.
fn refusal(fx: &Effects) -> Option<String> {
    frames(fx)
        .into_iter()
        .find(|(to, v)| *to == To::Sender && v["type"] == "error")
        .map(|(_, v)| v["code"].as_str().unwrap().to_string())
}

/// A tenant with agents 1 and 2 (capacity 2, may chat) present, and one waiting chat.
fn tenant() -> (Conversations, Mem, i64) {
    let mut mem = Mem::default();
    mem.departments.insert(5);
    for a in [1, 2] {
        mem.agents
            .insert(a, (format!("Agent {a}"), 2, vec![], true));
    }
    let mut chats = Conversations::default();
    for a in [1, 2] {
        let hello = AgentIn::Hello {
            seen: vec![],
            epoch: None,
        };
        chats
            .agent_frame(&mut mem, &agent(a, chatter()), hello)
            .unwrap();
    }
    let fx = chats
        .visitor_frame(&mut mem, &visitor(None), start("2"))
        .unwrap();
    let id = match fx.0.iter().find(|e| matches!(e, Effect::Attach { .. })) {
        Some(Effect::Attach {
            conversation_id, ..
        }) => *conversation_id,
        _ => panic!("no attach in {fx:?}"),
    };
    mem.writes.clear();
    (chats, mem, id)
}

#[test]
fn a_start_stores_a_waiting_chat_welcomes_the_visitor_and_links_the_visit() {
    let mut mem = Mem::default();
    let mut chats = Conversations::default();
    let fx = chats
        .visitor_frame(&mut mem, &visitor(None), start("2+preview"))
        .unwrap();
    assert_eq!(mem.writes, ["conversation 1 department None"]);
    assert!(matches!(
        fx.0[0],
        Effect::Attach {
            conversation_id: 1,
            live: true
        }
    ));
    assert!(matches!(
        fx.0[1],
        Effect::ChatStarted {
            conversation_id: 1,
            ..
        }
    ));
    let (to, welcome) = &frames(&fx)[0];
    assert_eq!(*to, To::Sender);
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["status"], "waiting");
    assert_eq!(welcome["queue_position"], 1);
    assert_eq!(chats.status(1), Some(Status::Waiting));
}

#[test]
fn a_chat_behind_others_gets_an_automatic_entry_with_its_place() {
    let mut mem = Mem::default();
    let mut chats = Conversations::default();
    chats
        .visitor_frame(&mut mem, &visitor(None), start("1"))
        .unwrap();
    let mut ctx = visitor(None);
    ctx.greeting = std::sync::Arc::new(crate::domain::conversation::Greeting {
        site_lang: "en".into(),
        de: "Willkommen!".into(),
        en: "Welcome!".into(),
    });
    let fx = chats.visitor_frame(&mut mem, &ctx, start("1")).unwrap();
    assert_eq!(
        mem.writes,
        [
            "conversation 1 department None",
            "conversation 2 department None",
            "message 2#1 auto Willkommen!",
            "message 2#2 auto Sie sind Nummer 2 in der Warteschlange. Gleich ist jemand für Sie da."
        ]
    );
    // The visitor hears both after the welcome.
    let entries =
        fx.0.iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::Entry {
                        conversation_id: 2,
                        ..
                    }
                )
            })
            .count();
    assert_eq!(entries, 2);
}

#[test]
fn a_start_is_refused_for_each_bad_field_and_writes_nothing() {
    let bad = |patch: Value| -> VisitorIn {
        let mut v = serde_json::json!({
            "type": "start", "consent": true, "notice_version": "1", "name": "", "email": "",
            "lang": "en"
        });
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        serde_json::from_value(v).unwrap()
    };
    // (fields, expected code)
    let cases = [
        (serde_json::json!({"consent": false}), "consent_required"),
        (serde_json::json!({"notice_version": "3"}), "invalid_input"),
        (serde_json::json!({"notice_version": "0"}), "invalid_input"),
        (
            serde_json::json!({"email": "not an address"}),
            "invalid_input",
        ),
        (serde_json::json!({"name": "a\u{7}b"}), "invalid_input"),
        (serde_json::json!({"department": 99}), "invalid_input"),
        (
            serde_json::json!({"token": "othersite.00"}),
            "invalid_input",
        ),
    ];
    for (patch, code) in cases {
        let mut mem = Mem::default();
        let mut chats = Conversations::default();
        let fx = chats
            .visitor_frame(&mut mem, &visitor(None), bad(patch.clone()))
            .unwrap();
        assert_eq!(refusal(&fx).as_deref(), Some(code), "{patch}");
        assert!(mem.writes.is_empty(), "{patch}: {:?}", mem.writes);
    }
    // A socket with a chat cannot start a second.
    let mut chats = Conversations::default();
    let fx = chats
        .visitor_frame(&mut Mem::default(), &visitor(Some(1)), start("1"))
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("already_started"));
}

#[test]
fn a_retried_message_is_stored_once_and_acknowledged_with_its_first_seq() {
    let (mut chats, mut mem, id) = tenant();
    let ctx = visitor(Some(id));
    let first = chats
        .visitor_frame(&mut mem, &ctx, message("c1", "hello"))
        .unwrap();
    let again = chats
        .visitor_frame(&mut mem, &ctx, message("c1", "hello"))
        .unwrap();
    assert_eq!(mem.writes, [format!("message {id}#1 visitor hello")]);
    for fx in [&first, &again] {
        assert!(
            fx.0.iter()
                .any(|e| matches!(e, Effect::Ack { seq: 1, client_id, .. } if client_id == "c1"))
        );
    }
    // The first goes to the chat's other sockets (not back to the sender); the retry nowhere.
    assert!(
        matches!(&first.0[1], Effect::Entry { skip_sender: true, to, .. } if to == &[To::Visitors(id)])
    );
    assert_eq!(again.0.len(), 1);
    let next = chats
        .visitor_frame(&mut mem, &ctx, message("c2", "more"))
        .unwrap();
    assert!(
        next.0
            .iter()
            .any(|e| matches!(e, Effect::Ack { seq: 2, .. }))
    );
}

#[test]
fn who_may_take_a_chat_is_a_table() {
    use Code::*;
    // (status, in the agent's view, open chats, capacity, expected refusal)
    let cases = [
        (None, true, 0, 2, Some(NotFound)),
        (Some(Status::Waiting), false, 0, 2, Some(NotFound)),
        (Some(Status::Open), false, 0, 2, Some(NotFound)),
        (Some(Status::Open), true, 0, 2, Some(AlreadyTaken)),
        (Some(Status::Waiting), true, 2, 2, Some(AtCapacity)),
        (Some(Status::Waiting), true, 1, 2, None),
    ];
    for (status, in_view, open, capacity, want) in cases {
        assert_eq!(
            refuse_accept(status, in_view, open, capacity),
            want,
            "{status:?} {in_view} {open}/{capacity}"
        );
    }
}

#[test]
fn accepting_writes_the_row_tells_both_sides_and_replays_the_history() {
    let (mut chats, mut mem, id) = tenant();
    let accept = AgentIn::Accept {
        conversation_id: id,
    };
    let fx = chats
        .agent_frame(&mut mem, &agent(1, chatter()), accept.clone())
        .unwrap();
    assert_eq!(
        mem.writes,
        [
            format!("accept {id} by 1"),
            format!("message {id}#1 system accepted")
        ]
    );
    let sent = frames(&fx);
    assert!(
        sent.iter().any(|(to, v)| *to == To::Visitors(id)
            && v["type"] == "agent"
            && v["name"] == "Agent 1")
    );
    assert!(
        sent.iter()
            .any(|(to, v)| *to == To::Agent(1) && v["status"] == "open")
    );
    assert!(
        fx.0.iter()
            .any(|e| matches!(e, Effect::CatchUp { agent_id: 1, .. }))
    );
    // The other agent is too late.
    let fx = chats
        .agent_frame(&mut mem, &agent(2, chatter()), accept)
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("already_taken"));
}

#[test]
fn frames_need_their_permission_and_refusals_are_audited() {
    let (mut chats, mut mem, id) = tenant();
    let viewer = Permissions::parse("visitors.view").unwrap();
    let fx = chats
        .agent_frame(
            &mut mem,
            &agent(3, viewer),
            AgentIn::Accept {
                conversation_id: id,
            },
        )
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("forbidden"));
    assert_eq!(mem.writes, ["audit agent#3 chat socket"]);
    // Writing into a chat that is not theirs: as unknown, and audited.
    mem.writes.clear();
    let write = AgentIn::Message {
        conversation_id: id,
        client_id: "x".into(),
        text: "hi".into(),
    };
    let fx = chats
        .agent_frame(&mut mem, &agent(2, chatter()), write)
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("not_found"));
    assert_eq!(
        mem.writes,
        [format!("audit agent#2 chat.access conversation#{id}")]
    );
}

#[test]
fn transfers_follow_their_rules() {
    // (to_agent, to_department, expected refusal, expected writes)
    type Case = (
        Option<i64>,
        Option<i64>,
        Option<&'static str>,
        &'static [&'static str],
    );
    let cases: [Case; 6] = [
        (
            Some(2),
            None,
            None,
            &["reassign 1 to 2", "message 1#2 system transferred"],
        ),
        (Some(1), None, Some("agent_unavailable"), &[]),
        (Some(9), None, Some("agent_unavailable"), &[]),
        (
            None,
            Some(5),
            None,
            &["requeue 1 for 5", "message 1#2 system transferred"],
        ),
        (None, Some(6), Some("not_found"), &[]),
        (Some(2), Some(5), Some("invalid_input"), &[]),
    ];
    for (to_agent, to_department, want, rows) in cases {
        let (mut chats, mut mem, id) = tenant();
        let accept = AgentIn::Accept {
            conversation_id: id,
        };
        chats
            .agent_frame(&mut mem, &agent(1, chatter()), accept)
            .unwrap();
        mem.writes.clear();
        let transfer = AgentIn::Transfer {
            conversation_id: id,
            to_agent,
            to_department,
        };
        let fx = chats
            .agent_frame(&mut mem, &agent(1, chatter()), transfer)
            .unwrap();
        assert_eq!(
            refusal(&fx).as_deref(),
            want,
            "{to_agent:?} {to_department:?}"
        );
        assert_eq!(mem.writes, rows, "{to_agent:?} {to_department:?}");
        if want.is_none() {
            // The giver loses the chat at once.
            assert!(
                fx.0.iter()
                    .any(|e| matches!(e, Effect::Forget { agent_id: 1, .. }))
            );
        }
    }
}

#[test]
fn a_closed_chat_takes_nothing_more_and_its_visitors_are_let_go() {
    let (mut chats, mut mem, id) = tenant();
    let fx = chats
        .visitor_frame(&mut mem, &visitor(Some(id)), VisitorIn::End {})
        .unwrap();
    assert_eq!(
        mem.writes,
        [
            format!("message {id}#1 system closed"),
            format!("close {id}")
        ]
    );
    assert!(
        fx.0.iter()
            .any(|e| matches!(e, Effect::Closed(c) if *c == id))
    );
    let fx = chats
        .visitor_frame(&mut mem, &visitor(Some(id)), message("c", "late"))
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("conversation_closed"));
    // Rating still works after the end.
    let rate = VisitorIn::Rate {
        score: 5,
        comment: String::new(),
    };
    chats
        .visitor_frame(&mut mem, &visitor(Some(id)), rate)
        .unwrap();
    assert_eq!(mem.writes.last().unwrap(), &format!("rate {id} 5"));
}

#[test]
fn chats_of_an_agent_who_may_no_longer_chat_go_back_to_the_queue() {
    let (mut chats, mut mem, id) = tenant();
    chats
        .agent_frame(
            &mut mem,
            &agent(1, chatter()),
            AgentIn::Accept {
                conversation_id: id,
            },
        )
        .unwrap();
    mem.agents.get_mut(&1).unwrap().3 = false;
    mem.writes.clear();
    let fx = chats.release_lost_chats(&mut mem, 2_000).unwrap();
    assert_eq!(
        mem.message_at.last(),
        Some(&2_000),
        "the entry is stamped now"
    );
    assert_eq!(
        mem.writes,
        [
            format!("release {id}"),
            format!("message {id}#2 system transferred")
        ]
    );
    assert_eq!(chats.status(id), Some(Status::Waiting));
    assert!(
        fx.0.iter()
            .any(|e| matches!(e, Effect::Forget { agent_id: 1, .. }))
    );
}

#[test]
fn queue_news_says_only_what_changed() {
    let (mut chats, mut mem, id) = tenant();
    let first = chats.queue_news(true);
    assert_eq!(first.views.len(), 1, "both agents see every chat");
    assert_eq!(first.views[0].agents, [1, 2]);
    assert_eq!(first.views[0].whole.len(), 1);
    assert_eq!(first.views[0].whole[0].offered_to, Some(1));
    assert!(first.views[0].update.is_some() && first.presence_update.is_some());
    assert_eq!(first.positions, [(id, 1)]);
    // Nothing changed: nothing to say.
    let again = chats.queue_news(true);
    assert!(again.views[0].update.is_none() && again.presence_update.is_none());
    assert!(again.positions.is_empty());
    // Agent 1 goes away: the offer moves to agent 2, and presence changes.
    chats.agent_left(1);
    assert!(chats.queue_dirty());
    let news = chats.queue_news(true);
    assert_eq!(news.views[0].whole[0].offered_to, Some(2));
    assert!(news.presence_update.is_some());
    let _ = &mut mem;
}

#[test]
fn a_full_queue_refuses_a_start_and_writes_nothing() {
    let mut mem = Mem::default();
    let mut chats = Conversations::with_max_waiting(1);
    chats
        .visitor_frame(&mut mem, &visitor(None), start("1"))
        .unwrap();
    mem.writes.clear();
    let fx = chats
        .visitor_frame(&mut mem, &visitor(None), start("1"))
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("queue_full"));
    assert!(mem.writes.is_empty(), "{:?}", mem.writes);
    // Once the waiting chat is taken, there is room again.
    chats
        .agent_frame(
            &mut mem,
            &agent(1, chatter()),
            AgentIn::Hello {
                seen: vec![],
                epoch: None,
            },
        )
        .unwrap();
    mem.agents.insert(1, ("Agent 1".into(), 2, vec![], true));
    chats
        .agent_frame(
            &mut mem,
            &agent(1, chatter()),
            AgentIn::Hello {
                seen: vec![],
                epoch: None,
            },
        )
        .unwrap();
    chats
        .agent_frame(
            &mut mem,
            &agent(1, chatter()),
            AgentIn::Accept { conversation_id: 1 },
        )
        .unwrap();
    let fx = chats
        .visitor_frame(&mut mem, &visitor(None), start("1"))
        .unwrap();
    assert_eq!(refusal(&fx), None);
}

#[test]
fn a_start_is_checked_against_the_sites_current_pre_chat_form() {
    let form: crate::model::forms::Form = serde_json::from_value(serde_json::json!({
        "fields": [{"name": "order", "kind": "text", "label_en": "Order", "required": true}],
        "departments": [5],
    }))
    .unwrap();
    let ctx = VisitorCtx {
        form: std::sync::Arc::new(form),
        ..visitor(None)
    };
    let with = |extra: Value| -> VisitorIn {
        let mut f = serde_json::json!({"type": "start", "consent": true, "notice_version": "1"});
        for (k, v) in extra.as_object().unwrap() {
            f[k] = v.clone();
        }
        serde_json::from_value(f).unwrap()
    };
    let mut mem = Mem::default();
    mem.departments.extend([5, 6]);
    let mut chats = Conversations::default();
    // Refused per field, nothing written.
    let fx = chats
        .visitor_frame(
            &mut mem,
            &ctx,
            with(serde_json::json!({"fields": {"x": "1"}})),
        )
        .unwrap();
    let (_, err) = frames(&fx).into_iter().next().unwrap();
    assert_eq!(err["code"], "invalid_form");
    assert_eq!(
        err["fields"],
        serde_json::json!({"order": "required", "x": "no such field"})
    );
    // A department the form does not offer, though the tenant has it.
    let fx = chats
        .visitor_frame(
            &mut mem,
            &ctx,
            with(serde_json::json!({"department": 6, "fields": {"order": "A1"}})),
        )
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("department_not_offered"));
    assert!(mem.writes.is_empty(), "{:?}", mem.writes);
    // Accepted: the chat and its values.
    let fx = chats
        .visitor_frame(
            &mut mem,
            &ctx,
            with(serde_json::json!({"department": 5, "fields": {"order": "A1"}})),
        )
        .unwrap();
    assert_eq!(refusal(&fx), None);
    assert_eq!(
        mem.writes,
        ["conversation 1 department Some(5)", "field 1 order=A1"]
    );
}

#[test]
fn online_counts_agents_in_all_and_per_department_and_chats_by_state() {
    let mut mem = Mem::default();
    mem.departments.insert(5);
    mem.agents.insert(1, ("Agent 1".into(), 2, vec![5], true));
    mem.agents.insert(2, ("Agent 2".into(), 2, vec![], true));
    let mut chats = Conversations::default();
    for a in [1, 2] {
        let hello = AgentIn::Hello {
            seen: vec![],
            epoch: None,
        };
        chats
            .agent_frame(&mut mem, &agent(a, chatter()), hello)
            .unwrap();
    }
    let online = chats.online();
    assert_eq!(online.agents, 2);
    assert_eq!(online.departments.get(&5), Some(&1));
    assert_eq!(online.departments.len(), 1);
    assert_eq!(chats.counts(), (0, 0));
    chats
        .visitor_frame(&mut mem, &visitor(None), start("2"))
        .unwrap();
    assert_eq!(chats.counts(), (1, 0));
}

#[test]
fn a_start_after_the_faq_is_counted_for_the_site_and_only_then() {
    let (mut chats, mut mem, _) = tenant();
    let mut after: VisitorIn = serde_json::from_value(serde_json::json!({
        "type": "start", "consent": true, "notice_version": "2", "after_faq": true
    }))
    .unwrap();
    chats
        .visitor_frame(&mut mem, &visitor(None), after)
        .unwrap();
    assert!(
        mem.writes.contains(&format!("faq chat {SITE}")),
        "{:?}",
        mem.writes
    );
    mem.writes.clear();
    // Refused starts count nothing.
    after = serde_json::from_value(serde_json::json!({
        "type": "start", "consent": false, "notice_version": "2", "after_faq": true
    }))
    .unwrap();
    let fx = chats
        .visitor_frame(&mut mem, &visitor(None), after)
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("consent_required"));
    chats
        .visitor_frame(&mut mem, &visitor(None), start("2"))
        .unwrap();
    assert!(
        !mem.writes.iter().any(|w| w.starts_with("faq chat")),
        "{:?}",
        mem.writes
    );
}

/// The audiences of the chat's new entries in some effects.
fn entry_audiences(fx: &Effects) -> Vec<Vec<To>> {
    fx.0.iter()
        .filter_map(|e| match e {
            Effect::Entry { to, .. } => Some(to.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_watching_supervisor_hears_each_entry_once_before_and_after_the_chat_is_theirs() {
    let (mut chats, mut mem, id) = tenant();
    let boss = Permissions::parse("chat,chats.supervise").unwrap();
    let accept = AgentIn::Accept {
        conversation_id: id,
    };
    chats
        .agent_frame(&mut mem, &agent(1, chatter()), accept)
        .unwrap();
    let watch = AgentIn::Watch {
        conversation_id: id,
    };
    let fx = chats.agent_frame(&mut mem, &agent(2, boss), watch).unwrap();
    assert_eq!(refusal(&fx), None);
    assert!(
        mem.writes
            .iter()
            .any(|w| w.starts_with("done Agent 2 (agent#2) chat.watch"))
    );
    let fx = chats
        .visitor_frame(&mut mem, &visitor(Some(id)), message("v1", "Hallo"))
        .unwrap();
    assert_eq!(
        entry_audiences(&fx),
        [vec![To::Visitors(id), To::Agent(1), To::Agent(2)]]
    );
    // Agent 1 hands it to the watching supervisor: from now on they hear it as its agent only.
    let transfer = AgentIn::Transfer {
        conversation_id: id,
        to_agent: Some(2),
        to_department: None,
    };
    chats
        .agent_frame(&mut mem, &agent(1, chatter()), transfer)
        .unwrap();
    let fx = chats
        .visitor_frame(&mut mem, &visitor(Some(id)), message("v2", "Noch da?"))
        .unwrap();
    assert_eq!(entry_audiences(&fx), [vec![To::Visitors(id), To::Agent(2)]]);
    // Without the permission: refused before anything happens.
    let watch = AgentIn::Watch {
        conversation_id: id,
    };
    let fx = chats
        .agent_frame(&mut mem, &agent(1, chatter()), watch)
        .unwrap();
    assert_eq!(refusal(&fx).as_deref(), Some("forbidden"));
}
