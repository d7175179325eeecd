//! Operator commands as typed requests, executed the same way whether the CLI opened the data
//! directory itself or handed the request to a running server over its admin socket. Each
//! command lives with its noun in `commands/`: its clap arguments, its request, its execution
//! and its printing. Every line printed for people goes through [`say`], which escapes
//! control characters in the stored text it shows.

/// `println!` for people: formats one line and prints it through [`say`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::admin::say(&format!($($arg)*))
    };
}

pub mod commands;
pub mod socket;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Code, Error, Result};
use crate::model::throttle::Throttle;
use crate::store::Store;
use crate::store::audit as astore;
use crate::store::system as sstore;
use commands::{
    agent, agent::AgentRequest, audit::AuditRequest, backup, backup::BackupRequest, department,
    department::DepartmentRequest, gdpr::GdprRequest, hours::HoursRequest,
    retention::RetentionRequest, site, site::SiteRequest, stats, stats::StatsRequest, tenant,
    tenant::TenantRequest,
};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

pub use crate::model::tenants::TenantInfo;
pub use commands::agent::AgentInfo;
pub use commands::site::SiteInfo;
pub use commands::tenant::TenantDetails;

/// One operator command: on the wire one JSON object whose `cmd` names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Request {
    /// Questions to the server itself.
    Server(ServerRequest),
    /// `tenant …`
    Tenant(TenantRequest),
    /// `agent …`
    Agent(AgentRequest),
    /// `department …`
    Department(DepartmentRequest),
    /// `site …`
    Site(SiteRequest),
    /// `hours …`
    Hours(HoursRequest),
    /// `backup create|restore`
    Backup(BackupRequest),
    /// `backup push`, `backup list --remote`, `backup restore --from`
    Offsite(commands::offsite::OffsiteRequest),
    /// `gdpr …`
    Gdpr(GdprRequest),
    /// `retention …`
    Retention(RetentionRequest),
    /// `support …`
    Support(commands::support::SupportRequest),
    /// `token …`
    Token(commands::token::TokenRequest),
    /// `privacy …`
    Privacy(commands::privacy::PrivacyRequest),
    /// `audit …`
    Audit(AuditRequest),
    /// `stats`
    Stats(StatsRequest),
    /// `placement export`
    Placement(commands::placement::PlacementRequest),
}

/// Requests about the server rather than a noun.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ServerRequest {
    /// Is a server there?
    Ping,
}

impl Request {
    /// Is a server there?
    pub const PING: Request = Request::Server(ServerRequest::Ping);

    /// The command's name in the server log: its wire name, spaced (`site_add` is
    /// `site add`), so that each command is named once, where its wire form is defined.
    pub fn name(&self) -> String {
        let wire = serde_json::to_value(self).unwrap_or_default();
        wire["cmd"].as_str().unwrap_or_default().replace('_', " ")
    }
}

/// What a command returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    /// Answer to `Ping`.
    Pong {
        /// Server version.
        version: String,
    },
    /// One tenant.
    Tenant(TenantInfo),
    /// One tenant in detail.
    TenantDetails(TenantDetails),
    /// Tenants.
    Tenants {
        /// The list.
        tenants: Vec<TenantInfo>,
    },
    /// One agent, with the generated password if one was made.
    Agent {
        /// The agent.
        agent: AgentInfo,
        /// Shown once; never stored.
        generated_password: Option<String>,
    },
    /// Agents.
    Agents {
        /// The list.
        agents: Vec<AgentInfo>,
    },
    /// Headline statistics.
    Stats(Box<crate::store::stats::Headline>),
    /// A check or a listing: the machine-readable value, the lines a person reads, and
    /// whether it passed (a failed check exits non-zero).
    Report {
        /// For `--json`.
        value: serde_json::Value,
        /// For people.
        lines: Vec<String>,
        /// Passed.
        ok: bool,
    },
    /// Departments.
    Departments {
        /// The list.
        departments: Vec<crate::store::tenant::DepartmentRecord>,
    },
    /// One site.
    Site(SiteInfo),
    /// Sites.
    Sites {
        /// The list.
        sites: Vec<SiteInfo>,
    },
    /// A backup was written.
    BackupCreated(crate::store::backup::Created),
    /// Tenants were restored.
    BackupRestored {
        /// Each with what its chat log lost by the restore.
        tenants: Vec<crate::store::backup::Restored>,
    },
}

