//! The web server: routes, shared state, TLS, graceful shutdown.

pub mod agent;
pub mod api_v1;
pub mod assets;
pub mod audit;
pub mod bearer;
pub mod blocks;
pub mod body;
pub mod campaigns;
pub mod canned;
pub mod chats;
pub mod client;
pub mod crud;
pub mod dashboard;
pub mod demo;
pub mod departments;
pub mod email;
pub mod faqs;
pub mod files;
pub mod headers;
pub mod health;
pub mod hours;
pub mod lang;
pub mod login;
pub mod lookup;
pub mod metrics;
pub mod notices;
pub mod privacy;
pub mod profile;
pub mod relevance;
pub mod second_factor;
pub mod session;
pub mod sessions;
pub mod setup;
pub mod site_form;
pub mod sites;
pub mod stats;
pub mod status;
pub mod support;
pub mod team;
pub mod team_chat;
pub mod tokens;
pub mod track;
pub mod two_factor;
pub mod visitors;
pub mod webhooks;
pub mod widget;
pub mod worktime;
pub mod ws;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::throttle::Throttle;
use crate::store::Store;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, web};
use std::net::SocketAddr;
use std::sync::Arc;

/// What every handler can reach.
pub struct AppState {
    /// The data directory.
    pub store: Arc<Store>,
    /// The effective configuration.
    pub config: Config,
    /// Sign-in failure counters (shared with the admin socket, which clears them).
    pub throttle: Arc<Throttle>,
    /// The server's clock (the one its hubs and jobs read).
    pub clock: crate::clock::Clock,
    /// Whether `/demo` is served.
    pub demo: bool,
    /// The tenants' hubs.
    pub realtime: Arc<crate::realtime::Realtime>,
    /// How scheduled backups are doing.
    pub backups: Arc<crate::schedule::Tracker>,
    /// Visitor monitoring: daily keys, GeoIP, site cache.
    pub tracking: Arc<track::Tracking>,
    /// What each visitor address may still upload.
    pub uploads: files::AddressLimits,
    /// How far each tenant's audit chain was last found intact (see `audit.rs`).
    pub audit_checked: audit::Checkpoints,
    /// Email, when `[smtp]` is configured.
    pub mail: Option<Arc<crate::domain::email::Mail>>,
    /// The outboxes' backlog as the mail sender last saw it.
    pub mail_status: Arc<crate::domain::email::sender::Status>,
    /// Where reads of personal data are recorded.
    pub read_log: Arc<crate::domain::read_log::ReadLog>,
    /// The calls each API token has left.
    pub api_limits: bearer::TokenLimits,
    /// The token `/metrics` asks for, read from `[metrics] token_file` at start.
    pub metrics_token: Option<String>,
    /// Sites' public status, kept a few seconds.
    pub status_cache: status::Cache,
    /// Webhooks: the operator's allow lists, the sender's wake line and backlog.
    pub hooks: Arc<crate::domain::webhooks::Hooks>,
    /// The online look-up: the guarded client and the answers kept for agents.
    pub lookups: Arc<crate::domain::lookup::Lookups>,
}

/// Shared state handle as handlers receive it.
pub type State = web::Data<AppState>;

