//! Embedded static files: `/static/*`, `/widget.js`, and the 404 for everything else.

use crate::error::ApiError;
use actix_web::http::header;
use actix_web::{HttpResponse, web};

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

fn serve(embedded_path: &str) -> Result<HttpResponse, ApiError> {
    let data = crate::assets::get(embedded_path).ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type(embedded_path))
        // Short: assets change with the binary and carry no version in their URL yet.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(data.into_owned()))
}

/// `GET /static/{path}` from `assets/static/`.
pub async fn static_file(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    if p.split('/')
        .any(|seg| seg.is_empty() || seg.starts_with('.'))
    {
        return Err(ApiError::not_found());
    }
    serve(&format!("static/{p}"))
}

/// `GET /static/shared/codes.js`: the error codes of the registry as an ES module, so the
/// widget and the dashboard name codes from the server's one list, not from a copy.
pub async fn codes_module() -> HttpResponse {
    let entries: Vec<String> = crate::error::Code::ALL
        .iter()
        .map(|c| format!("  {0}: \"{0}\",", c.as_str()))
        .collect();
    let body = format!(
        "// Made by the server from its error registry (docs/errors.md): every error code.\n\
         export const CODES = Object.freeze({{\n{}\n}});\n",
        entries.join("\n")
    );
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}

/// `GET /i18n/{file}`: a string catalog for the browser, e.g. `widget.de.json`.
pub async fn catalog(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let f = file.into_inner();
    let valid = f.ends_with(".json")
        && f.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && !f.starts_with('.');
    if !valid {
        return Err(ApiError::not_found());
    }
    serve(&format!("i18n/{f}"))
}

/// `GET /widget.js`: the loader customers embed.
pub async fn widget() -> Result<HttpResponse, ApiError> {
    serve("widget/widget.js")
}

/// Anything else: 404 as JSON.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found())
}
