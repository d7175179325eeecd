//! Who a request is about and everything stored about them: a request names the person by
//! email, name, visitor id or chat id ([`By`]); [`resolve`] finds their rows, then once more
//! through what those rows name (see the parent module); [`counts`] says how much there is.

use crate::error::{Error, Result};
use crate::store::rows;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How the person is named in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum By {
    /// An email address (any case).
    Email(String),
    /// A name as given in a chat or offline message (any case, exact otherwise).
    Name(String),
    /// A visitor id as the dashboard shows it.
    Visitor(i64),
    /// A chat id.
    Chat(i64),
}

impl By {
    /// Checks and normalises a request (`by` = email, name, visitor or chat).
    pub fn parse(by: &str, value: &str) -> Result<By> {
        let v = value.trim();
        let id = |what: &str| {
            v.trim_start_matches('#')
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::Invalid(format!("{what}: give the number, e.g. 42")))
        };
        match by {
            "email" => {
                let e = v.to_lowercase();
                if e.len() > 254 || !e.contains('@') || e.chars().any(char::is_whitespace) {
                    return Err(Error::Invalid("email: give one email address".into()));
                }
                Ok(By::Email(e))
            }
            "name" => {
                let n = v.to_lowercase();
                if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
                    return Err(Error::Invalid("name: 1 to 200 characters".into()));
                }
                Ok(By::Name(n))
            }
            "visitor" => Ok(By::Visitor(id("visitor id")?)),
            "chat" => Ok(By::Chat(id("chat id")?)),
            other => Err(Error::Invalid(format!(
                "unknown search {other:?}: use email, name, visitor or chat"
            ))),
        }
    }

    /// (`email`, value) for messages and the audit trail (the value itself is personal).
    pub fn kind(&self) -> &'static str {
        match self {
            By::Email(_) => "email",
            By::Name(_) => "name",
            By::Visitor(_) => "visitor",
            By::Chat(_) => "chat",
        }
    }
}

/// Everything found, by row id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// Chats.
    pub conversations: BTreeSet<i64>,
    /// Offline messages.
    pub offline: BTreeSet<i64>,
    /// Visitor records.
    pub visitors: BTreeSet<i64>,
    /// Emails given in those chats and messages (lower case).
    pub emails: BTreeSet<String>,
    /// The name searched for, if the search was by name.
    pub names: BTreeSet<String>,
    /// Mails in the outbox to or about them, or about their chats and offline messages.
    pub mails: BTreeSet<i64>,
}

