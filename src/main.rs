//! The `kontor` binary: parse the command line, start logging, dispatch.

use clap::Parser;
use kontor::admin::Failure;
use kontor::cli::{self, Cli, Command};
use kontor::config::Config;
use kontor::error::Code;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Everything kontor writes (databases and their journals, keys, backups, exports) is its
    // owner's alone, whatever umask it was started with (the systemd unit sets 0077 too).
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let config = match Config::load(&cli.overrides()) {
        Ok(c) => c,
        Err(e) => {
            let f = Failure::from(e);
            cli::print_failure(&f, cli.json);
            return ExitCode::from(f.exit_status());
        }
    };
    let clock = match cli.clock() {
        Ok(c) => c,
        Err(f) => {
            cli::print_failure(&f, cli.json);
            return ExitCode::from(f.exit_status());
        }
    };
    let server = matches!(cli.command, Command::Serve | Command::Demo);
    init_logging(if server { &config.log } else { "warn" }, server);

    let result: Result<(), Failure> = match &cli.command {
        Command::Serve => kontor::serve::serve(config, clock).map_err(Into::into),
        Command::Demo => {
            kontor::serve::demo(config, cli.data_dir.is_some(), clock).map_err(Into::into)
        }
        Command::Init => kontor::store::Store::init(&config.data_dir)
            .map(|r| {
                if cli.json {
                    println!("{}", serde_json::to_string(&r).unwrap_or_default());
                } else if r.created_key {
                    println!("initialised {}", r.data_dir.display());
                    println!(
                        "master key: {} (keep a copy offline; without it the data cannot be read)",
                        r.master_key.display()
                    );
                } else {
                    println!(
                        "{} is initialised; master key {}",
                        r.data_dir.display(),
                        r.master_key.display()
                    );
                }
            })
            .map_err(Into::into),
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map(|_| {
                    use std::io::Write;
                    let _ = std::io::stdout().write_all(&out);
                })
                .map_err(|e| Failure::new(Code::IoError, format!("rendering the man page: {e}")))
        }
        Command::Doctor => {
            // The outbox and off-site checks judge ages by this process's clock (a test moves it).
            let checks = kontor::doctor::run(&config, clock.now());
            let problems = checks.iter().filter(|c| !c.ok).count();
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "ok": problems == 0, "checks": checks })
                );
            } else {
                for c in &checks {
                    kontor::admin::say(&format!(
                        "{}  {}: {}",
                        if c.ok { "ok  " } else { "FAIL" },
                        c.what,
                        c.detail
                    ));
                }
                println!();
                if problems == 0 {
                    println!("everything looks fine");
                } else {
                    println!("{problems} problem(s) need attention");
                }
            }
            if problems == 0 {
                Ok(())
            } else {
                return ExitCode::from(Code::CheckFailed.spec().exit);
            }
        }
        // Files the configuration names must be usable, not only well-formed.
        Command::CheckConfig => kontor::http::track::Tracking::new(&config.tracking)
            .and_then(|_| match &config.smtp {
                Some(smtp) => kontor::domain::email::smtp::Server::new(smtp)
                    .and_then(|s| s.check())
                    .map_err(|e| {
                        kontor::error::Error::Config(format!(
                            "smtp: {}:{} does not work: {e}",
                            smtp.host, smtp.port
                        ))
                    }),
                None => Ok(()),
            })
            // Each off-site remote's credential must be there (read, never printed).
            .and_then(|_| {
                config
                    .offsite
                    .iter()
                    .try_for_each(|r| r.credential().map(|_| ()))
            })
            .map(|_| {
                if cli.json {
                    println!("{}", config.display_value());
                } else {
                    print!("{}", config.to_display_toml());
                }
            })
            .map_err(Into::into),
        Command::Backup(
            b @ (kontor::cli::BackupCmd::Verify { .. }
            | kontor::cli::BackupCmd::List { remote: None, .. }),
        ) => cli::run_backup_local(&config, b, cli.json),
        Command::Gdpr(g) => cli::run_gdpr(&config, &clock, g, cli.json),
        Command::Smtp(s) => s.run(&config, &clock, cli.json),
        other => cli::admin_request(&config, other).and_then(|req| match req {
            Some(req) => cli::run_admin(&config, &clock, req).and_then(|res| {
                cli::print_response(&res, cli.json);
                match res {
                    kontor::admin::Response::Report { ok: false, .. } => Err(Failure::new(
                        Code::CheckFailed,
                        "the check failed (see above)",
                    )),
                    _ => Ok(()),
                }
            }),
            None => Err(Failure::new(
                Code::InternalError,
                "this command is not an admin request",
            )),
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            cli::print_failure(&f, cli.json);
            ExitCode::from(f.exit_status())
        }
    }
}

/// Logs go to stdout for the server (journald-friendly, no colour unless a terminal) and to
/// stderr at `warn` for one-shot commands, so their stdout stays clean for `--json`.
fn init_logging(level: &str, server: bool) {
    use std::io::IsTerminal;
    let level: tracing::Level = level.parse().unwrap_or(tracing::Level::INFO);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false);
    if server {
        builder.with_ansi(std::io::stdout().is_terminal()).init();
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
    }
}
