//! What the hub does with a visitor's frames.

use super::{ConnId, Conv, Hub, Outbox, Peer, Status, invalid};
use crate::crypto;
use crate::domain::agents;
use crate::error::{Code, Result};
use crate::model::tenants;
use crate::realtime::protocol::{Out, VisitorIn, check_message};
use crate::store::chat::{self as cstore, NewConversation};
use rusqlite::Connection;
use std::collections::HashSet;

impl Hub {
    pub(super) fn visitor_frame(
        &mut self,
        c: &Connection,
        conn: ConnId,
        frame: VisitorIn,
        out: &mut Outbox,
    ) -> Result<()> {
        let Some(state) = self.conns.get(&conn) else {
            return Ok(());
        };
        let Peer::Visitor {
            site_key,
            visitor_key,
            notice_current,
        } = &state.peer
        else {
            return Ok(());
        };
        let notice_current = *notice_current;
        let site_key = site_key.clone();
        let visitor_key = *visitor_key;
        let current = state.conversation;
        match frame {
            VisitorIn::Ping {} => out.send(conn, &Out::Pong {}),
            VisitorIn::Start {
                consent,
                notice_version,
                name,
                email,
                lang,
                department,
                token,
            } => {
                if current.is_some() {
                    out.send(
                        conn,
                        &Out::error(Code::AlreadyStarted, "this socket has a chat already"),
                    );
                    return Ok(());
                }
                if !consent {
                    out.send(
                        conn,
                        &Out::error(
                            Code::ConsentRequired,
                            "the privacy notice must be accepted first",
                        ),
                    );
                    return Ok(());
                }
                let name = match name.trim() {
                    "" => String::new(),
                    n => match tenants::clean_name("name", n, 100) {
                        Ok(n) => n,
                        Err(e) => return invalid(conn, e, out),
                    },
                };
                let email = match email.trim() {
                    "" => String::new(),
                    e => match agents::normalize_email(e) {
                        Ok(e) => e,
                        Err(e) => return invalid(conn, e, out),
                    },
                };
                if let Some(d) = department
                    && !cstore::department_exists(c, d)?
                {
                    out.send(conn, &Out::error(Code::InvalidInput, "no such department"));
                    return Ok(());
                }
                let lang = crate::i18n::Lang::parse(&lang).unwrap_or(crate::i18n::Lang::En);
                // The consent names the notice shown: one of the site's versions, with "+preview"
                // when the typing-preview sentence was part of it.
                let shown = notice_version
                    .strip_suffix("+preview")
                    .unwrap_or(&notice_version)
                    .parse::<i64>()
                    .ok()
                    .filter(|v| (1..=notice_current).contains(v));
                if shown.is_none() {
                    out.send(
                        conn,
                        &Out::error(
                            Code::InvalidInput,
                            "unknown privacy notice version; reload the page",
                        ),
                    );
                    return Ok(());
                }
                // The site key in front lets the transcript endpoint find the tenant. A widget
                // may choose the token itself, so that a start retried after a dropped socket
                // finds the chat the first one created instead of making a second.
                let token = match token {
                    None => format!("{site_key}.{}", crypto::random_token()),
                    Some(t) => {
                        let secret = t.strip_prefix(&format!("{site_key}.")).unwrap_or("");
                        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
                            out.send(
                                conn,
                                &Out::error(
                                    Code::InvalidInput,
                                    "token must be SITE_KEY.<64 hex digits>",
                                ),
                            );
                            return Ok(());
                        }
                        let existing = cstore::conversation_by_token(c, &crypto::token_hash(&t))?;
                        if let Some(row) = existing.filter(|r| r.site_key == site_key) {
                            return self.attach(c, conn, row.id, Some(t), 0, None, out);
                        }
                        t
                    }
                };
                let at = self.clock.now();
                let id = cstore::insert_conversation(
                    c,
                    &NewConversation {
                        site_key: &site_key,
                        token_hash: &crypto::token_hash(&token),
                        name: &name,
                        email: &email,
                        lang: lang.code(),
                        consent_version: &notice_version,
                        at,
                    },
                )?;
                if let Some(d) = department {
                    cstore::set_department(c, id, d)?;
                }
                self.convs.insert(
                    id,
                    Conv {
                        preview_told: super::preview_told(&notice_version),
                        status: Status::Waiting,
                        agent_id: None,
                        department_id: department,
                        visitor_name: name,
                        visitor_email: email,
                        created_at: at,
                        last_seq: 0,
                        offered_to: None,
                        visitors: HashSet::from([conn]),
                        client_ids: Default::default(),
                    },
                );
                if let Some(s) = self.conns.get_mut(&conn) {
                    s.conversation = Some(id);
                }
                self.chat_started(c, visitor_key.as_ref(), id)?;
                out.send(
                    conn,
                    &Out::Welcome {
                        conversation_id: id,
                        token: Some(token),
                        status: "waiting".into(),
                        queue_position: self.queue_position(id),
                        epoch: self.epoch.clone(),
                    },
                );
                self.reroute(out);
            }
            VisitorIn::Resume {
                token,
                last_seq,
                epoch,
            } => {
                if current.is_some() {
                    out.send(
                        conn,
                        &Out::error(Code::AlreadyStarted, "this socket has a chat already"),
                    );
                    return Ok(());
                }
                let row = cstore::conversation_by_token(c, &crypto::token_hash(&token))?;
                let Some(row) = row.filter(|r| r.site_key == site_key) else {
                    // Same answer for a wrong token and a token of another site or tenant.
                    out.send(
                        conn,
                        &Out::error(Code::UnknownConversation, "no such conversation"),
                    );
                    return Ok(());
                };
                self.attach(c, conn, row.id, None, last_seq, epoch, out)?;
            }
            VisitorIn::Message { client_id, text } => {
                let Some(id) = self.open_conversation_of(conn, out) else {
                    return Ok(());
                };
                if let Err(e) = check_message(&client_id, &text) {
                    out.send(conn, &e);
                    return Ok(());
                }
                self.append(c, id, conn, "visitor", None, &text, Some(&client_id), out)?;
            }
            VisitorIn::Typing { text } => {
                if let Some(id) = current
                    && let Some(agent) = self.convs.get(&id).and_then(|cv| cv.agent_id)
                {
                    // The draft goes to the agent only when the tenant enabled the preview
                    // and the notice this visitor accepted said so.
                    let told = self.convs.get(&id).is_some_and(|cv| cv.preview_told);
                    let text = text.filter(|_| self.typing_preview && told).map(|t| {
                        t.chars()
                            .take(crate::realtime::protocol::MAX_TEXT_CHARS)
                            .collect()
                    });
                    let conns = self.agent_conns(agent);
                    out.send_all(
                        conns,
                        &Out::Typing {
                            conversation_id: id,
                            who: "visitor".into(),
                            text,
                        },
                    );
                }
            }
            VisitorIn::Rate { score, comment } => {
                let Some(id) = current else {
                    out.send(
                        conn,
                        &Out::error(Code::NoConversation, "send start or resume first"),
                    );
                    return Ok(());
                };
                if !(1..=5).contains(&score) || comment.chars().count() > 1000 {
                    out.send(
                        conn,
                        &Out::error(
                            Code::InvalidRating,
                            "score 1 to 5, comment up to 1000 characters",
                        ),
                    );
                    return Ok(());
                }
                cstore::rate(c, id, score, comment.trim())?;
                out.send(
                    conn,
                    &Out::Rated {
                        conversation_id: id,
                    },
                );
            }
            VisitorIn::End {} => {
                if let Some(id) = self.open_conversation_of(conn, out) {
                    self.close(c, id, out)?;
                }
            }
        }
        Ok(())
    }

    /// The visitor's conversation if it is still running; an error frame otherwise.
    pub(super) fn open_conversation_of(&self, conn: ConnId, out: &mut Outbox) -> Option<i64> {
        let id = self.conns.get(&conn).and_then(|c| c.conversation);
        match id {
            Some(id) if self.convs.contains_key(&id) => Some(id),
            Some(_) => {
                out.send(
                    conn,
                    &Out::error(Code::ConversationClosed, "this chat has ended"),
                );
                None
            }
            None => {
                out.send(
                    conn,
                    &Out::error(Code::NoConversation, "send start or resume first"),
                );
                None
            }
        }
    }

    /// Attaches a socket to an existing conversation: welcome (with `token` echoed when a
    /// retried start found it), the agent's name, and every entry after `last_seq` (all of
    /// them, after a `reset`, when the widget's numbers are from another log or beyond the
    /// end of this one).
    #[allow(clippy::too_many_arguments)]
    fn attach(
        &mut self,
        c: &Connection,
        conn: ConnId,
        id: i64,
        token: Option<String>,
        last_seq: i64,
        epoch: Option<String>,
        out: &mut Outbox,
    ) -> Result<()> {
        if let Some(s) = self.conns.get_mut(&conn) {
            s.conversation = Some(id);
        }
        let (status, position) = match self.convs.get_mut(&id) {
            Some(conv) => {
                conv.visitors.insert(conn);
                (conv.status.as_str(), self.queue_position(id))
            }
            None => ("closed", None),
        };
        out.send(
            conn,
            &Out::Welcome {
                conversation_id: id,
                token,
                status: status.into(),
                queue_position: position,
                epoch: self.epoch.clone(),
            },
        );
        if let Some(name) = self.agent_name_of(id) {
            out.send(conn, &Out::Agent { name });
        }
        let end = match self.convs.get(&id) {
            Some(conv) => conv.last_seq,
            None => cstore::last_seq(c, id)?,
        };
        let after = self.resume_point(conn, id, last_seq, epoch.as_deref(), end, out);
        self.catch_up(c, conn, id, after, out)
    }
}
