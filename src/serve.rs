//! `kontor serve` and `kontor demo`: open the data directory, start the admin socket and the
//! web server, run until SIGTERM/SIGINT, then close every database cleanly.

use crate::admin::commands::{agent::AgentRequest, site::SiteRequest, tenant::TenantRequest};
use crate::admin::{self, Request, Response};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::email::Mail;
use crate::error::{Error, Result};
use crate::http::{self, AppState};
use crate::model::throttle::Throttle;
use crate::realtime::Realtime;
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;

/// Opens the data directory, initialising it on first run.
fn open_or_init(data_dir: &Path) -> Result<Store> {
    if !data_dir.join("system.db").exists() {
        let report = Store::init(data_dir)?;
        tracing::info!(
            data_dir = %report.data_dir.display(),
            master_key = %report.master_key.display(),
            "initialised a new data directory"
        );
    }
    Store::open(data_dir)
}

/// Runs the server until it is told to stop; everything in it reads `clock`.
pub fn serve(config: Config, clock: Clock) -> Result<()> {
    let store = Arc::new(open_or_init(&config.data_dir)?);
    run(config, store, false, clock, |_, _| Ok(()))
}

/// What `kontor demo` prints once the server is up.
struct DemoAccess {
    password: String,
}

/// Runs a demo: a demo tenant, an admin agent with a fresh password, a site for the server's
/// own origin, and `/demo`. Uses a temporary data dir unless `--data-dir` was given.
pub fn demo(mut config: Config, explicit_data_dir: bool, clock: Clock) -> Result<()> {
    let temp = if explicit_data_dir {
        None
    } else {
        let t = tempfile::Builder::new()
            .prefix("kontor-demo-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary data directory", e))?;
        config.data_dir = t.path().join("data");
        Some(t)
    };
    let store = Arc::new(open_or_init(&config.data_dir)?);
    let tenant = crate::http::demo::TENANT;
    let email = "demo@example.com";
    if store.tenant_record(tenant).is_err() {
        admin::execute(
            &store,
            &clock,
            &config.base_url(),
            Request::Tenant(TenantRequest::Create {
                slug: tenant.into(),
                name: Some("Demo Shop".into()),
            }),
        )?;
    }
    let (_, db) = store.tenant_db_by_slug(tenant)?;
    let exists = db
        .with(|c| crate::store::tenant::agent_credentials(c, email))?
        .is_some();
    let req = if exists {
        Request::Agent(AgentRequest::Passwd {
            tenant: tenant.into(),
            email: email.into(),
            password: None,
        })
    } else {
        Request::Agent(AgentRequest::Add {
            tenant: tenant.into(),
            email: email.into(),
            name: "Demo Agent".into(),
            role: "admin".into(),
            password: None,
        })
    };
    let Response::Agent {
        generated_password: Some(password),
        ..
    } = admin::execute(&store, &clock, &config.base_url(), req)?
    else {
        return Err(Error::Internal("demo agent has no password".into()));
    };
    let access = DemoAccess { password };
    let data_dir = config.data_dir.clone();
    let result = run(config, store, true, clock.clone(), move |store, base| {
        let port = base.rsplit(':').next().unwrap_or("");
        let origins = vec![base.to_string(), format!("http://localhost:{port}")];
        let rec = store.tenant_record(tenant)?;
        let sites = store.system(|c| crate::store::system::list_sites(c, &rec.uuid))?;
        if !sites.iter().any(|s| s.origins.iter().any(|o| o == base)) {
            admin::execute(
                store,
                &clock,
                base,
                Request::Site(SiteRequest::Add {
                    tenant: tenant.into(),
                    origins,
                    position: None,
                    color: None,
                    privacy_url: None,
                    lang: None,
                    tracking: None,
                    strip: None,
                }),
            )?;
        }
        println!();
        println!("kontor demo is running. Press Ctrl-C to stop.");
        println!("  demo web page with the widget:  {base}/demo");
        println!("  agent dashboard:                {base}/login");
        println!("  tenant:    {tenant}");
        println!("  email:     {email}");
        println!("  password:  {}", access.password);
        println!("  data dir:  {}", data_dir.display());
        println!();
        println!("  Sign in to the dashboard in one window, open the demo page in another");
        println!("  (a private window), click \"Chat\" and talk to yourself.");
        println!();
        Ok(())
    });
    drop(temp);
    result
}

