//! Middleware for every response: a request id and log line, and the security headers.

use super::AppState;
use super::client::{Client, RequestId};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use tracing::Instrument;

/// No inline script or style, nothing from other origins, never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// A new request id: 16 hex digits that tell nothing of how many requests came before. A
/// counter keyed by a random per-process hash, not a read of the OS random generator per
/// request (a system call on every page-view report); the ids only need to be distinct and
/// not guessable from one another, they guard nothing.
fn next_request_id() -> String {
    use std::hash::BuildHasher;
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEY: LazyLock<std::collections::hash_map::RandomState> =
        LazyLock::new(std::collections::hash_map::RandomState::new);
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", KEY.hash_one(n))
}

/// Adds the request id, logs the request, and sets the security headers.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = next_request_id();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| Client::https_of(req.request(), s));
    // The path only: query strings could carry data that does not belong in logs.
    let path = req.path().to_string();
    let method = req.method().to_string();
    let span = tracing::info_span!("request", id = %request_id);
    let started = std::time::Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let _enter = span.enter();
    tracing::info!(
        %method,
        path = ?path,
        status = res.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );

    let h = res.headers_mut();
    let set = |h: &mut header::HeaderMap, name: &'static str, value: &'static str| {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    };
    // A handler that set its own CSP (the widget frame, framable by its site's origins)
    // decides framing itself; everything else is never framed.
    if !h.contains_key("content-security-policy") {
        set(h, "content-security-policy", CSP);
        set(h, "x-frame-options", "DENY");
    }
    set(h, "x-content-type-options", "nosniff");
    // `same-origin`, not `no-referrer`: with no-referrer browsers send `Origin: null` on our
    // own form posts, which the CSRF origin check must refuse. No referrer leaves the site.
    set(h, "referrer-policy", "same-origin");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(
        h,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    // The widget loader and the status badge are embedded by other sites' pages; everything
    // else stays ours.
    let corp = if path == "/widget.js" || path.starts_with("/api/status/") {
        "cross-origin"
    } else {
        "same-origin"
    };
    set(h, "cross-origin-resource-policy", corp);
    if https {
        set(
            h,
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}