/// Registers every route on an actix app.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|err, _| {
                crate::error::ApiError::bad_request(format!("invalid form: {err}")).into()
            }),
    )
    .app_data(
        web::JsonConfig::default()
            .limit(64 * 1024)
            .error_handler(|err, _| {
                crate::error::ApiError::bad_request(format!("invalid JSON: {err}")).into()
            }),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _| {
        crate::error::ApiError::bad_request(format!("invalid query: {err}")).into()
    }))
    // A path id that is no number (`/api/rules/x`, or past i64) names nothing: the JSON
    // `not_found` every other unknown object gets, not actix's plain-text 404.
    .app_data(
        web::PathConfig::default().error_handler(|_, _| crate::error::ApiError::not_found().into()),
    )
    // First: the router tries the routes in order, and page-view reports are by far the most
    // frequent request (no other pattern matches this path).
    .route("/api/track", web::post().to(track::report))
    .route("/healthz", web::get().to(health::healthz))
    .route("/metrics", web::get().to(metrics::on_main))
    .configure(sign_in_routes)
    .configure(api_v1::routes)
    .route("/api/session", web::get().to(agent::show))
    .route("/api/tokens", web::get().to(tokens::list))
    .route("/api/tokens", web::post().to(tokens::create))
    .route("/api/tokens/{id}", web::delete().to(tokens::revoke))
    .route("/api/sessions", web::get().to(sessions::list))
    .route(
        "/api/sessions/end-others",
        web::post().to(sessions::end_others),
    )
    .route("/api/sessions/{id}", web::delete().to(sessions::end))
    .route("/", web::get().to(dashboard::root))
    .route("/app/{section}", web::get().to(dashboard::section))
    .route("/app/{section}/{part}", web::get().to(dashboard::part))
    .route("/api/me", web::get().to(profile::show))
    .route("/api/me", web::put().to(profile::change))
    .route("/api/me/password", web::post().to(profile::password))
    .route("/api/conversations", web::get().to(chats::history))
    .route(
        "/api/conversations/{id}/messages",
        web::get().to(chats::messages),
    )
    .route(
        "/api/conversations/{id}/lookup",
        web::get().to(lookup::latest),
    )
    .route(
        "/api/conversations/{id}/lookup",
        web::post().to(lookup::run),
    )
    .route("/api/offline", web::get().to(chats::offline_inbox))
    .route(
        "/api/offline/{id}/reply",
        web::post().to(email::reply_offline),
    )
    .route(
        "/api/conversations/{id}/reply",
        web::post().to(email::reply_conversation),
    )
    .configure(settings_routes)
    .route("/api/visitors/{id}", web::get().to(visitors::show))
    .route(
        "/api/conversations/{id}/visitor",
        web::get().to(visitors::of_conversation),
    )
    .configure(site_routes)
    .configure(crud::routes::<campaigns::Campaigns>("/api/campaigns"))
    .configure(crud::routes::<campaigns::Goals>("/api/goals"))
    .configure(privacy_routes)
    .route("/api/agents", web::get().to(team::agents))
    .route("/api/agents/{id}", web::put().to(team::change_agent))
    .route(
        "/api/agents/{id}/sessions",
        web::delete().to(team::end_sessions),
    )
    .configure(two_factor_routes)
    .route("/api/roles", web::get().to(team::list))
    .route("/api/roles", web::post().to(team::create))
    .route("/api/roles/{id}", web::put().to(team::update))
    .route("/api/roles/{id}", web::delete().to(team::delete))
    .route("/api/sites/{key}/notices", web::get().to(notices::list))
    .route("/api/sites/{key}/notices", web::post().to(notices::create))
    .route("/api/stats", web::get().to(stats::show))
    .route("/api/stats.csv", web::get().to(stats::csv))
    .route("/api/stats/agents", web::get().to(worktime::show))
    .route("/api/stats/agents.csv", web::get().to(worktime::csv))
    .route(
        "/api/stats/agents/recording",
        web::put().to(worktime::switch),
    )
    .configure(crud::routes::<visitors::Rules>("/api/rules"))
    .configure(visitor_routes)
    .route("/ws/agent", web::get().to(ws::agent))
    .route("/demo", web::get().to(demo::page))
    .route("/widget.js", web::get().to(assets::widget))
    .route(
        "/static/shared/codes.js",
        web::get().to(assets::codes_module),
    )
    .route(
        "/static/v/{version}/shared/codes.js",
        web::get().to(assets::codes_module),
    )
    .route(
        "/static/v/{version}/{path:.*}",
        web::get().to(assets::versioned_file),
    )
    .route("/static/{path:.*}", web::get().to(assets::static_file))
    .route("/i18n/{file}", web::get().to(assets::catalog))
    .default_service(web::to(assets::not_found));
}

/// Blocks, email, webhooks, hours, departments, invitations, team chat, canned responses, chat
/// settings and files.
fn settings_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/blocks", web::get().to(blocks::list))
        .route("/api/blocks", web::post().to(blocks::create))
        .route("/api/blocks/{id}", web::delete().to(blocks::lift))
        .route("/api/email", web::get().to(email::show))
        .route("/api/email/addresses", web::put().to(email::set_addresses))
        .route("/api/webhooks", web::get().to(webhooks::list))
        .route("/api/webhooks", web::post().to(webhooks::create))
        .route(
            "/api/webhooks/deliveries",
            web::get().to(webhooks::deliveries),
        )
        .route("/api/webhooks/{id}", web::put().to(webhooks::update))
        .route("/api/webhooks/{id}", web::delete().to(webhooks::delete))
        .route(
            "/api/webhooks/{id}/secret",
            web::post().to(webhooks::rotate),
        )
        .route("/api/webhooks/{id}/test", web::post().to(webhooks::test))
        .route("/api/hours", web::get().to(hours::get_default))
        .route("/api/hours", web::put().to(hours::put_default))
        .route(
            "/api/departments/{id}/hours",
            web::get().to(hours::get_department),
        )
        .route(
            "/api/departments/{id}/hours",
            web::put().to(hours::put_department),
        )
        .route("/api/departments", web::get().to(chats::departments))
        .route("/api/departments", web::post().to(departments::create))
        .route("/api/departments/{id}", web::put().to(departments::update))
        .route(
            "/api/departments/{id}",
            web::delete().to(departments::delete),
        )
        .route("/api/agents/invite", web::post().to(team::invite))
        .route(
            "/api/agents/{id}/reset-link",
            web::post().to(team::reset_link),
        )
        .route("/api/team/rooms", web::get().to(team_chat::rooms))
        .route(
            "/api/team/rooms/{room}/messages",
            web::get().to(team_chat::messages),
        )
        .route("/api/team/search", web::get().to(team_chat::search))
        .route("/api/canned", web::get().to(canned::list))
        .route("/api/canned", web::post().to(canned::create))
        .route("/api/canned/{id}", web::delete().to(canned::delete))
        .route("/api/settings", web::get().to(canned::settings))
        .route("/api/settings", web::put().to(canned::update_settings))
        .route("/api/files", web::post().to(files::agent_upload))
        .route("/api/files/{id}", web::get().to(files::agent_download))
        .route("/api/storage", web::get().to(files::storage));
}

