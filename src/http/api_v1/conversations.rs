//! Conversations: a filtered, paged list; one with its messages; and what an agent does in a
//! chat (close it, add an internal note, answer), carried out by the tenant's hub exactly as
//! the same frame from the agent's socket would be.

use super::{Page, after_cursor, etagged, frame_refusal, limit, page_of};
use crate::domain::conversation::AgentCtx;
use crate::domain::protocol::{AgentIn, Out};
use crate::error::{ApiError, Code};
use crate::http::agent::{Agent, Reply};
use crate::http::chats::{may_read, reader, require_chats};
use crate::realtime::hub::{AgentCall, Command};
use crate::store::chat::{self as cstore, ListedConversation};
use actix_web::web::{Json, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One entry of a conversation's log.
#[derive(Serialize, ToSchema)]
pub struct MessageV1 {
    /// Its place in the log.
    pub seq: i64,
    /// `visitor`, `agent` or `system`.
    pub author: String,
    /// The agent's name, for agent messages and what an agent caused.
    pub author_name: Option<String>,
    /// The text.
    pub text: String,
    /// An attached file's name and type.
    pub file: Option<FileV1>,
    /// Unix seconds.
    pub at: i64,
}

/// A file sent in a chat.
#[derive(Serialize, ToSchema)]
pub struct FileV1 {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its type, from its bytes.
    pub mime: String,
    /// Bytes.
    pub size: i64,
}

/// A conversation with its log.
#[derive(Serialize, ToSchema)]
pub struct ConversationWithMessages {
    /// The conversation.
    pub conversation: ListedConversation,
    /// Its log, oldest first.
    pub messages: Vec<MessageV1>,
}

/// Filters of the list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `waiting`, `open` or `closed`.
    status: Option<String>,
    /// One site's key.
    site: Option<String>,
    /// One agent's id.
    agent: Option<i64>,
    /// Started at or after, Unix seconds.
    since: Option<i64>,
    /// Started before, Unix seconds.
    until: Option<i64>,
    /// 1-200, default 50.
    limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Conversations the token's agent may see, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ListQuery),
    responses((status = 200, body = Page<ListedConversation>),
              (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
              (status = 403, body = super::ErrorBody)))]
pub async fn list(a: Agent, q: Query<ListQuery>) -> Reply {
    require_chats(&a.session)?;
    let q = q.into_inner();
    if let Some(s) = q.status.as_deref()
        && !["waiting", "open", "closed"].contains(&s)
    {
        return Err(ApiError::bad_request("status is waiting, open or closed"));
    }
    let n = limit(q.limit)?;
    let r = reader(&a.session);
    let filter = cstore::PageFilter {
        status: q.status,
        site_key: q.site,
        agent_id: q.agent,
        since: q.since,
        until: q.until,
        before_id: after_cursor(&a, "conversations", q.cursor.as_deref())?,
        own_only: r.own_only,
        hide_restricted: !r.restricted_too,
    };
    let rows = a.read(move |c| cstore::page(c, &filter, n + 1)).await?;
    a.read_logged(
        "conversations",
        &format!("list ({} conversations)", rows.len()),
    );
    let page = page_of(&a, "conversations", rows, n, |c| c.id);
    Ok(HttpResponse::Ok().json(page))
}

