//! The command-line tree and how admin commands print their results.

use crate::admin::{self, Failure, Request, Response};
use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::error::Code;
use crate::store::Store;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::{Path, PathBuf};

/// kontor: self-hosted live chat, live visitors and statistics, with GDPR duties built in.
#[derive(Debug, Parser)]
#[command(name = "kontor", version, propagate_version = true)]
pub struct Cli {
    /// Config file [default: /etc/kontor/kontor.toml if it exists; env KONTOR_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory [default: ./kontor-data; env KONTOR_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080; env KONTOR_LISTEN]
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// Tests only: add the offset in milliseconds written in FILE to every reading of this
    /// process's clock, re-read at each reading, so an integration test moves the server's time
    /// forward instead of sleeping (`src/clock.rs`). Hidden, and refused by release builds, so
    /// no production server runs on it by accident.
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub test_clock_offset_file: Option<PathBuf>,
    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and background jobs (initialises the data directory on first run)
    Serve,
    /// Start a demo: fresh temporary data, a demo tenant, an agent and a page with the widget
    Demo,
    /// Create the data directory and master key if they do not exist
    Init,
    /// Print the effective configuration (secrets masked)
    CheckConfig,
    /// Check keys, permissions, every tenant's integrity, disk space, backups and the TLS
    /// certificate; exits 1 when anything needs attention
    Doctor,
    /// Print the man page (roff) to standard output
    #[command(hide = true)]
    Man,
    /// Manage tenants (works with or without a running server)
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage a tenant's agents (works with or without a running server)
    #[command(subcommand)]
    Agent(AgentCmd),
    /// Manage a tenant's sites and their allowed origins (works with or without a running server)
    #[command(subcommand)]
    Site(SiteCmd),
    /// Manage a tenant's departments (works with or without a running server)
    #[command(subcommand)]
    Department(DepartmentCmd),
    /// Encrypted backups: create (online), verify, restore, list
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Data-subject requests (GDPR Art. 15-17, 20): find, export, rectify, erase a person's data
    #[command(subcommand)]
    Gdpr(GdprCmd),
    /// How long each kind of personal data is kept; purge what has expired
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// The tenant's tamper-evident audit trail: verify the hash chain, list entries
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Headline statistics of a tenant: visitors, visits, page views, chats (default: the
    /// last 30 days, UTC)
    Stats {
        /// Tenant slug
        tenant: String,
        /// First day, YYYY-MM-DD [default: 29 days before --to]
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day, included, YYYY-MM-DD [default: today]
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
    },
}

/// `kontor backup …`
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Write an encrypted archive of every tenant (or one) while the server keeps serving
    Create {
        /// Only this tenant
        #[arg(long)]
        tenant: Option<String>,
        /// Directory for the archive [default: DATA_DIR/backups]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Backup key file [default: $CREDENTIALS_DIRECTORY/backup.key, else DATA_DIR/backup.key, created if missing]
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
    },
    /// Check an archive completely: key, checksums, and every database's integrity
    Verify {
        /// The archive
        file: PathBuf,
        /// Backup key file
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
    },
    /// Replace live tenants with their state in an archive (checked first; atomic per tenant)
    Restore {
        /// The archive
        file: PathBuf,
        /// Only this tenant
        #[arg(long)]
        tenant: Option<String>,
        /// Backup key file
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
        /// Confirm that newer data of the restored tenants is replaced
        #[arg(long)]
        yes: bool,
    },
    /// List the archives in a directory with time, size and tenants
    List {
        /// Directory [default: DATA_DIR/backups]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Backup key file
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
    },
}

/// Who the request is about: exactly one of these.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SubjectArgs {
    /// The email address they gave
    #[arg(long)]
    email: Option<String>,
    /// The name they gave (exact, any case)
    #[arg(long)]
    name: Option<String>,
    /// A visitor id as the dashboard shows it
    #[arg(long)]
    visitor: Option<String>,
    /// A chat id
    #[arg(long)]
    chat: Option<String>,
}

