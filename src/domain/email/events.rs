//! The mails kontor sends and the events that queue them. Each function runs inside the
//! transaction of its event (the caller's connection) and only queues; the sender delivers.
//!
//! Mails to the business (offline messages, missed chats) use the tenant's mail language;
//! mails to a visitor use theirs when it is German, else English; agents get theirs.

use super::Mail;
use super::compose::{Draft, render};
use crate::domain::agents::normalize_email;
use crate::error::{Error, Result};
use crate::i18n::{Lang, t};
use crate::store::chat as cstore;
use crate::store::outbox::{self, NewMail};
use rusqlite::{Connection, OptionalExtension, params};

/// Settings keys: where offline messages and alerts go, and in which language.
const INBOX_KEY: &str = "mail_inbox";
const ALERTS_KEY: &str = "mail_alerts";
const LANG_KEY: &str = "mail_lang";

/// A digest of missed chats goes out at most this often per tenant.
pub const MISSED_EVERY: i64 = 300;

/// Where a tenant's mails to the business go.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addresses {
    /// Offline messages go here.
    pub inbox: Vec<String>,
    /// Missed-chat digests go here (the inbox when empty).
    pub alerts: Vec<String>,
    /// The language of these mails: `de` or `en`.
    pub lang: String,
}

/// At most this many addresses per list.
const MAX_ADDRESSES: usize = 10;