/// What a command runs with.
pub struct Ctx<'a> {
    /// The open data directory.
    pub store: &'a Store,
    /// The time.
    pub clock: &'a Clock,
    /// Where widgets load from.
    pub base_url: &'a str,
    /// Called with a tenant's uuid just before its database file is replaced.
    pub close: &'a mut dyn FnMut(&str),
    /// Hears about long work.
    pub progress: &'a mut dyn FnMut(&str),
    /// The running server's sign-in throttle; `None` when the command line opened the data
    /// directory itself (no server runs, so nobody counts failed sign-ins).
    pub throttle: Option<&'a Throttle>,
    /// The running server's live side (hubs); `None` when the command line opened the data
    /// directory itself.
    pub live: Option<&'a crate::realtime::Realtime>,
}

impl Ctx<'_> {
    /// Before an erasure: a running server's hub lets go of the person (see
    /// `Realtime::forget`); without a server nothing holds them.
    pub fn forget(&self, tenant_uuid: &str, s: &crate::store::gdpr::Subject) -> Result<()> {
        self.live.map_or(Ok(()), |rt| rt.forget(tenant_uuid, s))
    }

    /// Forgets the failed sign-ins counted against an agent (`email` normalised): whether
    /// there were any, or `None` when no server runs.
    pub fn unlock(&self, tenant: &str, email: &str) -> Option<bool> {
        self.throttle.map(|t| t.unlock(tenant, email))
    }
}

/// Runs one command against an open store at `clock`'s time; `base_url` is where widgets
/// load from.
pub fn execute(store: &Store, clock: &Clock, base_url: &str, req: Request) -> Result<Response> {
    execute_with(
        store,
        clock,
        base_url,
        req,
        None,
        &mut |_| {},
        &mut |line| {
            tracing::info!("{line}");
        },
    )
}

/// The running server an admin command reaches through its socket.
pub struct Running<'a> {
    /// Its sign-in throttle.
    pub throttle: &'a Throttle,
    /// Its live side (the tenants' hubs).
    pub live: &'a crate::realtime::Realtime,
}