impl SubjectArgs {
    fn pair(&self) -> (String, String) {
        let pick = [
            ("email", &self.email),
            ("name", &self.name),
            ("visitor", &self.visitor),
            ("chat", &self.chat),
        ];
        pick.into_iter()
            .find_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
            .unwrap_or_default()
    }
}

/// `kontor gdpr …`
#[derive(Debug, Subcommand)]
pub enum GdprCmd {
    /// What is stored about the person (counts and lists; audited)
    Find {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
    },
    /// Everything about the person: JSON on standard output, or with --out an archive
    /// (subject.json, HTML transcripts, files)
    Export {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
        /// Write the archive (.tar) here instead
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Correct the person's name and/or email everywhere (Art. 16)
    Rectify {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
        /// The correct name
        #[arg(long)]
        new_name: Option<String>,
        /// The correct email
        #[arg(long)]
        new_email: Option<String>,
    },
    /// Delete everything about the person and print the deletion protocol (Art. 17)
    Erase {
        /// Tenant slug
        tenant: String,
        #[command(flatten)]
        subject: SubjectArgs,
        /// Really delete (see `kontor gdpr find` first)
        #[arg(long)]
        yes: bool,
    },
}

/// Runs a `kontor gdpr …` command.
pub fn run_gdpr(config: &Config, clock: &Clock, cmd: &GdprCmd, json: bool) -> Result<(), Failure> {
    let fail = |m: String| Failure::new(Code::InvalidInput, m);
    let (tenant, subject, action, new_name, new_email) = match cmd {
        GdprCmd::Find { tenant, subject } => (tenant, subject, "find", None, None),
        GdprCmd::Export {
            tenant,
            subject,
            out,
        } => (
            tenant,
            subject,
            if out.is_some() { "archive" } else { "export" },
            None,
            None,
        ),
        GdprCmd::Rectify {
            tenant,
            subject,
            new_name,
            new_email,
        } => (
            tenant,
            subject,
            "rectify",
            new_name.clone(),
            new_email.clone(),
        ),
        GdprCmd::Erase {
            tenant,
            subject,
            yes,
        } => {
            if !yes {
                return Err(fail(
                    "refusing to erase without --yes: everything found would be deleted for good; \
                     run `kontor gdpr find` with the same arguments to see what"
                        .into(),
                ));
            }
            (tenant, subject, "erase", None, None)
        }
    };
    let (by, value) = subject.pair();
    let res = run_admin(
        config,
        clock,
        Request::Gdpr {
            tenant: tenant.clone(),
            action: action.into(),
            by,
            value,
            new_name,
            new_email,
            out: match cmd {
                GdprCmd::Export { out: Some(out), .. } => Some(absolute(out)),
                _ => None,
            },
        },
    )?;
    match (&res, cmd) {
        (Response::Report { value, .. }, GdprCmd::Export { out: None, .. }) => {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
            Ok(())
        }
        _ => {
            print_response(&res, json);
            Ok(())
        }
    }
}

/// `kontor retention …`
#[derive(Debug, Subcommand)]
pub enum RetentionCmd {
    /// Show the periods (days)
    Show {
        /// Tenant slug
        tenant: String,
    },
    /// Change periods (1 to 3650 days each); the ones not given stay
    Set {
        /// Tenant slug
        tenant: String,
        /// Ended chats, their messages and transcripts
        #[arg(long, value_name = "DAYS")]
        chats: Option<u32>,
        /// Files sent in chats
        #[arg(long, value_name = "DAYS")]
        files: Option<u32>,
        /// Offline messages
        #[arg(long, value_name = "DAYS")]
        offline: Option<u32>,
        /// Raw visits and page views (statistics aggregates stay)
        #[arg(long, value_name = "DAYS")]
        page_views: Option<u32>,
        /// Visitor records
        #[arg(long, value_name = "DAYS")]
        visitors: Option<u32>,
        /// The audit trail
        #[arg(long, value_name = "DAYS")]
        audit: Option<u32>,
    },
    /// Delete what has expired now (the server also does this daily)
    Purge {
        /// Tenant slug
        tenant: String,
    },
}

/// `kontor audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Recompute the hash chain; exits non-zero if any entry was changed, inserted or removed
    Verify {
        /// Tenant slug
        tenant: String,
        /// A head printed by an earlier verify: fails unless it is still in the chain
        #[arg(long, value_name = "HEX")]
        head: Option<String>,
    },
    /// The newest entries
    List {
        /// Tenant slug
        tenant: String,
        /// How many (at most 500)
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only actions starting with this, e.g. login
        #[arg(long)]
        action: Option<String>,
    },
}