fn split(raw: &str) -> Vec<String> {
    raw.split([',', ' ', '\n'])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Checks and normalises every address (each refused with its own message).
pub fn check_addresses(list: &[String]) -> Result<Vec<String>> {
    if list.len() > MAX_ADDRESSES {
        return Err(Error::Invalid(format!(
            "at most {MAX_ADDRESSES} addresses per list"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for a in list.iter().flat_map(|a| split(a)) {
        let a = normalize_email(&a)?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

/// The tenant's mail addresses.
pub fn addresses(c: &Connection) -> Result<Addresses> {
    let get = |k| -> Result<String> { Ok(cstore::setting(c, k)?.unwrap_or_default()) };
    let lang = match get(LANG_KEY)?.as_str() {
        "de" => "de",
        _ => "en",
    };
    Ok(Addresses {
        inbox: split(&get(INBOX_KEY)?),
        alerts: split(&get(ALERTS_KEY)?),
        lang: lang.into(),
    })
}

/// Sets the tenant's mail addresses (each checked); returns them as stored.
pub fn set_addresses(c: &Connection, a: &Addresses) -> Result<Addresses> {
    let lang = match a.lang.as_str() {
        "de" | "en" => a.lang.clone(),
        "" => "en".into(),
        other => {
            return Err(Error::Invalid(format!(
                "mail language {other:?} must be de or en"
            )));
        }
    };
    let inbox = check_addresses(&a.inbox)?;
    let alerts = check_addresses(&a.alerts)?;
    cstore::set_setting(c, INBOX_KEY, &inbox.join(","))?;
    cstore::set_setting(c, ALERTS_KEY, &alerts.join(","))?;
    cstore::set_setting(c, LANG_KEY, &lang)?;
    Ok(Addresses {
        inbox,
        alerts,
        lang,
    })
}

fn business_lang(a: &Addresses) -> Lang {
    if a.lang == "de" { Lang::De } else { Lang::En }
}

/// Mails go out in German or English: German for German, English for everyone else.
pub fn mail_lang(code: &str) -> Lang {
    match Lang::parse(code) {
        Some(Lang::De) => Lang::De,
        _ => Lang::En,
    }
}

/// `s` with each `{name}` replaced.
fn fill(s: &str, vars: &[(&str, &str)]) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Where the business's recurring mails (offline notices, missed-chat digests) are turned off
/// or sent elsewhere: their `List-Unsubscribe` (the page needs a sign-in with the settings
/// permission). Mails to visitors go out once each and carry none.
fn settings_url(mail: &Mail) -> String {
    format!("{}/app/settings/general", mail.base_url())
}

fn business(mail: &Mail) -> &str {
    if mail.smtp.from_name.is_empty() {
        &mail.smtp.from
    } else {
        &mail.smtp.from_name
    }
}

fn date(lang: Lang, at: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(at) else {
        return at.to_string();
    };
    match lang {
        Lang::De => format!(
            "{:02}.{:02}.{} {:02}:{:02} UTC",
            t.day(),
            u8::from(t.month()),
            t.year(),
            t.hour(),
            t.minute()
        ),
        _ => format!(
            "{}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
    }
}

/// Queues one rendered mail.
#[allow(clippy::too_many_arguments)]
fn queue(
    c: &Connection,
    mail: &Mail,
    lang: Lang,
    kind: &str,
    person: &str,
    about: &str,
    d: &Draft,
    at: i64,
) -> Result<i64> {
    let r = render(mail, lang, d, at)?;
    outbox::enqueue(
        c,
        &NewMail {
            kind,
            recipient: &d.to,
            subject: &d.subject,
            person,
            about,
            envelope_from: &mail.smtp.from,
            message: &r.bytes,
            at,
        },
    )
}

/// An offline message as it was left.
#[derive(Debug, Clone)]
pub struct Offline<'a> {
    /// Its id.
    pub id: i64,
    /// The visitor's name ("" if none).
    pub name: &'a str,
    /// The visitor's address.
    pub email: &'a str,
    /// What they wrote.
    pub message: &'a str,
    /// The site's first origin.
    pub site: &'a str,
}

/// Stores an offline message and, with email on, queues its notice to the tenant's inbox
/// addresses in the same transaction: both are kept or neither. Returns the message's id.
pub fn leave_offline(
    c: &mut Connection,
    mail: Option<&Mail>,
    m: &cstore::NewOffline<'_>,
    site: &str,
) -> Result<i64> {
    let tx = c.transaction()?;
    let id = store_offline(&tx, mail, m, site)?;
    tx.commit()?;
    Ok(id)
}

/// Stores an offline message and queues its notice and its webhook event (in the caller's
/// transaction; the event with email off too).
fn store_offline(
    c: &Connection,
    mail: Option<&Mail>,
    m: &cstore::NewOffline<'_>,
    site: &str,
) -> Result<i64> {
    let id = cstore::insert_offline(c, m)?;
    let data = || {
        serde_json::json!({
            "offline_message_id": id,
            "site": m.site_key,
            "name": m.name,
            "email": m.email,
            "message": m.message,
            "lang": m.lang,
        })
    };
    crate::domain::webhooks::emit(c, "offline_message.created", data, m.at)?;
    if let Some(mail) = mail {
        let o = Offline {
            id,
            name: m.name,
            email: m.email,
            message: m.message,
            site,
        };
        offline_received(c, mail, &o, m.at)?;
    }
    Ok(id)
}

/// A waiting chat nobody took becomes an offline message: the visitor's words so far and the
/// address they give now, linked to the chat (which goes on waiting: an agent may still take
/// it). One per chat; its notice goes out like any offline message's.
pub fn offline_from_chat(
    c: &mut Connection,
    mail: Option<&Mail>,
    conversation_id: i64,
    email: &str,
    site: &str,
    at: i64,
) -> Result<i64> {
    let email = normalize_email(email)?;
    let tx = c.transaction()?;
    let conv = cstore::conversation(&tx, conversation_id)?
        .ok_or_else(|| Error::NotFound("conversation".into()))?;
    if conv.status != "waiting" {
        return Err(Error::Conflict(
            "an agent has this chat already, or it ended".into(),
        ));
    }
    let taken: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM offline_messages WHERE conversation_id = ?1)",
        [conversation_id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(Error::Conflict(
            "this chat was left as a message already".into(),
        ));
    }
    let words: Vec<String> = cstore::all_messages(&tx, conversation_id)?
        .into_iter()
        .filter(|m| m.author == "visitor" && m.file.is_none())
        .map(|m| m.body)
        .collect();
    if words.is_empty() {
        return Err(Error::Invalid(
            "write your question in the chat first".into(),
        ));
    }
    let message = words.join("\n");
    let new = cstore::NewOffline {
        site_key: &conv.site_key,
        name: &conv.visitor_name,
        email: &email,
        message: &message,
        lang: &conv.lang,
        at,
    };
    let id = store_offline(&tx, mail, &new, site)?;
    tx.execute(
        "UPDATE offline_messages SET conversation_id = ?2 WHERE id = ?1",
        params![id, conversation_id],
    )?;
    tx.commit()?;
    Ok(id)
}

/// A new offline message: one mail to each inbox address, answering to the visitor.
pub fn offline_received(c: &Connection, mail: &Mail, m: &Offline<'_>, at: i64) -> Result<usize> {
    let to = addresses(c)?;
    let lang = business_lang(&to);
    let who = if m.name.is_empty() { m.email } else { m.name };
    let d = |addr: &str| Draft {
        to: addr.to_string(),
        reply_to: Some(m.email.to_string()),
        subject: fill(t(lang, "mail.offline.subject"), &[("name", who)]),
        paragraphs: vec![
            fill(
                t(lang, "mail.offline.intro"),
                &[("name", who), ("email", m.email), ("site", m.site)],
            ),
            m.message.to_string(),
            t(lang, "mail.offline.hint").to_string(),
        ],
        link: Some((
            t(lang, "mail.offline.open").to_string(),
            format!("{}/app/history?offline={}", mail.base_url(), m.id),
        )),
        automatic: true,
        unsubscribe: Some(settings_url(mail)),
        ..Draft::default()
    };
    let about = format!("offline:{}", m.id);
    for addr in &to.inbox {
        queue(c, mail, lang, "offline", m.email, &about, &d(addr), at)?;
    }
    Ok(to.inbox.len())
}

/// An agent's answer by email to an offline message: queued, stored with the message, and the
/// message marked handled (by whom, when). Returns the outbox id.
pub fn reply_offline(
    c: &Connection,
    mail: &Mail,
    offline_id: i64,
    agent_id: i64,
    text: &str,
    at: i64,
) -> Result<i64> {
    let text = reply_text(text)?;
    let row: Option<(String, String, String, i64, String)> = c
        .query_row(
            "SELECT name, email, message, created_at, lang FROM offline_messages WHERE id = ?1",
            [offline_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((_, email, message, created_at, lang)) = row else {
        return Err(Error::NotFound("offline message".into()));
    };
    let lang = mail_lang(&lang);
    let d = Draft {
        to: email.clone(),
        subject: fill(
            t(lang, "mail.reply.subject"),
            &[("business", business(mail))],
        ),
        paragraphs: vec![
            text.clone(),
            fill(
                t(lang, "mail.reply.quote"),
                &[("date", &date(lang, created_at))],
            ),
            quote(&message),
        ],
        ..Draft::default()
    };
    let id = queue(
        c,
        mail,
        lang,
        "reply",
        &email,
        &format!("offline:{offline_id}"),
        &d,
        at,
    )?;
    c.execute(
        "UPDATE offline_messages SET handled_at = ?2, handled_by = ?3, reply = ?4 WHERE id = ?1",
        params![offline_id, at, agent_id, text],
    )?;
    Ok(id)
}

/// An agent's answer by email to a closed chat: stored in the conversation as the agent's
/// message and queued to the visitor's address. Returns the outbox id.
pub fn reply_conversation(
    c: &Connection,
    mail: &Mail,
    conversation_id: i64,
    agent_id: i64,
    text: &str,
    at: i64,
) -> Result<i64> {
    let text = reply_text(text)?;
    let conv = cstore::conversation(c, conversation_id)?
        .ok_or_else(|| Error::NotFound("conversation".into()))?;
    if conv.status != "closed" {
        return Err(Error::Conflict(
            "the chat is still open: answer it in the chat".into(),
        ));
    }
    let to = [
        conv.visitor_email.as_str(),
        &transcript_to(c, conversation_id)?,
    ]
    .into_iter()
    .find(|a| !a.is_empty())
    .map(str::to_string)
    .ok_or_else(|| Error::Invalid("the visitor left no email address in this chat".into()))?;
    let lang = mail_lang(&conv.lang);
    let d = Draft {
        to: to.clone(),
        subject: fill(
            t(lang, "mail.chat_reply.subject"),
            &[("business", business(mail))],
        ),
        paragraphs: vec![
            text.clone(),
            fill(
                t(lang, "mail.chat_reply.about"),
                &[("date", &date(lang, conv.created_at))],
            ),
        ],
        ..Draft::default()
    };
    let id = queue(
        c,
        mail,
        lang,
        "reply",
        &to,
        &format!("conversation:{conversation_id}"),
        &d,
        at,
    )?;
    let seq = cstore::last_seq(c, conversation_id)? + 1;
    cstore::insert_message(
        c,
        &cstore::NewMessage {
            conversation_id,
            seq,
            author: "agent",
            agent_id: Some(agent_id),
            body: &text,
            client_id: None,
            file_id: None,
            at,
        },
    )?;
    Ok(id)
}

fn reply_text(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 10_000 {
        return Err(Error::Invalid(
            "the answer must have 1 to 10000 characters".into(),
        ));
    }
    Ok(text.replace("\r\n", "\n"))
}

fn quote(s: &str) -> String {
    s.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The address a visitor gave in the widget for the transcript ("" if none).
pub fn transcript_to(c: &Connection, conversation_id: i64) -> Result<String> {
    Ok(c.query_row(
        "SELECT transcript_to FROM conversations WHERE id = ?1",
        [conversation_id],
        |r| r.get(0),
    )
    .optional()?
    .unwrap_or_default())
}

/// The visitor asks for the transcript by email (checked here; sent when the chat ends).
pub fn ask_for_transcript(c: &Connection, conversation_id: i64, address: &str) -> Result<String> {
    let address = normalize_email(address)?;
    c.execute(
        "UPDATE conversations SET transcript_to = ?2 WHERE id = ?1",
        params![conversation_id, address],
    )?;
    Ok(address)
}

/// The conversation as text, in the visitor's language (the transcript download and mail).
pub fn transcript_text(c: &Connection, conversation_id: i64, lang: Lang) -> Result<String> {
    let mut text = format!("{}\n\n", t(lang, "transcript.title"));
    for m in cstore::all_messages(c, conversation_id)? {
        let who = match m.author.as_str() {
            "visitor" => t(lang, "transcript.you").to_string(),
            "agent" => cstore::agent_name(c, m.agent_id.unwrap_or(0))?,
            "auto" => t(lang, "transcript.auto").to_string(),
            _ => "–".to_string(),
        };
        let body = match (m.author.as_str(), m.body.as_str()) {
            ("system", "accepted") => t(lang, "transcript.accepted").to_string(),
            ("system", "closed") => t(lang, "transcript.closed").to_string(),
            _ => m.body,
        };
        text.push_str(&format!(
            "[{}] {who}: {body}\n",
            crate::clock::rfc3339(m.created_at)
        ));
    }
    Ok(text)
}

/// A chat ended (inside the hub's transaction): the transcript to the visitor if they asked
/// for it, and a missed-chat notice if nobody ever took it.
pub fn chat_closed(c: &Connection, mail: &Mail, conversation_id: i64, at: i64) -> Result<()> {
    send_transcript(c, mail, conversation_id, at)?;
    let accepted: Option<i64> = c.query_row(
        "SELECT accepted_at FROM conversations WHERE id = ?1",
        [conversation_id],
        |r| r.get(0),
    )?;
    let wrote = cstore::all_messages(c, conversation_id)?
        .iter()
        .any(|m| m.author == "visitor");
    if accepted.is_none() && wrote {
        missed(c, mail, conversation_id, at)?;
    }
    Ok(())
}

/// Queues the transcript to the address the visitor gave, if they gave one (once: asking
/// again after it went replaces nothing and sends it again, as asked).
pub fn send_transcript(c: &Connection, mail: &Mail, conversation_id: i64, at: i64) -> Result<()> {
    let Some(conv) = cstore::conversation(c, conversation_id)? else {
        return Ok(());
    };
    let to = transcript_to(c, conversation_id)?;
    if !to.is_empty() && normalize_email(&to).is_ok() && !blocked(c, conversation_id)? {
        let lang = mail_lang(&conv.lang);
        let d = Draft {
            to: to.clone(),
            subject: fill(
                t(lang, "mail.transcript.subject"),
                &[("business", business(mail))],
            ),
            paragraphs: vec![
                t(lang, "mail.transcript.intro").to_string(),
                transcript_text(c, conversation_id, lang)?,
                t(lang, "mail.transcript.once").to_string(),
            ],
            automatic: true,
            ..Draft::default()
        };
        let about = format!("conversation:{conversation_id}");
        queue(c, mail, lang, "transcript", &to, &about, &d, at)?;
    }
    Ok(())
}

/// Whether the visitor of a conversation was blocked from it (a block made from this chat
/// and not lifted): such a chat ends with no transcript.
fn blocked(c: &Connection, conversation_id: i64) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM blocks WHERE conversation_id = ?1 AND lifted_at IS NULL)",
        [conversation_id],
        |r| r.get(0),
    )?)
}

/// A chat that nobody took: added to the tenant's queued digest, or a new digest that goes
/// out no sooner than five minutes after the last one.
fn missed(c: &Connection, mail: &Mail, conversation_id: i64, at: i64) -> Result<()> {
    let to = addresses(c)?;
    let recipients = if to.alerts.is_empty() {
        &to.inbox
    } else {
        &to.alerts
    };
    if recipients.is_empty() {
        return Ok(());
    }
    let lang = business_lang(&to);
    // The digests still queued (one per recipient) grow; else new ones are queued.
    let queued = outbox::queued_of_kind(c, "missed")?;
    let last = outbox::last_of_kind(c, "missed")?;
    for addr in recipients {
        let (id, mut ids) = match queued.iter().find(|(_, r, _)| r == addr) {
            Some((id, _, about)) => (Some(*id), parse_ids(about)),
            None => (None, Vec::new()),
        };
        if !ids.contains(&conversation_id) {
            ids.push(conversation_id);
        }
        let d = missed_draft(c, mail, lang, addr, &ids)?;
        let about = format!(
            "conversations:{}",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        );
        let r = render(mail, lang, &d, at)?;
        match id {
            Some(id) => {
                outbox::replace_queued(c, id, &d.subject, &about, &r.bytes)?;
            }
            None => {
                let id = outbox::enqueue(
                    c,
                    &NewMail {
                        kind: "missed",
                        recipient: addr,
                        subject: &d.subject,
                        person: "",
                        about: &about,
                        envelope_from: &mail.smtp.from,
                        message: &r.bytes,
                        at,
                    },
                )?;
                if let Some(last) = last {
                    outbox::defer(c, id, last + MISSED_EVERY)?;
                }
            }
        }
    }
    Ok(())
}

fn parse_ids(about: &str) -> Vec<i64> {
    about
        .trim_start_matches("conversations:")
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn missed_draft(c: &Connection, mail: &Mail, lang: Lang, to: &str, ids: &[i64]) -> Result<Draft> {
    let mut lines = Vec::new();
    for id in ids {
        let Some(conv) = cstore::conversation(c, *id)? else {
            continue;
        };
        let first = cstore::all_messages(c, *id)?
            .into_iter()
            .find(|m| m.author == "visitor")
            .map(|m| m.body.chars().take(200).collect::<String>())
            .unwrap_or_default();
        let who = if conv.visitor_name.is_empty() {
            t(lang, "mail.missed.anonymous").to_string()
        } else {
            conv.visitor_name.clone()
        };
        lines.push(format!("{} – {who}: {first}", date(lang, conv.created_at)));
    }
    let count = lines.len().to_string();
    Ok(Draft {
        to: to.to_string(),
        subject: fill(t(lang, "mail.missed.subject"), &[("count", &count)]),
        paragraphs: vec![t(lang, "mail.missed.intro").to_string(), lines.join("\n")],
        link: Some((
            t(lang, "mail.missed.open").to_string(),
            format!("{}/app/history", mail.base_url()),
        )),
        automatic: true,
        unsubscribe: Some(settings_url(mail)),
        ..Draft::default()
    })
}

/// A set-up link (invitation or password reset, by the link's path) to the agent it is for,
/// in the tenant's mail language.
pub fn agent_link(c: &Connection, mail: &Mail, agent_id: i64, path: &str, at: i64) -> Result<i64> {
    let agent = crate::store::tenant::agent_by_id(c, agent_id)?
        .ok_or_else(|| Error::NotFound("agent".into()))?;
    let invite = crate::store::links::invited(c, agent_id)?;
    let lang = business_lang(&addresses(c)?);
    let (to, name) = (agent.email.as_str(), agent.display_name.as_str());
    let url = format!("{}{path}", mail.base_url());
    let expires_at = at + crate::domain::setup::LINK_SECS;
    let (kind, subject, body) = if invite {
        ("invite", "mail.invite.subject", "mail.invite.body")
    } else {
        ("reset", "mail.reset.subject", "mail.reset.body")
    };
    let d = Draft {
        to: to.to_string(),
        subject: fill(t(lang, subject), &[("business", business(mail))]),
        paragraphs: vec![fill(
            t(lang, body),
            &[
                ("name", name),
                ("business", business(mail)),
                ("expires", &date(lang, expires_at)),
            ],
        )],
        link: Some((t(lang, "mail.link.setup").to_string(), url)),
        automatic: true,
        ..Draft::default()
    };
    queue(c, mail, lang, kind, "", "", &d, at)
}

/// The same operator alert goes out at most once in this many seconds.
pub const ALERT_EVERY: i64 = 86_400;

/// An alert to the operator (`[smtp] operator_address`), queued in `system.db`: `what` is
/// `backup`, `integrity` or `disk`. None when no operator address is configured, or when the
/// same alert went out in the last day. Whether one was queued.
pub fn operator_alert(
    c: &Connection,
    mail: &Mail,
    what: &str,
    detail: &str,
    at: i64,
) -> Result<bool> {
    let Some(to) = mail.smtp.operator_address.clone() else {
        return Ok(false);
    };
    if outbox::last_about(c, "alert", what)?.is_some_and(|last| at - last < ALERT_EVERY) {
        return Ok(false);
    }
    let lang = Lang::En;
    let d = Draft {
        to,
        subject: format!("kontor: {}", t(lang, &format!("mail.alert.{what}"))),
        paragraphs: vec![
            t(lang, &format!("mail.alert.{what}")).to_string(),
            detail.to_string(),
            t(lang, "mail.alert.footer").to_string(),
        ],
        link: Some(("kontor".into(), format!("{}/healthz", mail.base_url()))),
        automatic: true,
        ..Draft::default()
    };
    queue(c, mail, lang, "alert", "", what, &d, at)?;
    Ok(true)
}

/// A test mail (`kontor smtp test`), queued nowhere: rendered for sending at once.
pub fn test_mail(mail: &Mail, to: &str, at: i64) -> Result<Vec<u8>> {
    let to = normalize_email(to)?;
    let lang = Lang::En;
    let d = Draft {
        to,
        subject: t(lang, "mail.test.subject").to_string(),
        paragraphs: vec![t(lang, "mail.test.body").to_string()],
        automatic: true,
        ..Draft::default()
    };
    Ok(render(mail, lang, &d, at)?.bytes)
}
