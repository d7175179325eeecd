//! Agent APIs around chats: history search, one conversation's log, the offline inbox.
//! Each needs the chat permission; other agents' chats need the permission to see all chats.

use super::agent::{Agent, Reply};
use super::session::require;
use crate::domain::auth::Session;
use crate::error::{ApiError, Error};
use crate::model::attachment::FileRef;
use crate::model::rights::Permission;
use crate::store::chat as cstore;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// Query of the history search.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Text in name, email or messages.
    #[serde(default)]
    q: String,
    /// Start date `YYYY-MM-DD` (inclusive, UTC).
    #[serde(default)]
    from: Option<String>,
    /// End date `YYYY-MM-DD` (inclusive, UTC).
    #[serde(default)]
    to: Option<String>,
}

/// Chats are for agents who may chat or see all chats.
pub fn require_chats(s: &Session) -> Result<(), ApiError> {
    if s.agent.may(Permission::ChatsAll) {
        return Ok(());
    }
    require(s, Permission::Chat)
}

/// The agent whose chats alone this session may read, unless it may read every chat.
fn own_only(s: &Session) -> Option<i64> {
    (!s.agent.may(Permission::ChatsAll)).then_some(s.agent.id)
}

/// What an agent may read: with `own_only`, their own chats and the waiting ones they may take
/// (see [`own_only`]); chats under a restriction of processing (GDPR Art. 18) only with the
/// data-subject-requests permission.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    /// Only this agent's chats (without `chats.all`).
    pub own_only: Option<i64>,
    /// Restricted chats, offline messages and visitors too.
    pub restricted_too: bool,
}

/// The agent's [`Reader`].
pub fn reader(s: &Session) -> Reader {
    Reader {
        own_only: own_only(s),
        restricted_too: s.agent.may(Permission::GdprHandle),
    }
}

/// Whether the conversation exists and is readable by `r`.
pub fn may_read(c: &rusqlite::Connection, id: i64, r: Reader) -> crate::error::Result<bool> {
    let Some(cv) = cstore::conversation(c, id)? else {
        return Ok(false);
    };
    if !r.restricted_too && crate::store::restrictions::is_restricted(c, "conversation", id)? {
        return Ok(false);
    }
    let Some(agent) = r.own_only else {
        return Ok(true);
    };
    if cv.agent_id == Some(agent) {
        return Ok(true);
    }
    // Waiting chats without a department, or of one of the agent's departments.
    Ok(cv.status == "waiting"
        && match cv.department_id {
            None => true,
            Some(d) => cstore::agent_departments(c, agent)?.contains(&d),
        })
}

/// Unix seconds of midnight UTC of a `YYYY-MM-DD` date.
fn day_start(s: &str) -> Result<i64, ApiError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| ApiError::bad_request(format!("{s:?} is not a date like 2026-11-27")))
}

/// `GET /api/conversations?q=&from=&to=`: history, newest first.
pub async fn history(a: Agent, query: web::Query<HistoryQuery>) -> Reply {
    require_chats(&a.session)?;
    let q = query.into_inner();
    if q.q.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "search text is limited to 200 characters",
        ));
    }
    let from = q
        .from
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(day_start)
        .transpose()?;
    let to =
        q.to.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| day_start(s).map(|t| t + 86_400))
            .transpose()?;
    let r = reader(&a.session);
    let words = q.q.trim().to_lowercase();
    if !words.is_empty() {
        // A search for a person's name is itself personal: the log names a pseudonym of it.
        let h = crate::store::gdpr::identifier_hash(a.tenant_uuid(), "search", &words);
        a.read_logged("history.search", &format!("search#{}", &h[..12]));
    }
    let rows = a
        .read(move |c| cstore::search(c, q.q.trim(), from, to, r.own_only, !r.restricted_too, 200))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "conversations": rows })))
}

#[derive(serde::Serialize)]
struct LogEntry {
    seq: i64,
    author: String,
    author_name: Option<String>,
    text: String,
    file: Option<FileRef>,
    at: i64,
}

/// `GET /api/conversations/{id}/messages`: one conversation's whole log.
pub async fn messages(a: Agent, id: web::Path<i64>) -> Reply {
    require_chats(&a.session)?;
    let id = id.into_inner();
    let r = reader(&a.session);
    let log = a
        .read(move |c| {
            if !may_read(c, id, r)? {
                return Ok(None);
            }
            cstore::all_messages(c, id)?
                .into_iter()
                .map(|m| {
                    // As on the socket: agent messages and agent-caused system entries
                    // name the agent.
                    let author_name = match m.agent_id {
                        Some(a) if m.author != "visitor" => Some(cstore::agent_name(c, a)?),
                        _ => None,
                    };
                    Ok(LogEntry {
                        seq: m.seq,
                        author: m.author,
                        author_name,
                        text: m.body,
                        file: m.file,
                        at: m.created_at,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()
                .map(Some)
        })
        .await?;
    let Some(log) = log else {
        return Err(a.denied(format!("conversation#{id}")).await);
    };
    a.read_logged("conversation", &format!("conversation#{id}"));
    Ok(HttpResponse::Ok().json(serde_json::json!({ "conversation_id": id, "messages": log })))
}

/// `GET /api/offline`: messages left while nobody was online, newest first.
pub async fn offline_inbox(a: Agent) -> Reply {
    require_chats(&a.session)?;
    let hide = !reader(&a.session).restricted_too;
    let rows = a.db(move |c| cstore::list_offline(c, hide, 500)).await?;
    a.read_logged("offline", &format!("inbox ({} messages)", rows.len()));
    // Whether "Reply by email" can be offered.
    let email = a.state.mail.is_some();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "messages": rows, "email": email })))
}

/// `GET /api/departments`: the tenant's departments (for transfers).
pub async fn departments(a: Agent) -> Reply {
    // Those who manage the team list them too (Settings › Departments), chatting or not.
    if !a.session.agent.may(Permission::AgentsManage) {
        require_chats(&a.session)?;
    }
    let rows = a.db(|c| crate::store::tenant::list_departments(c)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "departments": rows })))
}
