//! Offline messages: a paged list, and marking one handled.

use super::{Page, after_cursor, limit, page_of};
use crate::error::ApiError;
use crate::http::agent::{Agent, Reply};
use crate::http::chats::{reader, require_chats};
use crate::store::chat::{self as cstore, OfflineRow};
use actix_web::HttpResponse;
use actix_web::web::{Path, Query};
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters of the list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only handled (`true`) or unhandled (`false`) ones.
    handled: Option<bool>,
    /// 1-200, default 50.
    limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Offline messages, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/offline-messages", tag = "offline messages", params(ListQuery),
    responses((status = 200, body = Page<OfflineRow>), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn list(a: Agent, q: Query<ListQuery>) -> Reply {
    require_chats(&a.session)?;
    let q = q.into_inner();
    let n = limit(q.limit)?;
    let before = after_cursor(&a, "offline", q.cursor.as_deref())?;
    let hide = !reader(&a.session).restricted_too;
    let rows = a
        .read(move |c| cstore::offline_page(c, hide, before, q.handled, n + 1))
        .await?;
    a.read_logged("offline", &format!("list ({} messages)", rows.len()));
    Ok(HttpResponse::Ok().json(page_of(&a, "offline", rows, n, |o| o.id)))
}

/// Marks an offline message handled by the token's agent (once; again: 409).
#[utoipa::path(post, path = "/api/v1/offline-messages/{id}/handled", tag = "offline messages",
    params(("id" = i64, Path, description = "The offline message's id")),
    responses((status = 204, description = "Marked"), (status = 401, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn handled(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(crate::model::rights::Permission::Chat)?;
    let id = id.into_inner();
    let (agent, at) = (a.session.agent.id, a.now());
    let hide = !reader(&a.session).restricted_too;
    let done = a
        .db(move |c| {
            let hidden = hide && crate::store::restrictions::is_restricted(c, "offline", id)?;
            if hidden || !cstore::offline_exists(c, id)? {
                return Ok(None);
            }
            cstore::mark_handled(c, id, agent, at).map(Some)
        })
        .await?;
    match done {
        None => Err(ApiError::not_found()),
        Some(false) => Err(ApiError::of(
            crate::error::Code::Conflict,
            "this offline message is handled already",
        )),
        Some(true) => {
            a.audit("offline.handled", &format!("offline#{id}")).await;
            Ok(HttpResponse::NoContent().finish())
        }
    }
}
