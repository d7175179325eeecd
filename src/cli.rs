//! The command-line tree and how admin commands print their results.

pub use crate::admin::commands::{
    agent::AgentCmd, audit::AuditCmd, backup::BackupCmd, department::DepartmentCmd, gdpr::GdprCmd,
    retention::RetentionCmd, site::SiteCmd, stats::StatsArgs, tenant::TenantCmd,
};
pub use crate::admin::{print_response, run_admin};

use crate::admin::{Failure, Request};
use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::error::Code;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
    /// A tenant's business hours: outside them the widget offers the offline form (works with
    /// or without a running server)
    #[command(subcommand)]
    Hours(crate::admin::commands::hours::HoursCmd),
    /// Encrypted backups: create (online), verify, restore, list
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Data-subject requests (GDPR Art. 15-17, 20): find, export, rectify, erase a person's data
    #[command(subcommand)]
    Gdpr(GdprCmd),
    /// How long each kind of personal data is kept; purge what has expired
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Support access the business granted: the read-only support login's set-up link
    #[command(subcommand)]
    Support(crate::admin::commands::support::SupportCmd),
    /// API tokens for integrations: create (printed once), list, revoke
    #[command(subcommand)]
    Token(crate::admin::commands::token::TokenCmd),
    /// The record of technical and organisational measures as configured here
    #[command(subcommand)]
    Privacy(crate::admin::commands::privacy::PrivacyCmd),
    /// The tenant's tamper-evident audit trail: verify the hash chain, list entries
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Email through the [smtp] server: send a test mail
    #[command(subcommand)]
    Smtp(crate::admin::commands::smtp::SmtpCmd),
    /// Headline statistics of a tenant: visitors, visits, page views, chats (default: the
    /// last 30 days, UTC)
    Stats(StatsArgs),
    /// Several hosts behind HAProxy: the map lines that route this host's tenants here
    /// (docs/scale-out.md)
    #[command(subcommand)]
    Placement(crate::admin::commands::placement::PlacementCmd),
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

/// The admin request a command sends, `None` for the commands that are not admin requests
/// (and for `gdpr` and local `backup`, which run through their own functions); reads a
/// password or passphrase from stdin when asked.
pub fn admin_request(config: &Config, cmd: &Command) -> Result<Option<Request>, Failure> {
    Ok(Some(match cmd {
        Command::Tenant(c) => c.request()?,
        Command::Agent(c) => c.request()?,
        Command::Site(c) => c.request()?,
        Command::Department(c) => c.request(),
        Command::Hours(c) => c.request()?,
        Command::Backup(c) => return c.request(config),
        Command::Retention(c) => c.request()?,
        Command::Support(c) => c.request(),
        Command::Token(c) => c.request(),
        Command::Privacy(c) => c.request(config),
        Command::Audit(c) => c.request(),
        Command::Stats(a) => a.request(),
        Command::Placement(c) => c.request()?,
        _ => return Ok(None),
    }))
}

/// Runs a `kontor gdpr …` command.
pub fn run_gdpr(config: &Config, clock: &Clock, cmd: &GdprCmd, json: bool) -> Result<(), Failure> {
    cmd.run(config, clock, json)
}

/// `backup verify` and `backup list`: read-only, on files, no server needed.
pub fn run_backup_local(config: &Config, cmd: &BackupCmd, json: bool) -> Result<(), Failure> {
    cmd.run_local(config, json)
}

/// Prints a failure as text on stderr (control characters escaped, as in all text output), or
/// as JSON on stdout with `--json`.
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
        eprintln!("error: {}", crate::model::text::escape_unsafe(&f.message));
    }
}
