//! File uploads and downloads. Types come from the bytes; downloads are always attachments
//! with the sniffed type, `nosniff` and a sandboxing CSP, from an id path, never rendered.

use super::State;
use super::agent::{Agent, Reply};
use super::client::Client;
use crate::config::{MB, UploadsConfig};
use crate::crypto;
use crate::domain::{files, intrusion};
use crate::error::{ApiError, Code, Error};
use crate::model::attachment::FileRef;
use crate::model::ratelimit::RateLimit;
use crate::model::uploads::FileLimits;
use crate::realtime::hub::{Command, FileUpload, Posted, Uploader};
use crate::realtime::protocol::Out;
use crate::store::chat as cstore;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What one visitor address may upload within the window: files and bytes.
pub struct AddressLimits {
    files: RateLimit,
    bytes: RateLimit,
}

impl AddressLimits {
    /// The limits of `[uploads]`.
    pub fn new(cfg: &UploadsConfig) -> AddressLimits {
        let window = Duration::from_secs(cfg.window_minutes * 60);
        AddressLimits {
            files: RateLimit::per_window(cfg.address_files, window),
            bytes: RateLimit::per_window(cfg.address_mb.saturating_mul(MB), window),
        }
    }

    /// Takes one file of `size` bytes for `ip`, or refuses with the seconds to wait.
    fn take(&self, ip: IpAddr, size: usize, now: Instant) -> Result<(), ApiError> {
        self.bytes
            .take_n(ip, size as u64, now)
            .and_then(|()| self.files.take(ip, now))
            .map_err(|wait| {
                ApiError::of(
                    Code::UploadLimit,
                    "too many files from this address for now; try again later",
                )
                .with_retry_after(wait)
            })
    }
}

/// The per-chat and per-tenant limits of `[uploads]`, as the hub checks them.
fn file_limits(cfg: &UploadsConfig) -> FileLimits {
    FileLimits {
        window_secs: (cfg.window_minutes * 60) as i64,
        chat_files: cfg.chat_files,
        chat_bytes: cfg.chat_mb.saturating_mul(MB),
        tenant_bytes: cfg.tenant_quota_mb.saturating_mul(MB),
    }
}

/// Query of an upload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The site (widget uploads).
    #[serde(default)]
    site: String,
    /// The conversation (agent uploads).
    #[serde(default)]
    conversation_id: Option<i64>,
    /// The file's name as the user chose it.
    name: String,
    /// The uploader's id for this upload (retries are stored once).
    client_id: String,
}

/// The hub's refusal of an upload as an HTTP answer (its status comes from the registry).
fn api_error(out: Out) -> ApiError {
    let Out::Error { code, message, .. } = out else {
        return ApiError::not_found();
    };
    let code = match code {
        Code::UnknownConversation | Code::NotFound => Code::NotFound,
        Code::ConversationClosed => Code::ConversationClosed,
        Code::UploadLimit => Code::UploadLimit,
        Code::QuotaExceeded => Code::QuotaExceeded,
        Code::NotStored | Code::Busy => Code::Retry,
        Code::InternalError => Code::InternalError,
        _ => Code::InvalidInput,
    };
    ApiError::of(code, message)
}

/// An upload's bytes, at most [`files::MAX_BYTES`].
async fn read_upload(body: web::Payload) -> Result<web::Bytes, ApiError> {
    let too_large = ApiError::of(Code::FileTooLarge, "files may have at most 10 MB");
    super::body::read(body, files::MAX_BYTES, too_large).await
}

/// Checks the bytes and the names, hands the file to the hub, waits for the commit.
async fn post(
    state: &State,
    tenant_uuid: &str,
    from: Uploader,
    q: UploadQuery,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    crate::realtime::protocol::check_message(&q.client_id, "x").map_err(api_error)?;
    if body.len() > files::MAX_BYTES {
        return Err(ApiError::of(
            Code::FileTooLarge,
            "files may have at most 10 MB",
        ));
    }
    let mime =
        files::sniff(&body).map_err(|e| ApiError::of(Code::UnsupportedFileType, e.to_string()))?;
    let st = state.clone();
    let uuid = tenant_uuid.to_string();
    let hub = web::block(move || st.realtime.hub(&uuid)).await??;
    let (tx, rx) = tokio::sync::oneshot::channel::<Posted>();
    let upload = FileUpload {
        from,
        name: files::download_name(&files::clean_name(&q.name), mime),
        mime,
        limits: file_limits(&state.config.uploads),
        data: body.to_vec(),
        client_id: q.client_id,
        reply: tx,
    };
    if !hub.send(Command::PostFile(upload)) {
        return Err(api_error(Out::error(
            Code::Busy,
            "the server is busy; retry",
        )));
    }
    let (seq, file): (i64, FileRef) = rx
        .await
        .map_err(|_| ApiError::from(Error::Internal("the hub stopped".into())))?
        .map_err(api_error)?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .json(serde_json::json!({ "seq": seq, "file": file })))
}

