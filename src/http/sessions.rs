//! An agent's own sign-ins (`/api/sessions`): list them, end one, end all but this one.
//! Every agent may see and end their own, and only their own: another agent's session id is
//! answered as not found. Every ending is audited; open dashboard sockets of an ended session
//! close within a second (the hub re-checks sessions).

use super::agent::{Agent, Reply};
use crate::domain::auth;
use crate::store::tenant as tstore;
use actix_web::HttpResponse;
use actix_web::web::Path;

/// Public ids are 24 hex characters; anything else cannot name a session.
fn plausible_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `GET /api/sessions`: the caller's active sign-ins, the current one marked.
pub async fn list(a: Agent) -> Reply {
    let (agent, current) = (a.session.agent.id, a.session.token_hash.clone());
    let alive = auth::alive_at(a.now(), &a.state.config.session);
    let list = a
        .read(move |c| tstore::list_sessions(c, agent, Some(&current), alive))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sessions": list })))
}

/// `DELETE /api/sessions/{id}`: ends one of the caller's sessions (the current one too).
pub async fn end(a: Agent, id: Path<String>) -> Reply {
    a.csrf()?;
    let id = id.into_inner();
    let object = format!("session#{}", if plausible_id(&id) { &id } else { "?" });
    let agent = a.session.agent.id;
    let ended = plausible_id(&id) && {
        let id = id.clone();
        a.db(move |c| tstore::delete_session_by_id(c, agent, &id))
            .await?
    };
    if !ended {
        return Err(a.denied(object).await);
    }
    a.audit("session.end", &object).await;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/sessions/end-others`: ends every session of the caller but this one.
pub async fn end_others(a: Agent) -> Reply {
    a.csrf()?;
    let (agent, keep) = (a.session.agent.id, a.session.token_hash.clone());
    let ended = a
        .db(move |c| tstore::delete_agent_sessions(c, agent, Some(&keep)))
        .await?;
    a.audit("session.end_others", &format!("agent#{agent}"))
        .await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ended": ended })))
}