/// One conversation with its whole log (`ETag`; `If-None-Match` answers 304).
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    responses((status = 200, body = ConversationWithMessages), (status = 304, description = "Unchanged"),
              (status = 401, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn show(a: Agent, id: Path<i64>, req: HttpRequest) -> Reply {
    require_chats(&a.session)?;
    let id = id.into_inner();
    let r = reader(&a.session);
    let found = a
        .read(move |c| {
            if !may_read(c, id, r)? {
                return Ok(None);
            }
            let Some(conv) = cstore::listed(c, id)? else {
                return Ok(None);
            };
            let mut messages = Vec::new();
            for m in cstore::all_messages(c, id)? {
                let author_name = match m.agent_id {
                    Some(a) if m.author != "visitor" => Some(cstore::agent_name(c, a)?),
                    _ => None,
                };
                messages.push(MessageV1 {
                    seq: m.seq,
                    author: m.author,
                    author_name,
                    text: m.body,
                    file: m.file.map(|f| FileV1 {
                        id: f.id,
                        name: f.name,
                        mime: f.mime,
                        size: f.size,
                    }),
                    at: m.created_at,
                });
            }
            Ok(Some(ConversationWithMessages {
                conversation: conv,
                messages,
            }))
        })
        .await?;
    let Some(found) = found else {
        return Err(a.denied(format!("conversation#{id}")).await);
    };
    a.read_logged("conversation", &format!("conversation#{id}"));
    etagged(&req, &found)
}

/// A text for a chat: an answer or a note.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    /// 1-4000 characters.
    text: String,
    /// Your id for it (1-64 of `A-Za-z0-9-_`): a retry with the same id is stored once.
    client_id: Option<String>,
}

/// Where a new entry was stored.
#[derive(Serialize, ToSchema)]
pub struct Stored {
    /// The conversation.
    pub conversation_id: i64,
    /// The entry's place in the log (a note: its id).
    pub seq: i64,
    /// The client id it was stored under.
    pub client_id: String,
}

/// Ends the chat (as the token's agent, who must have it).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/close", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    responses((status = 204, description = "Ended"), (status = 401, body = super::ErrorBody),
              (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody)))]
pub async fn close(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(crate::model::rights::Permission::Chat)?;
    let conversation_id = id.into_inner();
    call(&a, AgentIn::Close { conversation_id }).await?;
    a.audit(
        "conversation.close",
        &format!("conversation#{conversation_id}"),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds an internal note (agents see it, the visitor never does).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/notes", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")), request_body = TextBody,
    responses((status = 201, body = Stored), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn note(a: Agent, id: Path<i64>, body: Json<TextBody>) -> Reply {
    a.may_change(crate::model::rights::Permission::Chat)?;
    let (conversation_id, b) = (id.into_inner(), body.into_inner());
    let client_id = b.client_id.unwrap_or_else(new_client_id);
    let frame = AgentIn::Note {
        conversation_id,
        client_id: client_id.clone(),
        text: b.text,
    };
    stored(conversation_id, client_id, call(&a, frame).await?)
}

/// Sends a message to the visitor as the token's agent (who must have the chat).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")), request_body = TextBody,
    responses((status = 201, body = Stored), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn message(a: Agent, id: Path<i64>, body: Json<TextBody>) -> Reply {
    a.may_change(crate::model::rights::Permission::Chat)?;
    let (conversation_id, b) = (id.into_inner(), body.into_inner());
    let client_id = b.client_id.unwrap_or_else(new_client_id);
    let frame = AgentIn::Message {
        conversation_id,
        client_id: client_id.clone(),
        text: b.text,
    };
    stored(conversation_id, client_id, call(&a, frame).await?)
}

fn new_client_id() -> String {
    format!("api-{}", &crate::crypto::random_token()[..32])
}

/// 201 with where the hub stored the entry (its ack, or a note's echo).
fn stored(conversation_id: i64, client_id: String, told: Vec<Out>) -> Reply {
    let seq = told.iter().find_map(|f| match f {
        Out::Ack { seq, .. } => Some(*seq),
        Out::Noted { id, .. } => Some(*id),
        _ => None,
    });
    match seq {
        Some(seq) => Ok(HttpResponse::Created().json(Stored {
            conversation_id,
            seq,
            client_id,
        })),
        None => Err(ApiError::of(Code::InternalError, "not stored; retry")),
    }
}

/// Runs an agent frame through the tenant's hub and waits for the commit; a refusal the
/// rules give (not the agent's chat, ended, too long) becomes the answer.
async fn call(a: &Agent, frame: AgentIn) -> Result<Vec<Out>, ApiError> {
    let agent = &a.session.agent;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let ctx = AgentCtx {
        agent_id: agent.id,
        name: agent.display_name.clone(),
        permissions: agent.permissions,
        at: a.now(),
    };
    a.tell_started_hub(Command::AgentCall(AgentCall { ctx, frame, reply }))
        .await?;
    let told = answer
        .await
        .map_err(|_| ApiError::of(Code::Busy, "the server is busy; retry"))?
        .map_err(|e| frame_refusal(&e))?;
    match told.iter().find(|f| matches!(f, Out::Error { .. })) {
        Some(refusal) => Err(frame_refusal(refusal)),
        None => Ok(told),
    }
}
