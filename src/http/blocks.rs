//! Blocking visitors: an agent who may chat blocks the visitor of a chat or of the visitor
//! list for a while (their browser, and on request their truncated address), lists the
//! blocks and lifts one early. Every block and lift is audited.

use super::agent::{Agent, Reply};
use super::chats::{may_read, reader, require_chats};
use crate::error::{ApiError, Error};
use crate::model::blocks;
use crate::realtime::hub::Command;
use crate::realtime::hub::blocks::{BlockRequest, Target};
use crate::store::blocks as bstore;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// Body of `POST /api/blocks`: exactly one of `conversation_id` and `visitor_id`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBlock {
    #[serde(default)]
    conversation_id: Option<i64>,
    #[serde(default)]
    visitor_id: Option<i64>,
    /// Block the truncated address too.
    #[serde(default)]
    address: bool,
    /// `1h`, `1d` or `30d`.
    period: String,
    #[serde(default)]
    reason: String,
}

/// `POST /api/blocks` → 201 `{id, expires_at}`.
pub async fn create(a: Agent, body: Json<NewBlock>) -> Reply {
    a.csrf()?;
    require_chats(&a.session)?;
    let b = body.into_inner();
    let secs = blocks::period_secs(&b.period)?;
    let reason = match b.reason.trim() {
        "" => String::new(),
        r => crate::model::tenants::clean_name("reason", r, blocks::REASON_MAX)?,
    };
    let target = match (b.conversation_id, b.visitor_id) {
        (Some(id), None) => {
            let r = reader(&a.session);
            if !a.read(move |c| may_read(c, id, r)).await? {
                return Err(a.denied(format!("conversation#{id}")).await);
            }
            Target::Conversation(id)
        }
        (None, Some(id)) => {
            a.may(crate::model::rights::Permission::VisitorsView)?;
            Target::Visitor(id)
        }
        _ => {
            return Err(ApiError::bad_request(
                "name exactly one of conversation_id and visitor_id",
            ));
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    a.tell_started_hub(Command::Block(BlockRequest {
        target,
        address: b.address,
        secs,
        reason,
        agent_id: a.session.agent.id,
        reply: tx,
    }))
    .await?;
    let id = rx
        .await
        .map_err(|_| Error::Internal("the hub did not answer".into()))?
        .map_err(Error::Invalid)?;
    a.audit("block.create", &format!("block#{id}")).await;
    Ok(HttpResponse::Created().json(serde_json::json!({ "id": id, "expires_at": a.now() + secs })))
}

/// `GET /api/blocks`: every stored block, newest first.
pub async fn list(a: Agent) -> Reply {
    require_chats(&a.session)?;
    let rows = a.read(|c| bstore::list(c)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "blocks": rows })))
}

/// `DELETE /api/blocks/{id}`: lifts a block in force (204), 404 for one that is not.
pub async fn lift(a: Agent, id: Path<i64>) -> Reply {
    a.csrf()?;
    require_chats(&a.session)?;
    let (id, by, now) = (id.into_inner(), a.session.agent.id, a.now());
    if !a.db(move |c| bstore::lift(c, id, by, now)).await? {
        return Err(ApiError::not_found());
    }
    a.tell_hub(Command::BlocksChanged);
    a.audit("block.lift", &format!("block#{id}")).await;
    Ok(HttpResponse::NoContent().finish())
}