/// `kontor department …`
#[derive(Debug, Subcommand)]
pub enum DepartmentCmd {
    /// Add a department
    Add {
        /// Tenant slug
        tenant: String,
        /// Name, e.g. Sales
        name: String,
    },
    /// List departments
    List {
        /// Tenant slug
        tenant: String,
    },
}

/// `kontor tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant with its own encrypted database
    Create {
        /// Short name: a-z, 0-9 and '-'
        slug: String,
        /// Display name [default: the slug]
        #[arg(long)]
        name: Option<String>,
    },
    /// List tenants
    List,
    /// Show one tenant
    Show {
        /// Tenant slug
        slug: String,
    },
    /// Delete a tenant for good: its key is destroyed first, then its database file; prints
    /// and keeps a deletion certificate
    Delete {
        /// Tenant slug
        slug: String,
        /// Confirm that the tenant's data is to be destroyed irrecoverably
        #[arg(long)]
        yes: bool,
    },
    /// Write everything of a tenant to one file (contract end, moving servers); encrypted
    /// under a passphrase read from standard input unless --plain
    Export {
        /// Tenant slug
        slug: String,
        /// The file to write
        #[arg(long)]
        out: PathBuf,
        /// Write it unencrypted (the data then needs protecting by other means)
        #[arg(long)]
        plain: bool,
    },
    /// Create a tenant from an export file (its passphrase on standard input if encrypted)
    Import {
        /// The export file
        file: PathBuf,
    },
    /// Put the tenant's database under a new key and destroy the old one
    Rekey {
        /// Tenant slug
        slug: String,
    },
}

/// `kontor agent …`
#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Add an agent; prints a generated password unless --password-stdin is given
    Add {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
        /// Name visitors see
        #[arg(long)]
        name: String,
        /// admin, supervisor, agent, or a role the tenant defined
        #[arg(long, default_value = "agent")]
        role: String,
        /// Read the password from standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a tenant's agents
    List {
        /// Tenant slug
        tenant: String,
    },
    /// Set a new password (generated unless --password-stdin); ends the agent's sessions
    Passwd {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
        /// Read the password from standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an agent's capacity or departments (takes effect at once)
    Set {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
        /// Chats the agent takes at once (1-50)
        #[arg(long)]
        capacity: Option<i64>,
        /// Department by name (repeatable; replaces the agent's departments)
        #[arg(long = "department", value_name = "NAME")]
        departments: Vec<String>,
        /// Remove the agent from every department
        #[arg(long, conflicts_with = "departments")]
        no_departments: bool,
    },
    /// Block an agent from signing in; ends their sessions
    Disable {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
    },
}

/// `kontor site …`
#[derive(Debug, Subcommand)]
pub enum SiteCmd {
    /// Add a site; prints its key and the snippet to embed
    Add {
        /// Tenant slug
        tenant: String,
        /// Origin allowed to embed the widget, e.g. https://shop.example (repeatable)
        #[arg(long = "origin", value_name = "ORIGIN")]
        origins: Vec<String>,
        /// Corner of the chat button: bottom-right or bottom-left [default: bottom-right]
        #[arg(long)]
        position: Option<String>,
        /// Colour of the chat button, #rrggbb [default: #0a5bd3]
        #[arg(long)]
        color: Option<String>,
        /// Address of the site's privacy notice, linked before the visitor opts in
        #[arg(long)]
        privacy_url: Option<String>,
        /// Widget language when the page does not say: en or de [default: en]
        #[arg(long)]
        lang: Option<String>,
        /// Visitor monitoring: off, anonymous or consented [default: anonymous]
        #[arg(long)]
        tracking: Option<String>,
        /// Query parameters removed from reported page addresses, comma-separated; `*` removes
        /// all but utm_* [default: *]
        #[arg(long, value_name = "NAMES")]
        strip: Option<String>,
    },
    /// Change how a site's visitors are monitored (see the widget guide, "Tracking modes")
    Tracking {
        /// Tenant slug
        tenant: String,
        /// The site's key
        site_key: String,
        /// off, anonymous or consented
        #[arg(long)]
        mode: Option<String>,
        /// Query parameters removed from reported page addresses, comma-separated; `*` removes
        /// all but utm_*
        #[arg(long, value_name = "NAMES")]
        strip: Option<String>,
    },
    /// List a tenant's sites
    List {
        /// Tenant slug
        tenant: String,
    },
}

impl Cli {
    /// The clock this process reads: the system clock, or in a test a clock moved by a file.
    pub fn clock(&self) -> Result<Clock, Failure> {
        match &self.test_clock_offset_file {
            None => Ok(Clock::system()),
            Some(path) => Clock::offset_file(path).ok_or_else(|| {
                Failure::new(
                    Code::InvalidInput,
                    "--test-clock-offset-file is for tests and works in debug builds only",
                )
            }),
        }
    }

    /// The command-line part of the configuration.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            listen: self.listen.clone(),
        }
    }
}