/// Sites and what belongs to each: logo, relevance weights, online look-up, pre-chat form, FAQ, tracking.
fn site_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/sites", web::get().to(visitors::sites))
        .route("/api/sites", web::post().to(sites::create))
        .route("/api/sites/{key}", web::put().to(sites::update))
        .route("/api/sites/{key}", web::delete().to(sites::remove))
        .route("/api/sites/{key}/logo", web::put().to(sites::put_logo))
        .route("/api/sites/{key}/relevance", web::get().to(relevance::get))
        .route("/api/sites/{key}/relevance", web::put().to(relevance::put))
        .route(
            "/api/sites/{key}/relevance",
            web::delete().to(relevance::reset),
        )
        .route("/api/sites/{key}/lookup", web::get().to(lookup::settings))
        .route("/api/sites/{key}/lookup", web::put().to(lookup::put))
        .route("/api/sites/{key}/lookup", web::delete().to(lookup::delete))
        .route(
            "/api/sites/{key}/lookup/secret",
            web::post().to(lookup::rotate),
        )
        .route("/api/sites/{key}/form", web::get().to(site_form::get))
        .route("/api/sites/{key}/form", web::put().to(site_form::put))
        .route("/api/sites/{key}/faqs", web::get().to(faqs::list))
        .route("/api/sites/{key}/faqs", web::post().to(faqs::create))
        .route("/api/sites/{key}/faqs/{id}", web::put().to(faqs::update))
        .route("/api/sites/{key}/faqs/{id}", web::delete().to(faqs::delete))
        .route(
            "/api/sites/{key}/logo",
            web::delete().to(sites::delete_logo),
        )
        .route(
            "/api/sites/{key}/tracking",
            web::put().to(visitors::set_tracking),
        );
}

/// The Privacy section: retention, data-subject requests and restrictions, the audit trail and
/// read log, support access, the record of measures.
fn privacy_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/audit", web::get().to(audit::list))
        .route("/api/audit/reads", web::get().to(audit::reads))
        .route("/api/support/grants", web::get().to(support::list))
        .route("/api/support/grants", web::post().to(support::create))
        .route(
            "/api/support/grants/{id}",
            web::delete().to(support::revoke),
        )
        .route("/api/retention", web::get().to(privacy::show))
        .route("/api/retention", web::put().to(privacy::update))
        .route("/api/gdpr/find", web::get().to(privacy::find))
        .route("/api/gdpr/export", web::get().to(privacy::export))
        .route("/api/gdpr/rectify", web::post().to(privacy::rectify))
        .route("/api/gdpr/erase", web::post().to(privacy::erase))
        .route("/api/gdpr/erasures", web::get().to(privacy::erasures))
        .route("/api/gdpr/restrict", web::post().to(privacy::restrict))
        .route("/api/privacy/report", web::get().to(privacy::report))
        .route("/api/gdpr/unrestrict", web::post().to(privacy::unrestrict))
        .route(
            "/api/gdpr/restrictions",
            web::get().to(privacy::restrictions),
        )
        .route(
            "/api/gdpr/restrictions/{id}",
            web::delete().to(privacy::lift),
        );
}