/// Binds everything, calls `ready` with the base URL, serves until stopped, shuts down.
fn run(
    config: Config,
    store: Arc<Store>,
    demo: bool,
    clock: Clock,
    ready: impl FnOnce(&Store, &str) -> Result<()>,
) -> Result<()> {
    let data_dir = config.data_dir.clone();
    let public_base = config.public_url.clone();
    let system = actix_web::rt::System::new();
    let result = system.block_on(async {
        let admin_listener = admin::socket::bind(&data_dir)?;
        let tracking = Arc::new(crate::http::track::Tracking::new(&config.tracking)?);
        let Senders {
            mail,
            mail_status,
            hooks,
        } = start_senders(&config, &store, &clock)?;
        let lookups = Arc::new(crate::domain::lookup::Lookups::new(
            &config.webhooks,
            clock.clone(),
        ));
        crate::domain::lookup::start(lookups.clone(), Arc::downgrade(&store))?;
        let realtime = Arc::new(
            Realtime::new(
                store.clone(),
                config.session.clone(),
                std::time::Duration::from_secs(config.tracking.grace_secs),
                clock.clone(),
                &config.chat,
            )
            .with_mail(mail.clone())
            .with_hooks(hooks.clone())
            .with_lookups(lookups.clone()),
        );
        let (jobs, backups) = start_jobs(&config, &store, &clock, demo, &mail)?;
        close_idle_tenants(&config.tenants, &store, &realtime)?;
        // Shared with the admin socket, whose `agent unlock` and `agent passwd` clear it.
        let throttle = Arc::new(Throttle::default());
        let uploads = crate::http::files::AddressLimits::new(&config.uploads);
        let read_log = crate::domain::read_log::ReadLog::start(store.clone());
        let metrics_token = config.metrics.token()?;
        let state = AppState {
            store: store.clone(),
            config,
            throttle: throttle.clone(),
            clock: clock.clone(),
            demo,
            realtime: realtime.clone(),
            backups,
            tracking,
            uploads,
            audit_checked: Default::default(),
            mail,
            mail_status,
            read_log: read_log.clone(),
            api_limits: Default::default(),
            metrics_token,
            status_cache: Default::default(),
            hooks,
            lookups,
        };
        let mail = state.mail.clone();
        let state = actix_web::web::Data::new(state);
        let bound = http::bind(state.clone())?;
        let metrics_server = bind_metrics(&state)?;
        let base = base_of(&bound)?;
        if let (Some(m), None) = (&mail, &public_base) {
            m.set_base_url(&base);
        }
        ready(&store, &base)?;
        let admin_task = actix_web::rt::spawn(admin::socket::serve(
            admin_listener,
            store.clone(),
            realtime.clone(),
            throttle,
            public_base.unwrap_or_else(|| base.clone()),
        ));
        // A stable line that scripts and tests wait for.
        println!("kontor ready: listening on {base}");
        tracing::info!(%base, version = env!("CARGO_PKG_VERSION"), "ready");
        let handle = bound.handle();
        let metrics_handle = metrics_server.as_ref().map(|s| s.handle());
        if let Some(s) = metrics_server {
            actix_web::rt::spawn(s);
        }
        let rt = realtime.clone();
        actix_web::rt::spawn(async move {
            wait_for_stop_signal().await;
            tracing::info!("stopping: closing sockets, finishing requests");
            // Hubs first: every chat socket closes at once (clients resume elsewhere or
            // later), so the graceful stop only waits for ordinary requests.
            rt.stop_all();
            if let Some(m) = metrics_handle {
                m.stop(false).await;
            }
            handle.stop(true).await;
        });
        let served = bound.run().await;
        realtime.stop_all();
        read_log.stop();
        // A backup or purge in progress ends first: cut off at exit, it would leave its
        // working files and open databases behind.
        jobs.close();
        admin_task.abort();
        let _ = admin_task.await;
        served.map_err(|e| Error::io("serving", e))
    });
    let _ = std::fs::remove_file(admin::socket::path(&data_dir));
    store.close_tenants();
    tracing::info!("stopped; databases closed");
    result
}

/// What delivers in the background: mail (when `[smtp]` is set) and webhooks.
struct Senders {
    mail: Option<Arc<Mail>>,
    mail_status: Arc<crate::domain::email::sender::Status>,
    hooks: Arc<crate::domain::webhooks::Hooks>,
}

