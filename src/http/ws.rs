//! WebSocket upgrades: `/ws/visitor?site=KEY` from the site's allowed origins only, and
//! `/ws/agent` from our own origin with a valid session. Refusals happen before the upgrade.

use super::State;
use super::agent::Agent;
use super::client::Client;
use crate::domain::intrusion;
use crate::error::{ApiError, Code, Error};
use crate::realtime::hub::Peer;
use crate::realtime::session::{self, Side};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// Query of the visitor socket.
#[derive(Deserialize)]
pub struct VisitorQuery {
    site: String,
}

fn refused() -> ApiError {
    ApiError::of(Code::OriginRefused, "this origin may not open this socket")
}

/// `GET /ws/visitor?site=KEY`.
pub async fn visitor(
    req: HttpRequest,
    body: web::Payload,
    state: State,
    client: Client,
    query: web::Query<VisitorQuery>,
) -> Result<HttpResponse, ApiError> {
    let origin = super::client::request_origin(&req);
    // Our own chat iframe connects from our origin; it only runs framed by the site's origins.
    let own = !origin.is_empty() && origin == client.origin;
    let st = state.clone();
    let site_key = query.into_inner().site;
    let key = site_key.clone();
    let found = web::block(move || -> Result<_, Error> {
        let site = st
            .store
            .system(|c| crate::store::system::site_by_key(c, &key))?;
        // Unknown site and foreign origin get the same answer: nothing reveals which keys exist.
        match site {
            Some(s) if own || s.origins.contains(&origin) => {
                let tracked = s.tracking.mode != "off";
                let notice = st
                    .store
                    .system(|c| crate::store::notices::current(c, &key))?
                    .map_or(1, |n| n.version);
                let greeting = crate::domain::conversation::Greeting {
                    site_lang: s.look.lang.clone(),
                    de: s.words.greeting_de.clone(),
                    en: s.words.greeting_en.clone(),
                };
                Ok(Some((
                    st.realtime.hub(&s.tenant_uuid)?,
                    tracked,
                    notice,
                    greeting,
                )))
            }
            _ => Ok(None),
        }
    })
    .await??;
    // The same daily key the page's reports carry, so the chat joins the visitor's pages.
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let hub = found.map(|(hub, tracked, notice, greeting)| {
        let key = tracked.then(|| {
            state
                .tracking
                .keys
                .key(state.clock.now(), &site_key, client.ip, ua)
        });
        (hub, key, notice, greeting)
    });
    let Some((hub, visitor_key, notice_current, greeting)) = hub else {
        intrusion::socket_refused(client.ip, "visitor", "origin", &site_key);
        return Err(refused());
    };
    // One address or one site may hold only so many sockets (`[chat]`).
    let Some(admission) = state.realtime.gate.admit(client.ip, &site_key) else {
        intrusion::socket_refused(client.ip, "visitor", "too_many_sockets", &site_key);
        return Err(ApiError::of(
            Code::TooManySockets,
            "too many chat windows are open from here; close one and try again",
        ));
    };
    let (res, ws, stream) = actix_ws::handle(&req, body)
        .map_err(|_| ApiError::bad_request("expected a WebSocket upgrade"))?;
    let conn = state.realtime.next_conn_id();
    let peer = Peer::Visitor {
        site_key,
        visitor_key,
        notice_current,
        address: crate::model::ip::truncate(client.ip).to_string(),
        greeting: std::sync::Arc::new(greeting),
    };
    actix_web::rt::spawn(session::run(
        hub,
        conn,
        peer,
        Side::Visitor,
        Some(admission),
        ws,
        stream,
    ));
    Ok(res)
}

/// `GET /ws/agent`.
pub async fn agent(
    req: HttpRequest,
    body: web::Payload,
    a: Agent,
) -> Result<HttpResponse, ApiError> {
    if !a.same_origin() {
        intrusion::socket_refused(a.client.ip, "agent", "origin", "");
        return Err(refused());
    }
    let (s, state) = (a.session, a.state);
    use crate::model::rights::Permission;
    if !s.agent.may(Permission::Chat) && !s.agent.may(Permission::VisitorsView) {
        return Err(crate::error::Error::Forbidden(
            "your role allows neither chats nor live visitors".into(),
        )
        .into());
    }
    let st = state.clone();
    let uuid = s.tenant.uuid.clone();
    let hub = web::block(move || st.realtime.hub(&uuid)).await??;
    let (res, ws, stream) = actix_ws::handle(&req, body)
        .map_err(|_| ApiError::bad_request("expected a WebSocket upgrade"))?;
    let conn = state.realtime.next_conn_id();
    let peer = Peer::Agent {
        agent_id: s.agent.id,
        name: s.agent.display_name.clone(),
        token_hash: s.token_hash.clone(),
        permissions: s.agent.permissions,
    };
    actix_web::rt::spawn(session::run(hub, conn, peer, Side::Agent, None, ws, stream));
    Ok(res)
}
