//! What a visitor's frames do: starting a chat (consent, notice version, name, e-mail,
//! department, the pre-chat form's values, a retried start finding its chat), resuming,
//! writing, typing, rating and ending; and files uploaded into a chat.

use super::{Conv, Conversations, Effect, Effects, Entry, Ledger, Status, To, preview_told};
use crate::crypto;
use crate::domain::agents;
use crate::domain::protocol::{MAX_TEXT_CHARS, Out, VisitorIn, check_message};
use crate::error::{Code, Error, Result};
use crate::model::attachment::FileRef;
use crate::model::forms::Form;
use crate::model::tenants;
use crate::model::uploads::{FileLimits, Refusal};
use crate::store::chat::NewConversation;

/// The site's greeting as the business wrote it (German, English) and the site's default
/// language: after the opt-in it becomes the chat's first, automatic entry.
#[derive(Debug, Clone, Default)]
pub struct Greeting {
    /// The site's default language.
    pub site_lang: String,
    /// In German.
    pub de: String,
    /// In English.
    pub en: String,
}

/// Who sent a visitor frame: the socket's site and state, and when.
#[derive(Debug, Clone)]
pub struct VisitorCtx {
    /// The site the widget is embedded in.
    pub site_key: String,
    /// The visitor's anonymous daily key (not when the site's tracking is off).
    pub visitor_key: Option<[u8; 16]>,
    /// The site's newest privacy-notice version when the socket opened (1: built in).
    pub notice_current: i64,
    /// The visitor's truncated address.
    pub address: String,
    /// The site's greeting.
    pub greeting: std::sync::Arc<Greeting>,
    /// The socket's conversation, once started or resumed.
    pub current: Option<i64>,
    /// The site's pre-chat form as it is now (read for a `start`; empty otherwise).
    pub form: std::sync::Arc<Form>,
    /// Unix seconds now.
    pub at: i64,
}

/// What an upload became: its place in the conversation and the stored file, or the
/// refusal for the uploader.
pub type Posted = std::result::Result<(i64, FileRef), Out>;

/// Who uploads a file, and into which conversation.
pub enum Uploader {
    /// The visitor holding this token (on this site).
    Visitor {
        /// SHA-256 of the visitor token.
        token_hash: Vec<u8>,
        /// The site the upload came through.
        site_key: String,
    },
    /// An agent, into one of their open conversations.
    Agent {
        /// The agent.
        agent_id: i64,
        /// The conversation.
        conversation_id: i64,
    },
}

/// A visitor's name and e-mail from `start`, cleaned (both may be empty). `Err`: the
/// refusal to send.
pub fn check_contact(name: &str, email: &str) -> std::result::Result<(String, String), Out> {
    let invalid = |e: Error| Out::error(Code::InvalidInput, e.to_string());
    let name = match name.trim() {
        "" => String::new(),
        n => tenants::clean_name("name", n, tenants::VISITOR_NAME_MAX).map_err(invalid)?,
    };
    let email = match email.trim() {
        "" => String::new(),
        e => agents::normalize_email(e).map_err(invalid)?,
    };
    Ok((name, email))
}

/// Whether the consent names a notice the site showed: one of its versions, with "+preview"
/// when the typing-preview sentence was part of it.
pub fn notice_known(notice_version: &str, notice_current: i64) -> bool {
    notice_version
        .strip_suffix("+preview")
        .unwrap_or(notice_version)
        .parse::<i64>()
        .is_ok_and(|v| (1..=notice_current).contains(&v))
}

