//! `GET /metrics`: the Prometheus text exposition, on a listener of its own (`[metrics]
//! listen`, loopback unless a token is required) or on the main one behind a token
//! (`[metrics] token_file` alone). Off by default: the main listener answers 404.

use super::State;
use super::client::Client;
use crate::error::ApiError;
use crate::metrics::Snapshot;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use std::net::SocketAddr;

/// Prometheus' text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/metrics` on the main listener: only when a token is configured and no listener of its own.
pub async fn on_main(
    state: State,
    req: HttpRequest,
    client: Client,
) -> Result<HttpResponse, ApiError> {
    let m = &state.config.metrics;
    if m.listen.is_some() || state.metrics_token.is_none() {
        return Err(ApiError::not_found());
    }
    scrape(state, req, client).await
}

/// `/metrics` on its own listener; the token is asked for when one is configured.
pub async fn scrape(
    state: State,
    req: HttpRequest,
    client: Client,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.metrics_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Hashes first: equal lengths, so the comparison's time tells nothing.
        let ok = crate::crypto::secure_eq(
            &crate::crypto::token_hash(given.trim()),
            &crate::crypto::token_hash(token),
        );
        if !ok {
            crate::domain::intrusion::token_refused(client.ip, "metrics_token");
            return Err(ApiError::of(
                crate::error::Code::Unauthorized,
                "a valid metrics token is required",
            ));
        }
    }
    let st = state.clone();
    let text = web::block(move || crate::metrics::render(&snapshot(&st))).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}

/// The figures that live elsewhere, read now (the same sources `/healthz` reads).
fn snapshot(state: &State) -> Snapshot {
    let now = state.clock.now();
    let backup = state.backups.status();
    let age = backup
        .last_good
        .as_deref()
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| now - t.unix_timestamp());
    let mail = state.mail_status.total();
    let hooks = state.hooks.status.total();
    Snapshot {
        tenants_open: state.store.open_tenants() as u64,
        hubs_running: state.realtime.running_hubs() as u64,
        mail_enabled: state.mail.is_some(),
        outbox_queued: mail.queued.max(0) as u64,
        outbox_failed: mail.failed.max(0) as u64,
        outbox_oldest_age_secs: mail.oldest_queued_at.map_or(0, |t| now - t),
        webhooks_queued: hooks.queued.max(0) as u64,
        webhooks_failed: hooks.failed.max(0) as u64,
        webhooks_oldest_age_secs: hooks.oldest_queued_at.map_or(0, |t| now - t),
        backup_enabled: state.config.backup.enabled && !state.demo,
        backup_age_secs: age,
        backup_ok: backup.last_error.is_none() && backup.last_good.is_some(),
        offsite: offsite(state, now),
        disk_free_bytes: rustix::fs::statvfs(state.store.data_dir())
            .ok()
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize)),
    }
}

/// Each configured off-site remote's last good copy and latest result (the status file the
/// copies write, as `/healthz` reads it).
fn offsite(state: &State, now: i64) -> Vec<(String, Option<i64>, bool)> {
    let statuses = crate::store::backup::offsite::status::load(state.store.data_dir());
    state
        .config
        .offsite
        .iter()
        .map(|o| {
            let st = statuses.get(&o.name).cloned().unwrap_or_default();
            let age = st.last_good_at.map(|t| now - t);
            (
                o.name.clone(),
                age,
                st.last_good_at.is_some() && st.last_error.is_none(),
            )
        })
        .collect()
}

/// The listener of its own: `/metrics` and nothing else, with the usual headers.
pub fn bind(
    data: web::Data<crate::http::AppState>,
    addr: SocketAddr,
) -> crate::error::Result<(actix_web::dev::Server, Vec<SocketAddr>)> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::from_fn(super::headers::middleware))
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(super::assets::not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(2)
    .bind(addr)
    .map_err(|e| crate::error::Error::io(format!("listening for metrics on {addr}"), e))?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}
