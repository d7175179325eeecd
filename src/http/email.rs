//! Email in the dashboard: whether it is on, where the tenant's mails go, the outbox with each
//! mail's state, and answering an offline message or a closed chat by email.

use super::agent::{Agent, Reply};
use super::chats::{may_read, reader, require_chats};
use crate::domain::email::{self, Mail, events};
use crate::error::{ApiError, Error};
use crate::model::rights::Permission;
use crate::store::outbox;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;
use std::sync::Arc;

/// Email state and outbox are for those who manage settings; the rest see whether it is on.
fn email_off() -> ApiError {
    Error::Conflict("email is off: the operator has not configured [smtp] on this server".into())
        .into()
}

/// `GET /api/email`: `{enabled, from, addresses, backlog, outbox}`.
pub async fn show(a: Agent) -> Reply {
    a.may(Permission::SettingsManage)?;
    let (addresses, backlog, rows) = a
        .read(|c| {
            Ok((
                events::addresses(c)?,
                outbox::backlog(c)?,
                outbox::list(c, 200)?,
            ))
        })
        .await?;
    let from = a
        .state
        .mail
        .as_ref()
        .map(|m| serde_json::json!({ "address": m.smtp.from, "name": m.smtp.from_name }));
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "enabled": a.state.mail.is_some(),
        "from": from,
        "addresses": addresses,
        "backlog": backlog,
        "outbox": rows,
    })))
}

/// `PUT /api/email/addresses`: where offline messages and missed-chat notices go.
pub async fn set_addresses(a: Agent, body: Json<events::Addresses>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let b = body.into_inner();
    let saved = a.db(move |c| events::set_addresses(c, &b)).await?;
    a.audit("settings.update", "email").await;
    Ok(HttpResponse::Ok().json(saved))
}

/// Body of the two reply calls.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    text: String,
}

/// The checks both answers share: the CSRF token, the chat permission, and email on.
fn may_reply(a: &Agent) -> Result<Arc<Mail>, ApiError> {
    a.csrf()?;
    require_chats(&a.session)?;
    a.state.mail.clone().ok_or_else(email_off)
}

/// After an answer was queued: the sender is woken, the answer audited (`object` names what
/// it answered) and its outbox id given back.
async fn replied(a: &Agent, object: String, mail_id: i64) -> Reply {
    wake(a);
    a.audit("email.reply", &object).await;
    Ok(HttpResponse::Created().json(serde_json::json!({ "mail_id": mail_id })))
}

/// `POST /api/offline/{id}/reply`: answers an offline message by email; it is then handled.
pub async fn reply_offline(a: Agent, id: Path<i64>, body: Json<ReplyBody>) -> Reply {
    let mail = may_reply(&a)?;
    let (id, text, agent, now) = (
        id.into_inner(),
        body.into_inner().text,
        a.session.agent.id,
        a.now(),
    );
    let mail_id = a
        .db(move |c| {
            let tx = c.transaction()?;
            let mail_id = events::reply_offline(&tx, &mail, id, agent, &text, now)?;
            tx.commit()?;
            Ok(mail_id)
        })
        .await?;
    replied(&a, format!("offline#{id}"), mail_id).await
}

/// `POST /api/conversations/{id}/reply`: answers a closed chat by email; the answer is also
/// stored in the chat's log.
pub async fn reply_conversation(a: Agent, id: Path<i64>, body: Json<ReplyBody>) -> Reply {
    let mail = may_reply(&a)?;
    let (id, text, agent, now) = (
        id.into_inner(),
        body.into_inner().text,
        a.session.agent.id,
        a.now(),
    );
    let r = reader(&a.session);
    let mail_id = a
        .db(move |c| {
            if !may_read(c, id, r)? {
                return Ok(None);
            }
            let tx = c.transaction()?;
            let mail_id = events::reply_conversation(&tx, &mail, id, agent, &text, now)?;
            tx.commit()?;
            Ok(Some(mail_id))
        })
        .await?;
    match mail_id {
        Some(mail_id) => replied(&a, format!("conversation#{id}"), mail_id).await,
        None => Err(a.denied(format!("conversation#{id}")).await),
    }
}

fn wake(a: &Agent) {
    if let Some(m) = &a.state.mail {
        m.wake(email::Box::Tenant(a.tenant_uuid().to_string()));
    }
}