/// Like [`execute`]; `server` is the running server, if any; `close` is called
/// with a tenant's uuid just before a restore replaces its database, so a running server can
/// let go of it; `progress` hears about long work.
pub fn execute_with(
    store: &Store,
    clock: &Clock,
    base_url: &str,
    req: Request,
    server: Option<Running<'_>>,
    close: &mut dyn FnMut(&str),
    progress: &mut dyn FnMut(&str),
) -> Result<Response> {
    let cx = &mut Ctx {
        store,
        clock,
        base_url,
        close,
        progress,
        throttle: server.as_ref().map(|s| s.throttle),
        live: server.as_ref().map(|s| s.live),
    };
    match req {
        Request::Server(ServerRequest::Ping) => Ok(Response::Pong {
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        Request::Tenant(r) => r.execute(cx),
        Request::Agent(r) => r.execute(cx),
        Request::Department(r) => r.execute(cx),
        Request::Site(r) => r.execute(cx),
        Request::Hours(r) => r.execute(cx),
        Request::Backup(r) => r.execute(cx),
        Request::Offsite(r) => r.execute(cx),
        Request::Gdpr(r) => r.execute(cx),
        Request::Retention(r) => r.execute(cx),
        Request::Support(r) => r.execute(cx),
        Request::Token(r) => r.execute(cx),
        Request::Privacy(r) => r.execute(cx),
        Request::Audit(r) => r.execute(cx),
        Request::Stats(r) => r.execute(cx),
        Request::Placement(r) => r.execute(cx),
    }
}

/// Runs an admin request through a running server's socket (at the server's time), or on the
/// files directly at `clock`'s.
pub fn run_admin(
    config: &Config,
    clock: &Clock,
    req: Request,
) -> std::result::Result<Response, Failure> {
    if let Some(answer) = socket::call(&config.data_dir, &req) {
        return answer;
    }
    let store = Store::open(&config.data_dir)?;
    // Long work (backups) reports each step on stderr: one updating line on a terminal,
    // plain lines otherwise.
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let mut progress = |line: &str| {
        let line = crate::model::text::escape_unsafe(line);
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    };
    let result = execute_with(
        &store,
        clock,
        &config.base_url(),
        req,
        None,
        &mut |_| {},
        &mut progress,
    );
    if tty {
        eprint!("\r\x1b[2K");
    }
    Ok(result?)
}

/// Prints one line for people. The stored text in it (names, emails, what someone typed at
/// the sign-in) may hold control characters or bidi overrides: they are printed escaped
/// (`\u{1b}`), so they cannot move the cursor, recolour the terminal or start a forged line.
/// JSON output needs none of this: serde escapes control characters itself.
pub fn say(line: &str) {
    println!("{}", crate::model::text::escape_unsafe(line));
}

/// Prints a command's result as text or JSON.
pub fn print_response(res: &Response, json: bool) {
    if json {
        let mut v = match res {
            Response::Tenant(t) => serde_json::to_value(t),
            Response::TenantDetails(t) => serde_json::to_value(t),
            Response::Site(s) => serde_json::to_value(s),
            Response::Stats(h) => serde_json::to_value(h),
            Response::Report { value, .. } => Ok(value.clone()),
            other => serde_json::to_value(other),
        }
        .unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("kind");
        }
        println!("{v}");
        return;
    }
    match res {
        Response::Report { lines, .. } => lines.iter().for_each(|l| say(l)),
        Response::Pong { version } => say!("kontor {version} is running"),
        Response::Tenant(t) => tenant::print_tenant(t),
        Response::TenantDetails(d) => tenant::print_details(d),
        Response::Tenants { tenants } => tenant::print_list(tenants),
        Response::Agent {
            agent,
            generated_password,
        } => agent::print_agent(agent, generated_password.as_deref()),
        Response::Agents { agents } => agent::print_list(agents),
        Response::BackupCreated(c) => backup::print_created(c),
        Response::BackupRestored { tenants } => backup::print_restored(tenants),
        Response::Stats(h) => stats::print(h),
        Response::Departments { departments } => department::print_list(departments),
        Response::Site(s) => site::print_site(s),
        Response::Sites { sites } => site::print_list(sites),
    }
}

/// A path made absolute against the current directory (the server has another one).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Reads one secret line from standard input (the trailing newline is not part of it).
pub fn read_secret(what: &str) -> std::result::Result<String, Failure> {
    let mut s = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut s)
        .map_err(|e| {
            Failure::new(
                Code::InvalidInput,
                format!("reading the {what} from standard input: {e}"),
            )
        })?;
    let p = s.strip_suffix('\n').unwrap_or(&s);
    let p = p.strip_suffix('\r').unwrap_or(p);
    if p.is_empty() {
        return Err(Failure::new(
            Code::InvalidInput,
            format!("no {what} on standard input"),
        ));
    }
    Ok(p.to_string())
}

/// Refuses a destructive command the operator did not confirm with `--yes`: "refusing to
/// {what} without --yes: {loss}".
pub fn confirmed(yes: bool, what: &str, loss: &str) -> std::result::Result<(), Failure> {
    if yes {
        return Ok(());
    }
    Err(Failure::new(
        Code::InvalidInput,
        format!("refusing to {what} without --yes: {loss}"),
    ))
}

/// Records an operator change of an agent by id (no email, no content), in the operator log
/// and in the tenant's own audit trail.
pub fn operator_log(store: &Store, action: &str, tenant: &str, agent_id: i64) {
    let object = format!("{tenant}/agent#{agent_id}");
    if let Err(e) = store.system(|c| sstore::log_operator(c, action, &object, "ok")) {
        tracing::error!(error = %e, "writing the operator audit failed");
    }
    tenant_audit(store, tenant, action, &format!("agent#{agent_id}"));
}

/// Records a successful operator command on `c` (in the command's own transaction when it
/// has one; actor `operator`).
pub fn operator_audit(c: &rusqlite::Connection, action: &str, object: &str) -> Result<()> {
    astore::record(
        c,
        &astore::AuditEntry {
            actor: "operator",
            role: "operator",
            action,
            object,
            result: "success",
            ..Default::default()
        },
    )
}