/// Starts the mail and webhook senders.
fn start_senders(config: &Config, store: &Arc<Store>, clock: &Clock) -> Result<Senders> {
    let mail = config
        .smtp
        .clone()
        .map(|smtp| Arc::new(Mail::new(smtp, &config.base_url())));
    let mail_status = Arc::new(crate::domain::email::sender::Status::default());
    if let Some(m) = &mail {
        crate::domain::email::sender::start(
            m.clone(),
            Arc::downgrade(store),
            clock.clone(),
            mail_status.clone(),
        )?;
    }
    let hooks = Arc::new(crate::domain::webhooks::Hooks::new(config.webhooks.clone()));
    crate::domain::webhooks::sender::start(hooks.clone(), Arc::downgrade(store), clock.clone())?;
    Ok(Senders {
        mail,
        mail_status,
        hooks,
    })
}

/// Starts the daily maintenance and, unless off (or a demo), the scheduled backups; the gate
/// that lets them finish at shutdown and how backups are doing.
fn start_jobs(
    config: &Config,
    store: &Arc<Store>,
    clock: &Clock,
    demo: bool,
    mail: &Option<Arc<Mail>>,
) -> Result<(crate::schedule::Gate, Arc<crate::schedule::Tracker>)> {
    let jobs = crate::schedule::Gate::default();
    let (aggregating, job_clock, gate, job_mail) = (
        Arc::downgrade(store),
        clock.clone(),
        jobs.clone(),
        mail.clone(),
    );
    std::thread::Builder::new()
        .name("maintenance".into())
        .spawn(move || crate::schedule::maintain(aggregating, job_clock, gate, job_mail))
        .map_err(|e| Error::io("starting the maintenance job", e))?;
    let backups = Arc::new(crate::schedule::Tracker::default());
    if config.backup.enabled && !demo {
        let plan = crate::schedule::Plan {
            cfg: config.backup.clone(),
            dir: config.backup_dir(),
            key_path: crate::store::backup::backup_key_path(&config.data_dir, None),
            offsite: config.offsite.clone(),
            data_dir: config.data_dir.clone(),
        };
        let (st, tracker, job_clock, gate, job_mail) = (
            Arc::downgrade(store),
            backups.clone(),
            clock.clone(),
            jobs.clone(),
            mail.clone(),
        );
        std::thread::Builder::new()
            .name("backups".into())
            .spawn(move || crate::schedule::run(st, plan, tracker, job_clock, gate, job_mail))
            .map_err(|e| Error::io("starting the backup scheduler", e))?;
    }
    Ok((jobs, backups))
}

/// Bounds the open tenant databases and, unless turned off, retires idle hubs and closes idle
/// databases every few seconds (a quarter of the idle time, at most 30 s), until the server
/// stops.
fn close_idle_tenants(
    cfg: &crate::config::TenantsConfig,
    store: &Arc<Store>,
    realtime: &Arc<Realtime>,
) -> Result<()> {
    store.set_max_open_tenants(cfg.max_open);
    if cfg.idle_close_secs == 0 {
        return Ok(());
    }
    let idle = std::time::Duration::from_secs(cfg.idle_close_secs);
    let every = (idle / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(30),
    );
    let (store, realtime) = (Arc::downgrade(store), Arc::downgrade(realtime));
    std::thread::Builder::new()
        .name("idle-tenants".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let (Some(store), Some(realtime)) = (store.upgrade(), realtime.upgrade()) else {
                    return;
                };
                // Hubs first: a retired hub lets go of its database, closed on a later turn.
                let hubs = realtime.retire_idle(idle);
                let dbs = store.close_idle_tenants(idle);
                if hubs + dbs > 0 {
                    tracing::debug!(hubs, databases = dbs, "idle tenants closed");
                }
            }
        })
        .map_err(|e| Error::io("starting the idle-tenant closer", e))?;
    Ok(())
}

/// The metrics listener of its own, when `[metrics] listen` asks for one.
fn bind_metrics(state: &actix_web::web::Data<AppState>) -> Result<Option<actix_web::dev::Server>> {
    let Some(addr) = state.config.metrics.listen else {
        return Ok(None);
    };
    let (server, addrs) = http::metrics::bind(state.clone(), addr)?;
    for a in &addrs {
        // A stable line, like the ready line, that scripts and tests read.
        println!("kontor metrics: listening on http://{a}/metrics");
        tracing::info!(addr = %a, "metrics listener up");
    }
    Ok(Some(server))
}

/// The base URL the server answers at (scheme, host, port as bound).
fn base_of(bound: &http::Bound) -> Result<String> {
    let addr = bound
        .addrs
        .first()
        .copied()
        .ok_or_else(|| Error::Internal("the server bound no address".into()))?;
    let host = match addr.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    Ok(format!("{}://{host}:{}", bound.scheme, addr.port()))
}

/// Resolves on SIGTERM or SIGINT.
async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for signals; stop the server with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