/// A path made absolute against the current directory (the server has another one).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Turns an admin subcommand into a request; reads a password from stdin when asked.
pub fn admin_request(config: &Config, cmd: &Command) -> Result<Option<Request>, Failure> {
    let invalid = |m: &str| Failure::new(Code::InvalidInput, m);
    Ok(Some(match cmd {
        Command::Tenant(TenantCmd::Create { slug, name }) => Request::TenantCreate {
            slug: slug.clone(),
            name: name.clone(),
        },
        Command::Tenant(TenantCmd::Export { slug, out, plain }) => Request::TenantExport {
            slug: slug.clone(),
            out: absolute(out),
            passphrase: if *plain {
                None
            } else {
                Some(read_secret("passphrase").map_err(|mut f| {
                    f.message.push_str(
                        " (pipe one in, at least 12 characters; --plain writes it unencrypted)",
                    );
                    f
                })?)
            },
        },
        Command::Tenant(TenantCmd::Import { file }) => {
            let encrypted = std::fs::File::open(file)
                .and_then(|mut f| {
                    let mut head = [0u8; 16];
                    f.read_exact(&mut head).map(|_| head)
                })
                .map(|head| crate::store::tenant_export::is_encrypted(&head))
                .unwrap_or(false);
            Request::TenantImport {
                file: absolute(file),
                passphrase: if encrypted {
                    Some(read_secret("passphrase")?)
                } else {
                    None
                },
            }
        }
        Command::Tenant(TenantCmd::Rekey { slug }) => Request::TenantRekey { slug: slug.clone() },
        Command::Tenant(TenantCmd::List) => Request::TenantList,
        Command::Tenant(TenantCmd::Show { slug }) => Request::TenantShow { slug: slug.clone() },
        Command::Tenant(TenantCmd::Delete { slug, yes }) => {
            if !yes {
                return Err(invalid(&format!(
                    "refusing to delete tenant {slug:?} without --yes: its data would be destroyed irrecoverably"
                )));
            }
            Request::TenantDelete { slug: slug.clone() }
        }
        Command::Agent(AgentCmd::Add {
            tenant,
            email,
            name,
            role,
            password_stdin,
        }) => Request::AgentAdd {
            tenant: tenant.clone(),
            email: email.clone(),
            name: name.clone(),
            role: role.clone(),
            password: password_stdin.then(read_password).transpose()?,
        },
        Command::Agent(AgentCmd::List { tenant }) => Request::AgentList {
            tenant: tenant.clone(),
        },
        Command::Agent(AgentCmd::Passwd {
            tenant,
            email,
            password_stdin,
        }) => Request::AgentPasswd {
            tenant: tenant.clone(),
            email: email.clone(),
            password: password_stdin.then(read_password).transpose()?,
        },
        Command::Agent(AgentCmd::Set {
            tenant,
            email,
            capacity,
            departments,
            no_departments,
        }) => Request::AgentSet {
            tenant: tenant.clone(),
            email: email.clone(),
            capacity: *capacity,
            departments: if *no_departments {
                Some(Vec::new())
            } else if departments.is_empty() {
                None
            } else {
                Some(departments.clone())
            },
        },
        Command::Backup(BackupCmd::Create {
            tenant,
            out,
            backup_key,
        }) => Request::BackupCreate {
            tenant: tenant.clone(),
            out: absolute(out.as_deref().unwrap_or(&config.data_dir.join("backups"))),
            backup_key: backup_key.as_deref().map(absolute),
        },
        Command::Backup(BackupCmd::Restore {
            file,
            tenant,
            backup_key,
            yes,
        }) => {
            if !yes {
                return Err(invalid(
                    "refusing to restore without --yes: the restored tenants' newer data would be replaced",
                ));
            }
            Request::BackupRestore {
                file: absolute(file),
                tenant: tenant.clone(),
                backup_key: backup_key.as_deref().map(absolute),
            }
        }
        Command::Department(DepartmentCmd::Add { tenant, name }) => Request::DepartmentAdd {
            tenant: tenant.clone(),
            name: name.clone(),
        },
        Command::Department(DepartmentCmd::List { tenant }) => Request::DepartmentList {
            tenant: tenant.clone(),
        },
        Command::Retention(RetentionCmd::Show { tenant }) => Request::RetentionShow {
            tenant: tenant.clone(),
        },
        Command::Retention(RetentionCmd::Purge { tenant }) => Request::RetentionPurge {
            tenant: tenant.clone(),
        },
        Command::Retention(RetentionCmd::Set {
            tenant,
            chats,
            files,
            offline,
            page_views,
            visitors,
            audit,
        }) => {
            let changes: std::collections::BTreeMap<String, u32> = [
                ("chats_days", chats),
                ("files_days", files),
                ("offline_days", offline),
                ("page_views_days", page_views),
                ("visitors_days", visitors),
                ("audit_days", audit),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect();
            if changes.is_empty() {
                return Err(invalid(
                    "give at least one period, e.g. --chats 180 (see kontor retention set --help)",
                ));
            }
            Request::RetentionSet {
                tenant: tenant.clone(),
                changes,
            }
        }
        Command::Audit(AuditCmd::Verify { tenant, head }) => Request::AuditVerify {
            tenant: tenant.clone(),
            head: head.clone(),
        },
        Command::Audit(AuditCmd::List {
            tenant,
            limit,
            action,
        }) => Request::AuditList {
            tenant: tenant.clone(),
            limit: Some(*limit),
            action: action.clone(),
        },
        Command::Stats { tenant, from, to } => Request::Stats {
            tenant: tenant.clone(),
            from: from.clone(),
            to: to.clone(),
        },
        Command::Agent(AgentCmd::Disable { tenant, email }) => Request::AgentDisable {
            tenant: tenant.clone(),
            email: email.clone(),
        },
        Command::Site(SiteCmd::Add {
            tenant,
            origins,
            position,
            color,
            privacy_url,
            lang,
            tracking,
            strip,
        }) => Request::SiteAdd {
            tenant: tenant.clone(),
            origins: origins.clone(),
            position: position.clone(),
            color: color.clone(),
            privacy_url: privacy_url.clone(),
            lang: lang.clone(),
            tracking: tracking.clone(),
            strip: strip.clone().map(|s| vec![s]),
        },
        Command::Site(SiteCmd::Tracking {
            tenant,
            site_key,
            mode,
            strip,
        }) => Request::SiteTracking {
            tenant: tenant.clone(),
            site_key: site_key.clone(),
            mode: mode.clone(),
            strip: strip.clone().map(|s| vec![s]),
        },
        Command::Site(SiteCmd::List { tenant }) => Request::SiteList {
            tenant: tenant.clone(),
        },
        _ => return Ok(None),
    }))
}

/// Reads one password from standard input (the trailing newline is not part of it).
fn read_password() -> Result<String, Failure> {
    read_secret("password")
}

/// Reads one secret line from standard input (the trailing newline is not part of it).
fn read_secret(what: &str) -> Result<String, Failure> {
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

/// Runs an admin request through a running server's socket (at the server's time), or on the
/// files directly at `clock`'s.
pub fn run_admin(config: &Config, clock: &Clock, req: Request) -> Result<Response, Failure> {
    if let Some(answer) = admin::socket::call(&config.data_dir, &req) {
        return answer;
    }
    let store = Store::open(&config.data_dir)?;
    // Long work (backups) reports each step on stderr: one updating line on a terminal,
    // plain lines otherwise.
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let mut progress = |line: &str| {
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    };
    let result = admin::execute_with(
        &store,
        clock,
        &config.base_url(),
        req,
        &mut |_| {},
        &mut progress,
    );
    if tty {
        eprint!("\r\x1b[2K");
    }
    Ok(result?)
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
        Response::Report { lines, .. } => lines.iter().for_each(|l| println!("{l}")),
        Response::Pong { version } => println!("kontor {version} is running"),
        Response::Tenant(t) => println!("tenant {} ({}), id {}", t.slug, t.name, t.uuid),
        Response::TenantDetails(d) => {
            let t = &d.tenant;
            println!("slug:     {}", t.slug);
            println!("name:     {}", t.name);
            println!("id:       {}", t.uuid);
            println!("created:  {}", crate::clock::rfc3339(t.created_at));
            println!("agents:   {}", d.agents);
            println!("database: {} bytes (encrypted)", d.db_bytes);
            println!("sites:    {}", d.sites.len());
            for s in &d.sites {
                println!("  {}  {}", s.site_key, s.origins.join(" "));
            }
        }
        Response::Tenants { tenants } => {
            if tenants.is_empty() {
                println!("no tenants yet; create one with `kontor tenant create SLUG`");
            }
            for t in tenants {
                println!("{:<24} {:<30} {}", t.slug, t.name, t.uuid);
            }
        }
        Response::Agent {
            agent,
            generated_password,
        } => {
            let state = if agent.disabled { ", disabled" } else { "" };
            println!(
                "agent {} ({}, {}{state})",
                agent.email, agent.name, agent.role
            );
            if let Some(p) = generated_password {
                println!("password: {p}");
                println!("(shown once; kontor stores only its argon2id hash)");
            }
        }
        Response::Agents { agents } => {
            if agents.is_empty() {
                println!("no agents yet; add one with `kontor agent add TENANT EMAIL --name NAME`");
            }
            for a in agents {
                let state = if a.disabled { "disabled" } else { "active" };
                println!("{:<32} {:<24} {:<6} {state}", a.email, a.name, a.role);
            }
        }
        Response::BackupCreated(c) => {
            println!("backup written: {} ({} bytes)", c.file.display(), c.bytes);
            println!("tenants: {}", c.tenants.join(" "));
        }
        Response::BackupRestored { tenants } => {
            for t in tenants {
                println!("{}: restored; {}", t.slug, restore_loss(t));
            }
        }
        Response::Stats(h) => {
            println!("{} to {} (UTC)", h.from, h.to);
            println!("visitors:          {}", h.visitors);
            println!("visits:            {}", h.visits);
            println!("page views:        {}", h.page_views);
            println!("pages per visit:   {:.2}", h.pages_per_visit);
            println!("bounce rate:       {:.1} %", h.bounce_rate * 100.0);
            println!("median visit:      {:.0} s", h.median_visit_seconds);
            println!("chats:             {}", h.chats);
            println!("  accepted:        {}", h.accepted_chats);
            println!("  missed:          {}", h.missed_chats);
            println!("offline messages:  {}", h.offline_messages);
            match h.median_first_response_seconds {
                Some(s) => println!("median first answer: {s:.0} s"),
                None => println!("median first answer: -"),
            }
        }
        Response::Departments { departments } => {
            if departments.is_empty() {
                println!("no departments yet; add one with `kontor department add TENANT NAME`");
            }
            for d in departments {
                println!("{:<6} {}", d.id, d.name);
            }
        }
        Response::Site(s) => {
            println!("site key: {}", s.site_key);
            println!("allowed origins: {}", s.origins.join(" "));
            println!(
                "visitor monitoring: {} (query parameters stripped: {})",
                s.tracking.mode,
                s.tracking.strip.join(",")
            );
            println!("embed this in the pages of those origins:");
            println!("{}", s.snippet);
        }
        Response::Sites { sites: list } => {
            if list.is_empty() {
                println!("no sites yet; add one with `kontor site add TENANT --origin https://…`");
            }
            for s in list {
                println!(
                    "{}  {}  (tracking: {})",
                    s.site_key,
                    s.origins.join(" "),
                    s.tracking.mode
                );
                println!("  {}", s.snippet);
            }
        }
    }
}

/// What a restore dropped from a tenant's chat log, in words.
fn restore_loss(t: &crate::store::backup::Restored) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match (t.dropped_entries, t.dropped_chats) {
        (Some(0), _) => "nothing acknowledged after the backup is lost".into(),
        (Some(entries), Some(chats)) => format!(
            "{} in {} acknowledged after this backup was made {} gone (the chats' visitors and agents see the restored log)",
            plural(entries, "chat entry", "chat entries"),
            plural(chats, "chat", "chats"),
            if entries == 1 { "is" } else { "are" }
        ),
        _ => "the replaced chat log could not be read, so it is not known how many chat entries acknowledged after this backup was made are gone (see the log)".into(),
    }
}