/// `POST /api/widget/files?site=&name=&client_id=` with `X-Kontor-Token` and the raw bytes.
pub async fn visitor_upload(
    req: HttpRequest,
    state: State,
    client: Client,
    q: web::Query<UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let site = super::widget::site(&state, &q.site)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if origin != client.origin && !site.origins.iter().any(|o| o == origin) {
        intrusion::csrf_refused(client.ip, "upload");
        return Err(ApiError::csrf());
    }
    let token = req
        .headers()
        .get("x-kontor-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::not_found)?;
    let body = read_upload(body).await?;
    state
        .uploads
        .take(client.ip, body.len(), state.clock.instant())
        .inspect_err(|_| intrusion::rate_limited(client.ip, "upload"))?;
    let from = Uploader::Visitor {
        token_hash: crypto::token_hash(token),
        site_key: site.site_key.clone(),
    };
    post(&state, &site.tenant_uuid, from, q, body).await
}

/// `POST /api/files?conversation_id=&name=&client_id=` (agents; Origin and CSRF header).
pub async fn agent_upload(a: Agent, q: web::Query<UploadQuery>, body: web::Payload) -> Reply {
    a.may_change(crate::model::rights::Permission::Chat)?;
    let body = read_upload(body).await?;
    let q = q.into_inner();
    let conversation_id = q
        .conversation_id
        .ok_or_else(|| ApiError::bad_request("conversation_id is missing"))?;
    let from = Uploader::Agent {
        agent_id: a.session.agent.id,
        conversation_id,
    };
    post(&a.state, a.tenant_uuid(), from, q, body).await
}

/// The download; its name's extension follows the stored type (rows stored before names were
/// corrected on upload may still carry another).
fn attachment(file: FileRef, data: Vec<u8>) -> HttpResponse {
    let name = files::download_name(&file.name, &file.mime);
    HttpResponse::Ok()
        .content_type(file.mime)
        .insert_header((
            header::CONTENT_DISPOSITION,
            files::content_disposition(&name),
        ))
        // Even if a browser were tricked into rendering it, nothing in it may run.
        .insert_header(("content-security-policy", "default-src 'none'; sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(data)
}

/// `GET /api/storage`: the bytes the tenant's files take and its quota (0: none).
pub async fn storage(a: Agent) -> Reply {
    let quota = a.state.config.uploads.tenant_quota_mb.saturating_mul(MB);
    let used = a.read(|c| cstore::files_bytes(c)).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "files": { "used_bytes": used, "quota_bytes": quota } })))
}

/// Body of the visitor's download.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadRequest {
    token: String,
}

/// `POST /api/widget/files/{id}` with `{"token": …}`: a file of the visitor's own conversation.
pub async fn visitor_download(
    state: State,
    client: Client,
    id: web::Path<i64>,
    body: web::Json<DownloadRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let token = body.into_inner().token;
    let refused = || {
        intrusion::token_refused(client.ip, "chat_token");
        ApiError::not_found()
    };
    let (site_key, _) = token.split_once('.').ok_or_else(refused)?;
    let st = state.clone();
    let site_key = site_key.to_string();
    let found = web::block(move || -> Result<_, Error> {
        let Some(site) = st
            .store
            .system(|c| crate::store::system::site_by_key(c, &site_key))?
        else {
            return Ok(None);
        };
        let db = st.store.tenant_db(&site.tenant_uuid)?;
        db.with(|c| {
            let conv = cstore::conversation_by_token(c, &crypto::token_hash(&token))?
                .filter(|cv| cv.site_key == site.site_key);
            let file = cstore::file(c, id)?;
            Ok(match (conv, file) {
                (Some(cv), Some((owner, f, data))) if owner == cv.id => Some((f, data)),
                _ => None,
            })
        })
    })
    .await??;
    let (file, data) = found.ok_or_else(refused)?;
    Ok(attachment(file, data))
}

/// `GET /api/files/{id}`: a file of the agent's tenant.
pub async fn agent_download(a: Agent, id: web::Path<i64>) -> Reply {
    super::chats::require_chats(&a.session)?;
    let id = id.into_inner();
    let r = super::chats::reader(&a.session);
    // A file of a chat the agent may not read is as unknown as a missing one.
    let found = a
        .db(move |c| match cstore::file(c, id)? {
            Some(f) if super::chats::may_read(c, f.0, r)? => Ok(Some(f)),
            _ => Ok(None),
        })
        .await?;
    let Some((_, file, data)) = found else {
        return Err(a.denied(format!("file#{id}")).await);
    };
    a.read_logged("file", &format!("file#{id}"));
    Ok(attachment(file, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_refusals_of_uploads_keep_their_http_answers() {
        for (refusal, status, code) in [
            (Code::UnknownConversation, 404, Code::NotFound),
            (Code::NotFound, 404, Code::NotFound),
            (Code::ConversationClosed, 409, Code::ConversationClosed),
            (Code::UploadLimit, 429, Code::UploadLimit),
            (Code::QuotaExceeded, 413, Code::QuotaExceeded),
            (Code::NotStored, 503, Code::Retry),
            (Code::Busy, 503, Code::Retry),
            (Code::InternalError, 500, Code::InternalError),
            (Code::InvalidClientId, 400, Code::InvalidInput),
            (Code::EmptyMessage, 400, Code::InvalidInput),
        ] {
            let e = api_error(Out::error(refusal, "why"));
            assert_eq!((e.status().as_u16(), e.code()), (status, code), "{refusal}");
            assert_eq!(e.message(), "why");
        }
    }
}