/// Two-factor sign-in: one's own enrolment and codes, an admin's reset and role policy.
fn two_factor_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/two-factor", web::get().to(two_factor::show))
        .route("/api/two-factor/setup", web::post().to(two_factor::setup))
        .route(
            "/api/two-factor/confirm",
            web::post().to(two_factor::confirm),
        )
        .route(
            "/api/two-factor/recovery-codes",
            web::post().to(two_factor::renew),
        )
        .route(
            "/api/two-factor/disable",
            web::post().to(two_factor::disable),
        )
        .route(
            "/api/agents/{id}/two-factor",
            web::delete().to(two_factor::reset),
        )
        .route(
            "/api/roles/{id}/two-factor",
            web::put().to(two_factor::policy),
        );
}

/// The sign-in pages: password, second factor, set-up links, sign-out.
fn sign_in_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login::page))
        .route("/login", web::post().to(login::submit))
        .route("/logout", web::post().to(login::logout))
        .route("/setup/{link}", web::get().to(setup::page))
        .route("/setup/{link}", web::post().to(setup::submit))
        .route("/login/code", web::get().to(second_factor::page))
        .route("/login/code", web::post().to(second_factor::submit))
        .route("/login/enrol", web::get().to(second_factor::page))
        .route("/login/enrol", web::post().to(second_factor::submit));
}

/// What visitors' browsers call: the widget's APIs, its frame and logo and its socket (the
/// loader's page-view reports come first in `routes`). No session; each checks the site and
/// its origins.
fn visitor_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/widget/files", web::post().to(files::visitor_upload))
        .route(
            "/api/widget/files/{id}",
            web::post().to(files::visitor_download),
        )
        .route("/api/widget/config", web::get().to(widget::config))
        .route("/api/widget/faq", web::get().to(faqs::for_frame))
        .route("/api/widget/faq-view", web::post().to(faqs::view))
        .route("/api/status/{key}", web::get().to(status::show))
        .route("/api/status/{key}/badge.svg", web::get().to(status::badge))
        .route("/widget/logo/{key}", web::get().to(sites::logo))
        .route("/api/widget/transcript", web::post().to(widget::transcript))
        .route("/api/widget/offline", web::post().to(widget::offline))
        .route(
            "/api/widget/transcript-email",
            web::post().to(widget::transcript_email),
        )
        .route(
            "/api/widget/offline-from-chat",
            web::post().to(widget::offline_from_chat),
        )
        .route("/widget/frame", web::get().to(widget::frame))
        .route("/ws/visitor", web::get().to(ws::visitor));
}

/// The app every server worker runs: the state, the middleware and every route. Tests drive
/// it in-process (`actix_web::test::init_service`) to send it what no browser would.
pub fn app(
    data: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(data)
        .wrap(actix_web::middleware::from_fn(body::deadline))
        .wrap(actix_web::middleware::from_fn(headers::middleware))
        .configure(routes)
}

/// A server bound to its addresses, not yet running.
pub struct Bound {
    server: actix_web::dev::Server,
    /// The addresses actually bound (port 0 resolved).
    pub addrs: Vec<SocketAddr>,
    /// `https` or `http`.
    pub scheme: &'static str,
}

impl Bound {
    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Runs until stopped through the handle; in-flight requests finish first.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Binds the listener (plain or TLS) with every route.
pub fn bind(data: web::Data<AppState>) -> Result<Bound> {
    let listen = data.config.listen;
    let tls = match &data.config.tls {
        Some(t) => Some(tls_config(&t.cert, &t.key)?),
        None => None,
    };
    let factory = move || app(data.clone());
    let server = HttpServer::new(factory)
        // Chat frames are small and must leave at once: without TCP_NODELAY, Nagle's
        // algorithm and the peer's delayed ACK add ~40 ms to a frame sent while another is
        // unacknowledged.
        .on_connect(|conn, _| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            } else if let Some(tls) = conn
                .downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>>()
            {
                let _ = tls.get_ref().0.set_nodelay(true);
            }
        })
        // Signals are ours (see `serve`): sockets are told to go before requests drain.
        .disable_signals()
        .shutdown_timeout(10)
        .client_request_timeout(std::time::Duration::from_secs(10));
    let scheme = if tls.is_some() { "https" } else { "http" };
    let bound = match tls {
        Some(cfg) => server.bind_rustls_0_23(listen, cfg),
        None => server.bind(listen),
    }
    .map_err(|e| Error::io(format!("listening on {listen}"), e))?;
    let addrs = bound.addrs();
    Ok(Bound {
        server: bound.run(),
        addrs,
        scheme,
    })
}

/// rustls with ring, TLS 1.2 and 1.3 only, from PEM files.
fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Config(format!("tls.cert {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "tls.cert {}: no certificate found",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Config(format!("tls.key {}: {e}", key.display())))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Config(format!("tls: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Config(format!("tls: certificate and key do not fit: {e}")))
}