/// Prints a failure as text on stderr, or as JSON on stdout with `--json`.
pub fn print_failure(f: &Failure, json: bool) {
    // A failed check has printed its own report (as JSON with --json): one object only.
    if json && f.code == Code::CheckFailed {
        return;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "error": { "code": f.code, "message": f.message } })
        );
    } else {
        eprintln!("error: {}", f.message);
    }
}

/// `backup verify` and `backup list`: read-only, on files, no server needed.
pub fn run_backup_local(config: &Config, cmd: &BackupCmd, json: bool) -> Result<(), Failure> {
    use crate::store::backup;
    match cmd {
        BackupCmd::Verify { file, backup_key } => {
            let key_path = backup::backup_key_path(&config.data_dir, backup_key.as_deref());
            let key = backup::backup_key(&key_path, false)?;
            let work = std::env::temp_dir();
            let checked = backup::check(file, &key, &work)?;
            let m = &checked.manifest;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": true, "created_at": m.created_at, "kontor_version": m.kontor_version,
                        "tenants": m.tenants.iter().map(|t| &t.slug).collect::<Vec<_>>(), "members": m.members.len(),
                        "tables": m.tenants.iter().map(|t| (t.slug.clone(), t.tables.clone())).collect::<std::collections::BTreeMap<_, _>>()})
                );
            } else {
                println!("ok: {} verified", file.display());
                println!(
                    "written {} by kontor {}",
                    crate::clock::rfc3339(m.created_at),
                    m.kontor_version
                );
                for t in &m.tenants {
                    println!(
                        "  tenant {}: keys, checksum, cipher_integrity_check and integrity_check pass",
                        t.slug
                    );
                }
            }
            Ok(())
        }
        BackupCmd::List { dir, backup_key } => {
            let key_path = backup::backup_key_path(&config.data_dir, backup_key.as_deref());
            let key = backup::backup_key(&key_path, false)?;
            let dir = dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("backups"));
            let all = backup::list(&dir, &key)?;
            if json {
                println!("{}", serde_json::json!({ "archives": all }));
            } else if all.is_empty() {
                println!("no archives in {}", dir.display());
            } else {
                for a in all {
                    let when = a
                        .created_at
                        .map(crate::clock::rfc3339)
                        .unwrap_or_else(|| "(does not open with this key)".into());
                    println!(
                        "{when}  {:>12} bytes  {}  {}",
                        a.bytes,
                        a.file.display(),
                        a.tenants.join(" ")
                    );
                }
            }
            Ok(())
        }
        _ => Err(Failure::new(
            Code::InternalError,
            "not a local backup command",
        )),
    }
}