/// The ids (first column) the query finds.
fn ids(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<BTreeSet<i64>> {
    rows::all(c, sql, p, |r| r.get(0))
}

pub(crate) fn list(set: &BTreeSet<i64>) -> String {
    set.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Resolves the request to row ids (see the module's comment).
pub fn resolve(c: &Connection, by: &By) -> Result<Subject> {
    let mut s = Subject::default();
    match by {
        By::Email(e) => {
            s.emails.insert(e.clone());
        }
        By::Name(n) => {
            s.names.insert(n.clone());
            s.conversations = ids(
                c,
                "SELECT id FROM conversations WHERE lower(visitor_name) = ?1",
                [n],
            )?;
            // A name typed into a text field of the pre-chat form.
            s.conversations.extend(ids(
                c,
                "SELECT conversation_id FROM conversation_fields
                 WHERE kind = 'text' AND lower(value) = ?1",
                [n],
            )?);
            s.offline = ids(
                c,
                "SELECT id FROM offline_messages WHERE lower(name) = ?1",
                [n],
            )?;
        }
        By::Visitor(v) => {
            s.visitors = ids(c, "SELECT id FROM visitors WHERE id = ?1", [v])?;
        }
        By::Chat(k) => {
            s.conversations = ids(c, "SELECT id FROM conversations WHERE id = ?1", [k])?;
        }
    }
    // Then through what was found, until nothing new turns up: the emails given in their
    // chats and offline messages, the visitor records their chats came from, and the chats
    // of those emails and visitor records. (A few rounds at most; the bound stops a chain of
    // shared browsers from sweeping in strangers.)
    for _ in 0..4 {
        let before = (
            s.conversations.len(),
            s.offline.len(),
            s.visitors.len(),
            s.emails.len(),
        );
        let chats = list(&s.conversations);
        let given: Vec<(String, Option<i64>)> = rows::all(
            c,
            &format!(
                "SELECT lower(visitor_email), visitor_id FROM conversations WHERE id IN ({chats})"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (email, visitor) in given {
            if !email.is_empty() {
                s.emails.insert(email);
            }
            s.visitors.extend(visitor);
        }
        // Addresses given in the pre-chat form's email fields.
        s.emails.extend(rows::all::<String, Vec<_>>(
            c,
            &format!(
                "SELECT lower(value) FROM conversation_fields
                 WHERE conversation_id IN ({chats}) AND kind = 'email' AND value <> ''"
            ),
            [],
            |r| r.get(0),
        )?);
        let offline = list(&s.offline);
        s.emails.extend(rows::all::<String, Vec<_>>(
            c,
            &format!(
                "SELECT lower(email) FROM offline_messages WHERE id IN ({offline}) AND email <> ''"
            ),
            [],
            |r| r.get(0),
        )?);
        for e in s.emails.clone() {
            s.conversations.extend(ids(
                c,
                "SELECT id FROM conversations WHERE lower(visitor_email) = ?1
                 UNION SELECT conversation_id FROM conversation_fields
                 WHERE kind = 'email' AND lower(value) = ?1",
                [&e],
            )?);
            s.offline.extend(ids(
                c,
                "SELECT id FROM offline_messages WHERE lower(email) = ?1",
                [&e],
            )?);
        }
        let visitors = list(&s.visitors);
        s.conversations.extend(ids(
            c,
            &format!("SELECT id FROM conversations WHERE visitor_id IN ({visitors})"),
            [],
        )?);
        if before
            == (
                s.conversations.len(),
                s.offline.len(),
                s.visitors.len(),
                s.emails.len(),
            )
        {
            break;
        }
    }
    s.mails = crate::store::outbox::of_subject(c, &s.emails, &s.conversations, &s.offline)?;
    Ok(s)
}

/// How many items of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Chats.
    pub conversations: u64,
    /// Their messages.
    pub messages: u64,
    /// Agents' notes on them.
    pub notes: u64,
    /// Files sent in them.
    pub files: u64,
    /// Offline messages.
    pub offline_messages: u64,
    /// Visitor records.
    pub visitors: u64,
    /// Visits.
    pub visits: u64,
    /// Page views.
    pub page_views: u64,
    /// Goals reached.
    pub conversions: u64,
    /// Invitations shown.
    pub invitations: u64,
    /// Mails in the outbox (queued, sent or failed).
    #[serde(default)]
    pub mails: u64,
}

impl Counts {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }

    /// Adds `o`'s counts to these.
    pub fn add(&mut self, o: &Counts) {
        self.conversations += o.conversations;
        self.messages += o.messages;
        self.notes += o.notes;
        self.files += o.files;
        self.offline_messages += o.offline_messages;
        self.visitors += o.visitors;
        self.visits += o.visits;
        self.page_views += o.page_views;
        self.conversions += o.conversions;
        self.invitations += o.invitations;
        self.mails += o.mails;
    }

    /// All items.
    pub fn total(&self) -> u64 {
        self.conversations
            + self.messages
            + self.notes
            + self.files
            + self.offline_messages
            + self.visitors
            + self.visits
            + self.page_views
            + self.conversions
            + self.invitations
            + self.mails
    }
}

fn n(c: &Connection, sql: &str) -> Result<u64> {
    Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// Counts what belongs to `s`.
pub fn counts(c: &Connection, s: &Subject) -> Result<Counts> {
    let (k, o, v) = (list(&s.conversations), list(&s.offline), list(&s.visitors));
    let visits = format!("SELECT id FROM visits WHERE visitor_id IN ({v})");
    Ok(Counts {
        mails: s.mails.len() as u64,
        conversations: s.conversations.len() as u64,
        messages: n(
            c,
            &format!("SELECT count(*) FROM messages WHERE conversation_id IN ({k})"),
        )?,
        notes: n(
            c,
            &format!("SELECT count(*) FROM notes WHERE conversation_id IN ({k})"),
        )?,
        files: n(
            c,
            &format!("SELECT count(*) FROM files WHERE conversation_id IN ({k})"),
        )?,
        offline_messages: n(
            c,
            &format!("SELECT count(*) FROM offline_messages WHERE id IN ({o})"),
        )?,
        visitors: s.visitors.len() as u64,
        visits: n(c, &format!("SELECT count(*) FROM ({visits})"))?,
        page_views: n(
            c,
            &format!("SELECT count(*) FROM page_views WHERE visit_id IN ({visits})"),
        )?,
        conversions: n(
            c,
            &format!("SELECT count(*) FROM conversions WHERE visit_id IN ({visits})"),
        )?,
        invitations: n(
            c,
            &format!("SELECT count(*) FROM invitations WHERE visit_id IN ({visits})"),
        )?,
    })
}