/// Records a successful operator command in the tenant's audit trail (actor `operator`).
pub fn tenant_audit(store: &Store, tenant: &str, action: &str, object: &str) {
    let written = store
        .tenant_db_by_slug(tenant)
        .and_then(|(_, db)| db.with(|c| operator_audit(c, action, object)));
    if let Err(e) = written {
        tracing::error!(error = %e, tenant, "writing the tenant audit failed");
    }
}

/// A command's failure as the CLI reports it, whether it happened here or in the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// Registered code, e.g. `not_found` (its string in JSON).
    pub code: Code,
    /// Human-readable message.
    pub message: String,
}

impl Failure {
    /// A failure with a registered code and a message for people.
    pub fn new(code: Code, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// The CLI's exit status for it, from the registry.
    pub fn exit_status(&self) -> u8 {
        self.code.spec().exit
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        if matches!(e, Error::Db(_) | Error::Internal(_)) {
            tracing::error!(error = %e, "admin command failed");
        }
        Failure::new(e.code(), e.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The socket speaks one flat JSON object per request, named by `cmd`, as before the
    /// commands moved to their nouns.
    #[test]
    fn requests_keep_their_wire_form() {
        let cases = [
            (Request::PING, r#"{"cmd":"ping"}"#),
            (
                Request::Tenant(TenantRequest::List),
                r#"{"cmd":"tenant_list"}"#,
            ),
            (
                Request::Tenant(TenantRequest::Create {
                    slug: "acme".into(),
                    name: None,
                }),
                r#"{"cmd":"tenant_create","slug":"acme","name":null}"#,
            ),
            (
                Request::Stats(StatsRequest::Stats {
                    tenant: "acme".into(),
                    from: None,
                    to: None,
                }),
                r#"{"cmd":"stats","tenant":"acme","from":null,"to":null}"#,
            ),
            (
                Request::Retention(RetentionRequest::Set {
                    tenant: "acme".into(),
                    changes: [("chats_days".to_string(), 9)].into(),
                }),
                r#"{"cmd":"retention_set","tenant":"acme","changes":{"chats_days":9}}"#,
            ),
        ];
        for (req, wire) in cases {
            assert_eq!(serde_json::to_string(&req).unwrap(), wire);
            let back: Request = serde_json::from_str(wire).unwrap();
            assert_eq!(back.name(), req.name());
            assert_eq!(serde_json::to_string(&back).unwrap(), wire);
        }
        // The agent commands that name an agent by tenant and e-mail.
        type ByEmail = fn(String, String) -> AgentRequest;
        let by_email: [(&str, ByEmail); 4] = [
            ("disable", |tenant, email| AgentRequest::Disable {
                tenant,
                email,
            }),
            ("unlock", |tenant, email| AgentRequest::Unlock {
                tenant,
                email,
            }),
            ("sessions", |tenant, email| AgentRequest::Sessions {
                tenant,
                email,
            }),
            ("logout", |tenant, email| AgentRequest::Logout {
                tenant,
                email,
            }),
        ];
        for (verb, make) in by_email {
            let req = Request::Agent(make("acme".into(), "a@b.c".into()));
            let wire = format!(r#"{{"cmd":"agent_{verb}","tenant":"acme","email":"a@b.c"}}"#);
            assert_eq!(serde_json::to_string(&req).unwrap(), wire);
            let back: Request = serde_json::from_str(&wire).unwrap();
            assert_eq!(back.name(), req.name());
        }
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"nope"}"#).is_err());
    }

    /// The server log names a command as it always did.
    #[test]
    fn requests_are_named_by_their_wire_name() {
        let named = [
            (Request::PING, "ping"),
            (Request::Tenant(TenantRequest::List), "tenant list"),
            (
                Request::Agent(AgentRequest::Disable {
                    tenant: "acme".into(),
                    email: "a@b.c".into(),
                }),
                "agent disable",
            ),
            (
                Request::Stats(StatsRequest::Stats {
                    tenant: "acme".into(),
                    from: None,
                    to: None,
                }),
                "stats",
            ),
            (
                Request::Retention(RetentionRequest::Purge {
                    tenant: "acme".into(),
                }),
                "retention purge",
            ),
        ];
        for (req, name) in named {
            assert_eq!(req.name(), name);
        }
    }
}
