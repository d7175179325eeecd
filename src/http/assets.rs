//! Embedded static files: `/static/*`, `/widget.js`, and the 404 for everything else. Each is
//! sent brotli- or gzip-compressed as the browser accepts (`Vary: Accept-Encoding`), with a
//! strong `ETag` from its content and 304 when the browser has it. Files under the versioned
//! prefix `/static/v/<version>/` (what the pages link to) are kept by browsers for a year; the
//! loader keeps its stable address with a short cache.

use crate::assets::Encoded;
use crate::error::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// How long browsers keep a file.
#[derive(Clone, Copy)]
enum Keep {
    /// Five minutes, then ask again (the ETag makes that a 304).
    Short,
    /// A year, never asked again: the URL changes with the content.
    Forever,
}

/// The encodings a browser accepts, from `Accept-Encoding` (a token with `q=0` is refused).
fn accepts(req: &HttpRequest, coding: &str) -> bool {
    let Some(v) = req.headers().get(header::ACCEPT_ENCODING) else {
        return false;
    };
    v.to_str().unwrap_or("").split(',').any(|part| {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim();
        let refused = it.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        name.eq_ignore_ascii_case(coding) && !refused
    })
}

fn serve(req: &HttpRequest, embedded_path: &str, keep: Keep) -> Result<HttpResponse, ApiError> {
    let file = crate::assets::encoded(embedded_path).ok_or_else(ApiError::not_found)?;
    Ok(send(req, &file, content_type(embedded_path), keep))
}

/// A file as the browser accepts it, or 304 when it holds this representation.
fn send(req: &HttpRequest, file: &Encoded, mime: &str, keep: Keep) -> HttpResponse {
    let (coding, body): (Option<&str>, &[u8]) = if accepts(req, "br") {
        (Some("br"), &file.brotli)
    } else if accepts(req, "gzip") {
        (Some("gzip"), &file.gzip)
    } else {
        (None, &file.identity)
    };
    // One tag per representation: a cache holding the gzip body must not take the brotli one
    // for it.
    let etag = format!("\"{}{}\"", file.hash, coding.map_or("", |c| &c[..2]));
    let cache = match keep {
        Keep::Short => "public, max-age=300",
        Keep::Forever => "public, max-age=31536000, immutable",
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::ETAG, etag.clone()));
    let held = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if held {
        return res
            .status(actix_web::http::StatusCode::NOT_MODIFIED)
            .finish();
    }
    if let Some(c) = coding {
        res.insert_header((header::CONTENT_ENCODING, c));
    }
    res.content_type(mime).body(body.to_vec())
}

/// Whether a path under `static/` may be asked for (no empty or hidden segments).
fn plain(p: &str) -> bool {
    !p.split('/')
        .any(|seg| seg.is_empty() || seg.starts_with('.'))
}

/// `GET /static/{path}` from `assets/static/` (unversioned: a short cache).
pub async fn static_file(
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    if !plain(&p) {
        return Err(ApiError::not_found());
    }
    serve(&req, &format!("static/{p}"), Keep::Short)
}

/// `GET /static/v/{version}/{path}`: kept for a year when the version is this binary's; an
/// older page's request after an upgrade gets today's file with a short cache.
pub async fn versioned_file(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (version, p) = path.into_inner();
    if !plain(&p) {
        return Err(ApiError::not_found());
    }
    let keep = if version == crate::assets::version() {
        Keep::Forever
    } else {
        Keep::Short
    };
    serve(&req, &format!("static/{p}"), keep)
}

/// `GET /static/shared/codes.js` (and under the versioned prefix): the error codes of the
/// registry as an ES module, so the widget and the dashboard name codes from the server's one
/// list, not from a copy.
pub async fn codes_module(req: HttpRequest) -> HttpResponse {
    let file = crate::assets::generated("generated/codes.js", || {
        let entries: Vec<String> = crate::error::Code::ALL
            .iter()
            .map(|c| format!("  {0}: \"{0}\",", c.as_str()))
            .collect();
        format!(
            "// Made by the server from its error registry (docs/errors.md): every error code.\n\
             export const CODES = Object.freeze({{\n{}\n}});\n",
            entries.join("\n")
        )
        .into_bytes()
    });
    let keep = if req.path().starts_with(crate::i18n::static_prefix()) {
        Keep::Forever
    } else {
        Keep::Short
    };
    send(&req, &file, "text/javascript; charset=utf-8", keep)
}

/// `GET /i18n/{file}`: a string catalog for the browser, e.g. `widget.de.json`.
pub async fn catalog(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let f = file.into_inner();
    let valid = f.ends_with(".json")
        && f.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && !f.starts_with('.');
    if !valid {
        return Err(ApiError::not_found());
    }
    serve(&req, &format!("i18n/{f}"), Keep::Short)
}

/// `GET /widget.js`: the loader customers embed (a stable address, so a short cache).
pub async fn widget(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "widget/widget.js", Keep::Short)
}

/// Anything else: 404 as JSON.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found())
}
