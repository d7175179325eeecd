//! Contacts: the data-subject requests of GDPR (find, export, erase), with the
//! data-subject-requests permission, exactly as the dashboard's Privacy section runs them.

use crate::http::agent::{Agent, Reply};
use crate::http::privacy::{self, EraseBody, SubjectQuery};
use actix_web::web::{Json, Query};

/// Everything stored about a person, found by `by` = `email`, `name`, `visitor` or
/// `conversation` and its `value`.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts",
    params(("by" = String, Query, description = "email, name, visitor or conversation"),
           ("value" = String, Query, description = "What to look for")),
    responses((status = 200, body = serde_json::Value, description = "What is stored, by kind"),
              (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
              (status = 403, body = super::ErrorBody)))]
pub async fn find(a: Agent, q: Query<SubjectQuery>) -> Reply {
    privacy::find(a, q).await
}

/// A person's data as a tar archive (JSON, HTML transcripts, files).
#[utoipa::path(get, path = "/api/v1/contacts/export", tag = "contacts",
    params(("by" = String, Query, description = "email, name, visitor or conversation"),
           ("value" = String, Query, description = "What to look for")),
    responses((status = 200, description = "The archive", content_type = "application/x-tar"),
              (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
              (status = 403, body = super::ErrorBody)))]
pub async fn export(a: Agent, q: Query<SubjectQuery>) -> Reply {
    privacy::export(a, q).await
}

/// Erases everything of a person (`confirm: true`); answers the deletion protocol.
#[utoipa::path(post, path = "/api/v1/contacts/erase", tag = "contacts",
    request_body(content = serde_json::Value, description = "`{\"by\": \"email\", \"value\": \"…\", \"confirm\": true}`"),
    responses((status = 200, body = serde_json::Value, description = "The deletion protocol"),
              (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
              (status = 403, body = super::ErrorBody)))]
pub async fn erase(a: Agent, body: Json<EraseBody>) -> Reply {
    privacy::erase(a, body).await
}
