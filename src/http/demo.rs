//! `GET /demo`: a customer web page with the widget snippet, served only by `kontor demo`.

use super::client::Client;
use super::{State, lang};
use crate::error::ApiError;
use crate::i18n;
use actix_web::{HttpRequest, HttpResponse, web};

/// The demo tenant's slug.
pub const TENANT: &str = "demo";

/// The demo page, embedding the site of the demo tenant that allows this origin.
pub async fn page(
    req: HttpRequest,
    state: State,
    client: Client,
) -> Result<HttpResponse, ApiError> {
    if !state.demo {
        return Err(ApiError::not_found());
    }
    let st = state.clone();
    let sites = web::block(move || {
        let rec = st.store.tenant_record(TENANT)?;
        st.store
            .system(|c| crate::store::system::list_sites(c, &rec.uuid))
    })
    .await??;
    let site = sites
        .iter()
        .find(|s| s.origins.contains(&client.origin))
        .or(sites.first())
        .ok_or_else(ApiError::not_found)?;
    let (lang, _) = lang::pick(&req);
    let html = i18n::render(
        "demo.html",
        lang,
        &[("base_url", &client.origin), ("site_key", &site.site_key)],
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}