/// Whether a widget-chosen token has the form `SITE_KEY.<64 hex digits>`.
pub fn token_well_formed(site_key: &str, token: &str) -> bool {
    let secret = token
        .strip_prefix(site_key)
        .and_then(|t| t.strip_prefix('.'))
        .unwrap_or("");
    secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Conversations {
    /// Handles one visitor frame.
    pub fn visitor_frame(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &VisitorCtx,
        frame: VisitorIn,
    ) -> Result<Effects> {
        let mut fx = Effects::default();
        match frame {
            VisitorIn::Ping {} => fx.reply(Out::Pong {}),
            VisitorIn::Start { .. } if self.blocked(ctx) => fx.refuse(
                Code::Blocked,
                "chatting is not possible from here at the moment; please use another way to \
                 reach us",
            ),
            start @ VisitorIn::Start { .. } => self.start(ledger, ctx, start, &mut fx)?,
            VisitorIn::Resume {
                token,
                last_seq,
                epoch,
            } => {
                if ctx.current.is_some() {
                    fx.refuse(Code::AlreadyStarted, "this socket has a chat already");
                    return Ok(fx);
                }
                let found = ledger.conversation_by_token(&crypto::token_hash(&token))?;
                match found.filter(|(_, site)| *site == ctx.site_key) {
                    Some((id, _)) => self.attach(ledger, id, None, last_seq, epoch, &mut fx)?,
                    // Same answer for a wrong token and a token of another site or tenant.
                    None => fx.refuse(Code::UnknownConversation, "no such conversation"),
                }
            }
            VisitorIn::Message { client_id, text } => {
                let Some(id) = self.running(ctx.current, &mut fx) else {
                    return Ok(fx);
                };
                if let Err(e) = check_message(&client_id, &text) {
                    fx.reply(e);
                    return Ok(fx);
                }
                let entry = Entry {
                    author: "visitor",
                    agent_id: None,
                    text: &text,
                    client_id: Some(&client_id),
                    file: None,
                };
                self.append(ledger, id, entry, ctx.at, &mut fx)?;
            }
            VisitorIn::Typing { text } => {
                if let Some(id) = ctx.current
                    && let Some(cv) = self.convs.get(&id)
                    && let Some(agent) = cv.agent_id
                {
                    // The draft goes to the agent only when the tenant enabled the preview
                    // and the notice this visitor accepted said so.
                    let shown = self.typing_preview && cv.preview_told;
                    let text = text
                        .filter(|_| shown)
                        .map(|t| t.chars().take(MAX_TEXT_CHARS).collect());
                    let typing = Out::Typing {
                        conversation_id: id,
                        who: "visitor".into(),
                        text,
                    };
                    fx.send(To::Agent(agent), typing);
                }
            }
            VisitorIn::Rate { score, comment } => {
                let Some(id) = ctx.current else {
                    fx.refuse(Code::NoConversation, "send start or resume first");
                    return Ok(fx);
                };
                if !(1..=5).contains(&score) || comment.chars().count() > 1000 {
                    fx.refuse(
                        Code::InvalidRating,
                        "score 1 to 5, comment up to 1000 characters",
                    );
                    return Ok(fx);
                }
                ledger.rate(id, score, comment.trim(), ctx.at)?;
                fx.reply(Out::Rated {
                    conversation_id: id,
                });
            }
            VisitorIn::End {} => {
                if let Some(id) = self.running(ctx.current, &mut fx) {
                    self.close(ledger, id, ctx.at, &mut fx)?;
                }
            }
        }
        Ok(fx)
    }

    fn start(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &VisitorCtx,
        frame: VisitorIn,
        fx: &mut Effects,
    ) -> Result<()> {
        let VisitorIn::Start {
            consent,
            notice_version,
            name,
            email,
            lang,
            department,
            fields,
            token,
            after_faq,
        } = frame
        else {
            return Ok(());
        };
        if ctx.current.is_some() {
            fx.refuse(Code::AlreadyStarted, "this socket has a chat already");
            return Ok(());
        }
        if !consent {
            fx.refuse(
                Code::ConsentRequired,
                "the privacy notice must be accepted first",
            );
            return Ok(());
        }
        let (name, email) = match check_contact(&name, &email) {
            Ok(v) => v,
            Err(refusal) => {
                fx.reply(refusal);
                return Ok(());
            }
        };
        if let Some(d) = department
            && !ledger.department_exists(d)?
        {
            fx.refuse(Code::InvalidInput, "no such department");
            return Ok(());
        }
        if !notice_known(&notice_version, ctx.notice_current) {
            fx.refuse(
                Code::InvalidInput,
                "unknown privacy notice version; reload the page",
            );
            return Ok(());
        }
        let lang = crate::i18n::Lang::parse(&lang).unwrap_or(crate::i18n::Lang::En);
        // The site key in front lets the transcript endpoint find the tenant. A widget may
        // choose the token itself, so that a start retried after a dropped socket finds the
        // chat the first one created instead of making a second.
        let token = match token {
            None => format!("{}.{}", ctx.site_key, crypto::random_token()),
            Some(t) => {
                if !token_well_formed(&ctx.site_key, &t) {
                    fx.refuse(Code::InvalidInput, "token must be SITE_KEY.<64 hex digits>");
                    return Ok(());
                }
                let existing = ledger.conversation_by_token(&crypto::token_hash(&t))?;
                if let Some((id, _)) = existing.filter(|(_, site)| *site == ctx.site_key) {
                    return self.attach(ledger, id, Some(t), 0, None, fx);
                }
                t
            }
        };
        let Some(filled) = check_form(ctx, department, &fields, fx) else {
            return Ok(());
        };
        // A full queue takes no more: nobody would answer, and a flood must not reach agents.
        if self.max_waiting > 0 && self.waiting_count() >= self.max_waiting {
            fx.refuse(
                Code::QueueFull,
                "all agents are busy and the queue is full; please leave a message",
            );
            return Ok(());
        }
        let new = NewConversation {
            site_key: &ctx.site_key,
            token_hash: &crypto::token_hash(&token),
            name: &name,
            email: &email,
            lang: lang.code(),
            consent_version: &notice_version,
            at: ctx.at,
        };
        let id = ledger.open_chat(&new, department)?;
        if !filled.is_empty() {
            ledger.form_values(id, &filled)?;
        }
        if after_faq {
            ledger.faq_chat(&ctx.site_key, ctx.at)?;
        }
        self.convs.insert(
            id,
            Conv {
                preview_told: preview_told(&notice_version),
                status: Status::Waiting,
                agent_id: None,
                department_id: department,
                visitor_name: name,
                visitor_email: email,
                created_at: ctx.at,
                last_seq: 0,
                offered_to: None,
                client_ids: Default::default(),
                lang,
                alerted: false,
                offline_offered: false,
                fields: filled,
                watchers: Default::default(),
            },
        );
        fx.0.push(Effect::Attach {
            conversation_id: id,
            live: true,
        });
        if let Some(visitor_key) = ctx.visitor_key {
            fx.0.push(Effect::ChatStarted {
                conversation_id: id,
                visitor_key,
            });
        }
        fx.reply(Out::Welcome {
            conversation_id: id,
            token: Some(token),
            status: "waiting".into(),
            queue_position: self.queue_position(id),
            epoch: self.epoch.clone(),
        });
        self.automatic_on_start(ledger, ctx, id, lang, fx)?;
        self.dirty = true;
        Ok(())
    }

    /// The socket's conversation if it is still running; a refusal otherwise.
    fn running(&self, current: Option<i64>, fx: &mut Effects) -> Option<i64> {
        match current {
            Some(id) if self.convs.contains_key(&id) => Some(id),
            Some(_) => {
                fx.refuse(Code::ConversationClosed, "this chat has ended");
                None
            }
            None => {
                fx.refuse(Code::NoConversation, "send start or resume first");
                None
            }
        }
    }

    /// Attaches the sender to an existing conversation: welcome (with `token` echoed when a
    /// retried start found it), the agent's name, and every entry after `last_seq`.
    fn attach(
        &mut self,
        ledger: &mut dyn Ledger,
        id: i64,
        token: Option<String>,
        last_seq: i64,
        epoch: Option<String>,
        fx: &mut Effects,
    ) -> Result<()> {
        let live = self.convs.contains_key(&id);
        fx.0.push(Effect::Attach {
            conversation_id: id,
            live,
        });
        let status = self.status(id).map_or("closed", Status::as_str);
        fx.reply(Out::Welcome {
            conversation_id: id,
            token,
            status: status.into(),
            queue_position: self.queue_position(id),
            epoch: self.epoch.clone(),
        });
        if let Some(name) = self.agent_name_of(id) {
            fx.reply(Out::Agent { name });
        }
        let end = match self.convs.get(&id) {
            Some(conv) => conv.last_seq,
            None => ledger.last_seq(id)?,
        };
        fx.0.push(Effect::Resume {
            conversation_id: id,
            held: last_seq,
            epoch,
            end,
        });
        Ok(())
    }

    /// Stores an uploaded file and posts it into its conversation, within `limits`: its seq
    /// and the stored file, or the refusal for the uploader.
    #[allow(clippy::too_many_arguments)]
    pub fn post_file(
        &mut self,
        ledger: &mut dyn Ledger,
        from: &Uploader,
        limits: &FileLimits,
        name: &str,
        mime: &str,
        data: &[u8],
        client_id: &str,
        at: i64,
    ) -> Result<(Posted, Effects)> {
        let mut fx = Effects::default();
        let (id, author, agent_id) = match from {
            Uploader::Visitor {
                token_hash,
                site_key,
            } => match ledger.conversation_by_token(token_hash)? {
                Some((id, site)) if site == *site_key => (id, "visitor", None),
                _ => {
                    let refusal = Out::error(Code::UnknownConversation, "no such conversation");
                    return Ok((Err(refusal), fx));
                }
            },
            Uploader::Agent {
                agent_id,
                conversation_id,
            } => {
                if !self.owns(*agent_id, *conversation_id) {
                    let refusal = Out::error(Code::NotFound, "no such conversation");
                    return Ok((Err(refusal), fx));
                }
                (*conversation_id, "agent", Some(*agent_id))
            }
        };
        let ended = || Out::error(Code::ConversationClosed, "this chat has ended");
        if !self.convs.contains_key(&id) {
            return Ok((Err(ended()), fx));
        }
        // A retried upload (same client id) is answered with the file stored the first time;
        // its bytes are not stored again, and it counts against no limit.
        if let Some(seq) = self
            .convs
            .get(&id)
            .and_then(|cv| cv.client_ids.get(client_id))
            && let Some(file) = ledger.file_at(id, seq)?
        {
            fx.0.push(Effect::Ack {
                conversation_id: id,
                client_id: client_id.into(),
                seq,
            });
            return Ok((Ok((seq, file)), fx));
        }
        let sent = ledger.files_since(id, at - limits.window_secs)?;
        let stored = ledger.files_bytes()?;
        if let Err(why) = limits.check(sent, stored, data.len() as u64) {
            let refusal = match why {
                Refusal::ChatLimit => Out::error(
                    Code::UploadLimit,
                    "this chat has received as many files as it may for now; try again later",
                ),
                Refusal::TenantQuota => Out::error(
                    Code::QuotaExceeded,
                    "there is no room for more files; ask the operator",
                ),
            };
            return Ok((Err(refusal), fx));
        }
        let file = ledger.file(id, name, mime, data, at)?;
        let entry = Entry {
            author,
            agent_id,
            text: name,
            client_id: Some(client_id),
            file: Some(file.clone()),
        };
        let posted = match self.append(ledger, id, entry, at, &mut fx)? {
            Some(seq) => Ok((seq, file)),
            None => Err(ended()),
        };
        Ok((posted, fx))
    }
}

/// The start's department and form values, checked against the site's form as it is now (a
/// page loaded before a change gets the refusal per field and shows the current form); the
/// values as they are stored, or `None` after the refusal was answered.
fn check_form(
    ctx: &VisitorCtx,
    department: Option<i64>,
    fields: &std::collections::BTreeMap<String, crate::model::forms::Value>,
    fx: &mut Effects,
) -> Option<Vec<crate::model::forms::Filled>> {
    if let Some(d) = department
        && !ctx.form.departments.is_empty()
        && !ctx.form.departments.contains(&d)
    {
        fx.refuse(
            Code::DepartmentNotOffered,
            "this site does not offer that department",
        );
        return None;
    }
    match ctx.form.check_values(fields) {
        Ok(v) => Some(v),
        Err(errors) => {
            fx.reply(Out::Error {
                code: Code::InvalidForm,
                message: "some fields of the form need another value".into(),
                conversation_id: None,
                fields: Some(errors),
            });
            None
        }
    }
}
