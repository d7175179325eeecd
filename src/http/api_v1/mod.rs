//! The public API, `/api/v1/`: what integrations (a shop, a CRM, a ticket tool) need, called
//! with an API token (`Authorization: Bearer`, see `bearer.rs`) that acts for one agent with
//! some of their permissions. Its JSON is its own (stable while the dashboard's may change);
//! its OpenAPI 3.1 document is generated from these handlers and types, and one table below
//! both registers the routes and lists them, so a unit test holds routes and document together.

mod contacts;
mod conversations;
mod offline;
mod others;

use super::agent::{Agent, Reply};
use crate::error::{ApiError, Code};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa::ToSchema;

/// Registers each route and lists it (`ROUTES`), from one table.
macro_rules! v1_routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Registers every route of the public API.
        pub fn routes(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
        }

        /// Every route of the public API: method and path.
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];
    };
}

v1_routes! {
    get "/api/v1/openapi.json" => openapi,
    get "/api/v1/conversations" => conversations::list,
    get "/api/v1/conversations/{id}" => conversations::show,
    post "/api/v1/conversations/{id}/close" => conversations::close,
    post "/api/v1/conversations/{id}/notes" => conversations::note,
    post "/api/v1/conversations/{id}/messages" => conversations::message,
    get "/api/v1/offline-messages" => offline::list,
    post "/api/v1/offline-messages/{id}/handled" => offline::handled,
    get "/api/v1/visitors" => others::visitors,
    get "/api/v1/contacts" => contacts::find,
    get "/api/v1/contacts/export" => contacts::export,
    post "/api/v1/contacts/erase" => contacts::erase,
    get "/api/v1/stats" => others::stats,
    get "/api/v1/stats.csv" => others::stats_csv,
    get "/api/v1/campaigns" => others::campaigns,
    post "/api/v1/campaigns" => others::campaign_create,
    put "/api/v1/campaigns/{id}" => others::campaign_update,
    delete "/api/v1/campaigns/{id}" => others::campaign_delete,
    get "/api/v1/goals" => others::goals,
    post "/api/v1/goals" => others::goal_create,
    put "/api/v1/goals/{id}" => others::goal_update,
    delete "/api/v1/goals/{id}" => others::goal_delete,
    get "/api/v1/sites" => others::sites,
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kontor API",
        version = "1",
        description = "The public API of a kontor server. Every call needs an API token \
            (Settings › API, or `kontor token create`) sent as `Authorization: Bearer kt_…`; \
            it acts for one agent with the permissions chosen for it. Errors are \
            `{\"error\": {\"code\", \"message\"}}` with the codes of docs/errors.md."
    ),
    paths(
        openapi,
        conversations::list,
        conversations::show,
        conversations::close,
        conversations::note,
        conversations::message,
        offline::list,
        offline::handled,
        others::visitors,
        contacts::find,
        contacts::export,
        contacts::erase,
        others::stats,
        others::stats_csv,
        others::campaigns,
        others::campaign_create,
        others::campaign_update,
        others::campaign_delete,
        others::goals,
        others::goal_create,
        others::goal_update,
        others::goal_delete,
        others::sites,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of docs/errors.md's codes, e.g. `unauthorized`, `forbidden`, `not_found`.
    pub code: String,
    /// What to change, in English.
    pub message: String,
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", security(()), tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(document())
}

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|_| "{}".to_string())
}

/// A page of a list: the items and, when more follow, the cursor of the next page.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    /// This page's items, newest first.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Most items a page holds (`limit`, default 50).
const MAX_LIMIT: i64 = 200;

/// The page size asked for: 1-200, default 50.
fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    match asked {
        None => Ok(50),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(format!("limit is 1-{MAX_LIMIT}"))),
    }
}

/// A cursor: the last id of a page with a MAC under the token's hash, so a client cannot
/// change it (or use another token's): `<id>.<mac>`.
fn cursor(a: &Agent, kind: &str, last_id: i64) -> String {
    format!("{last_id}.{}", cursor_mac(a, kind, last_id))
}

fn cursor_mac(a: &Agent, kind: &str, id: i64) -> String {
    let data = format!("kontor cursor v1 {kind} {id}");
    crate::crypto::mac_hex(&a.session.token_hash, data.as_bytes())[..32].to_string()
}

/// The id a cursor names (items go below it); 400 for one that was changed.
fn after_cursor(a: &Agent, kind: &str, given: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(given) = given.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let refused = || ApiError::bad_request("this cursor is not one this token was given");
    let (id, mac) = given.split_once('.').ok_or_else(refused)?;
    let id: i64 = id.parse().map_err(|_| refused())?;
    let ok = crate::crypto::secure_eq(mac.as_bytes(), cursor_mac(a, kind, id).as_bytes());
    if ok { Ok(Some(id)) } else { Err(refused()) }
}

/// A page of `items` (at most `limit` were asked for; one more tells that more follow).
fn page_of<T>(a: &Agent, kind: &str, mut items: Vec<T>, limit: i64, id: fn(&T) -> i64) -> Page<T> {
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| items.last().map(|t| cursor(a, kind, id(t))))
        .flatten();
    Page { items, next_cursor }
}

/// 200 with `body` and a strong `ETag` of it, or 304 when the client holds that version.
fn etagged(req: &HttpRequest, body: &impl Serialize) -> Reply {
    let json = serde_json::to_vec(body).map_err(|e| {
        ApiError::from(crate::error::Error::Internal(format!("encoding JSON: {e}")))
    })?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &json);
    let tag = format!("\"{}\"", crate::crypto::hex(&digest.as_ref()[..16]));
    let held = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    if held {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .content_type("application/json")
        .body(json))
}

/// A chat frame's refusal, answered over HTTP with its code.
fn frame_refusal(frame: &crate::domain::protocol::Out) -> ApiError {
    match frame {
        crate::domain::protocol::Out::Error { code, message, .. } => {
            ApiError::of_frame(*code, message.clone())
        }
        _ => ApiError::of(Code::InternalError, "unexpected answer; retry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_document_and_every_operation_is_a_route() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        routes.sort();
        assert_eq!(routes, documented);
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some(200)).unwrap(), 200);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(201)).is_err());
    }
}
