//! Team chat over HTTP: the rooms, a room's older messages (the socket carries new ones), and
//! a search over the rooms the agent belongs to. Writing goes over the socket only, where the
//! hub orders and acknowledges it (`domain::team_chat`).

use super::agent::{Agent, Reply};
use crate::domain::team_chat::{self, PAGE};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::team;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// `GET /api/team/rooms`: the agent's rooms, with last seq and read position.
pub async fn rooms(a: Agent) -> Reply {
    a.may(Permission::Chat)?;
    let (id, perms) = (a.session.agent.id, a.session.agent.permissions);
    let rooms = a.read(move |c| team_chat::rooms(c, id, perms)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "rooms": rooms })))
}

/// Query of `GET /api/team/rooms/{room}/messages`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Messages after this seq (default 0).
    #[serde(default)]
    after: i64,
    /// Only messages before this seq: the last page before it.
    before: Option<i64>,
    /// At most this many (1-200, default 200).
    limit: Option<i64>,
}

/// `GET /api/team/rooms/{room}/messages?after=&before=&limit=`: a page of a room's log, oldest
/// first; `more` says whether the log goes on after it (when reading forward).
pub async fn messages(a: Agent, room: web::Path<String>, q: web::Query<PageQuery>) -> Reply {
    a.may(Permission::Chat)?;
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(PAGE);
    if !(1..=PAGE).contains(&limit) || q.after < 0 || q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::bad_request(format!(
            "limit is 1-{PAGE}; after and before are sequence numbers"
        )));
    }
    let (id, perms) = (a.session.agent.id, a.session.agent.permissions);
    let room = room.into_inner();
    let page = a
        .read(move |c| {
            if team_chat::readable(c, id, perms, &room)?.is_none() {
                return Ok(None);
            }
            // One more than asked tells whether more follow.
            let mut rows = team::page(c, &room, q.after, q.before, limit + 1)?;
            let more = rows.len() as i64 > limit;
            if more {
                match q.before {
                    Some(_) => drop(rows.remove(0)),
                    None => rows.truncate(limit as usize),
                }
            }
            Ok(Some((rows, more)))
        })
        .await?;
    let Some((rows, more)) = page else {
        return Err(ApiError::not_found());
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "messages": rows, "more": more })))
}

/// Query of `GET /api/team/search`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    q: String,
}

/// `GET /api/team/search?q=`: the newest 100 messages containing the text, in the agent's
/// rooms only. The search is in the read log (as a pseudonym of its words, as history's).
pub async fn search(a: Agent, q: web::Query<SearchQuery>) -> Reply {
    a.may(Permission::Chat)?;
    let words = q.into_inner().q.trim().to_string();
    if words.is_empty() || words.chars().count() > 200 {
        return Err(ApiError::bad_request("search text has 1 to 200 characters"));
    }
    let h = crate::store::gdpr::identifier_hash(a.tenant_uuid(), "search", &words.to_lowercase());
    a.read_logged("team.search", &format!("search#{}", &h[..12]));
    let (id, perms) = (a.session.agent.id, a.session.agent.permissions);
    let rows = a
        .read(move |c| {
            let rooms: Vec<String> = team_chat::rooms(c, id, perms)?
                .into_iter()
                .map(|r| r.room)
                .collect();
            team::search(c, &rooms, &words, 100)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "messages": rows })))
}
