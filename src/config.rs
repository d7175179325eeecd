//! Configuration: defaults < config file < `KONTOR_*` environment < command-line flags.
//!
//! Unknown keys in the file and unknown `KONTOR_*` variables are errors that name the key, so a
//! typo never silently falls back to a default.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

mod offsite;
mod webhooks;
pub use offsite::{HostKey, OffsiteConfig, S3Target, SftpTarget, Target};
pub use webhooks::{Net, WebhooksConfig};

/// Config file read when `--config`/`KONTOR_CONFIG` is not given and the file exists.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/kontor/kontor.toml";

/// The effective configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Directory holding the master key and every database.
    pub data_dir: PathBuf,
    /// Address the HTTP(S) server binds to.
    pub listen: SocketAddr,
    /// Public base URL (scheme, host, port) when behind a proxy or a DNS name; derived otherwise.
    pub public_url: Option<String>,
    /// The reverse proxy whose `X-Forwarded-For`/`-Proto` headers are believed; no other.
    pub trusted_proxy: Option<IpAddr>,
    /// Log level: error, warn, info, debug or trace.
    pub log: String,
    /// Built-in TLS; plain HTTP when absent.
    pub tls: Option<TlsConfig>,
    /// Agent session lifetimes.
    pub session: SessionConfig,
    /// Scheduled backups.
    pub backup: BackupConfig,
    /// Visitor monitoring.
    pub tracking: TrackingConfig,
    /// Limits on visitors' chat sockets and chat starts.
    pub chat: ChatLimits,
    /// How many tenants stay open, and for how long when idle.
    pub tenants: TenantsConfig,
    /// Limits on files sent in chats.
    pub uploads: UploadsConfig,
    /// Mail through the business's own SMTP server; `None`: email is off.
    pub smtp: Option<SmtpConfig>,
    /// Off-site copies of the scheduled backups (`[[offsite]]`), in the file's order.
    pub offsite: Vec<OffsiteConfig>,
    /// Prometheus metrics; off by default.
    pub metrics: MetricsConfig,
    /// The operator's exceptions to the webhook address guard.
    pub webhooks: WebhooksConfig,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
}

/// Certificate chain and private key, both PEM files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Idle and absolute session timeouts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Minutes without a request after which a session ends.
    pub idle_minutes: u64,
    /// Hours after sign-in after which a session ends regardless of activity.
    pub absolute_hours: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_minutes: 120,
            absolute_hours: 12,
        }
    }
}

/// Visitor monitoring: how long a silent visitor still counts as on the site, and the
/// optional offline GeoIP database (never an online look-up).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Seconds without a heartbeat after which a visitor has left.
    pub grace_secs: u64,
    /// A MaxMind or DB-IP country database (`.mmdb`); countries are shown only with one.
    pub geoip_db: Option<PathBuf>,
    /// Page-view reports accepted per client address and minute (a minute's worth at once);
    /// 0 turns the limit off.
    pub reports_per_minute: u32,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig {
            grace_secs: 60,
            geoip_db: None,
            reports_per_minute: 3000,
        }
    }
}

/// How much of the chat one address or one site may take, so that a flood from one place
/// neither fills the queue nor reaches the agents. Addresses count as IPv4 addresses and IPv6
/// /64 networks; 0 turns a limit off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatLimits {
    /// Widget sockets open at once from one address.
    pub sockets_per_address: u32,
    /// Widget sockets open at once for one site.
    pub sockets_per_site: u32,
    /// Chats one address may start a minute (a minute's worth at once).
    pub starts_per_address_per_minute: u32,
    /// Chats one site may start a minute (a minute's worth at once).
    pub starts_per_site_per_minute: u32,
    /// Waiting chats per tenant; a start beyond it is refused (`queue_full`).
    pub max_waiting: u32,
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            sockets_per_address: 20,
            sockets_per_site: 5000,
            starts_per_address_per_minute: 10,
            starts_per_site_per_minute: 300,
            max_waiting: 200,
        }
    }
}

/// Open tenants: a host with many tenants keeps only those in use open. A tenant's chat hub
/// stops once it has had no socket, chat or visit in progress for `idle_close_secs`, and its
/// database closes once nothing has used it for as long; the next visitor or agent reopens
/// both in about a millisecond. `max_open` bounds the databases kept open while unused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantsConfig {
    /// Seconds an idle tenant stays open (0: never closed).
    pub idle_close_secs: u64,
    /// Unused tenant databases kept open at most, least recently used closed first (0: no
    /// bound). Tenants in use stay open whatever the bound.
    pub max_open: usize,
}

impl Default for TenantsConfig {
    fn default() -> Self {
        TenantsConfig {
            idle_close_secs: 300,
            max_open: 100,
        }
    }
}

/// Limits on files sent in chats, so that nobody fills the disk: per chat and per client
/// address (files and bytes within a window) and per tenant (bytes stored). Sizes are in MB
/// of 1,048,576 bytes; 0 turns a limit off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadsConfig {
    /// The window of the per-chat and per-address limits, in minutes.
    pub window_minutes: u64,
    /// Files one chat may receive within the window (visitor and agent together).
    pub chat_files: u64,
    /// MB one chat may receive within the window.
    pub chat_mb: u64,
    /// Files a visitor's address (IPv4 address, IPv6 /64) may upload within the window.
    pub address_files: u64,
    /// MB a visitor's address may upload within the window.
    pub address_mb: u64,
    /// MB of files each tenant may store.
    pub tenant_quota_mb: u64,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        UploadsConfig {
            window_minutes: 60,
            chat_files: 20,
            chat_mb: 50,
            address_files: 30,
            address_mb: 100,
            tenant_quota_mb: 1024,
        }
    }
}

/// `[metrics]`: Prometheus metrics at `/metrics`, off unless `listen` or `token_file` is set.
/// A listener of its own serves nothing else; it must be a loopback address unless scrapers
/// have to show a token, so figures about the business never reach the network unasked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A listener of its own for `/metrics`, e.g. `127.0.0.1:9464`.
    pub listen: Option<SocketAddr>,
    /// A file holding the token scrapers send as `Authorization: Bearer …`. Without `listen`,
    /// `/metrics` is then served on the main listener, behind that token.
    pub token_file: Option<PathBuf>,
}

/// Shortest token accepted for `/metrics` (characters).
const MIN_METRICS_TOKEN: usize = 16;

impl MetricsConfig {
    /// Whether `/metrics` is served at all.
    pub fn enabled(&self) -> bool {
        self.listen.is_some() || self.token_file.is_some()
    }

    /// Refuses a listener that would publish the figures beyond this machine unprotected.
    fn check(&self) -> Result<()> {
        if let Some(addr) = self.listen
            && !addr.ip().is_loopback()
            && self.token_file.is_none()
        {
            return Err(Error::Config(format!(
                "metrics.listen ({addr}) is not a loopback address: bind it to 127.0.0.1 or                  [::1], or set metrics.token_file so scrapers must show a token"
            )));
        }
        Ok(())
    }

    /// Reads the token (at start; the server keeps it in memory), if one is configured.
    pub fn token(&self) -> Result<Option<String>> {
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let raw = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("metrics token file {}: {e}", path.display())))?;
        let token = raw.trim();
        if token.chars().count() < MIN_METRICS_TOKEN {
            return Err(Error::Config(format!(
                "metrics token file {} must hold a token of at least {MIN_METRICS_TOKEN} \
                 characters (e.g. from `openssl rand -hex 32`)",
                path.display()
            )));
        }
        Ok(Some(token.to_string()))
    }
}

/// Bytes in one MB of the configuration.
pub const MB: u64 = 1024 * 1024;

/// Scheduled backups taken by `kontor serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Whether `serve` takes scheduled backups.
    pub enabled: bool,
    /// Where archives go (e.g. a disk mounted from another data centre); default
    /// `DATA_DIR/backups`.
    pub dir: Option<PathBuf>,
    /// Daily backup time, `HH:MM` UTC.
    pub daily_at: String,
    /// Day of the weekly backup: mon … sun.
    pub weekly_on: String,
    /// Daily archives kept.
    pub keep_daily: usize,
    /// Weekly archives kept.
    pub keep_weekly: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            enabled: true,
            dir: None,
            daily_at: "03:30".into(),
            weekly_on: "sun".into(),
            keep_daily: 7,
            keep_weekly: 4,
        }
    }
}

impl BackupConfig {
    /// The daily time as (hour, minute).
    pub fn daily_time(&self) -> Result<(u8, u8)> {
        let bad = || {
            Error::Config(format!(
                "backup.daily_at: {:?} must look like 03:30",
                self.daily_at
            ))
        };
        let (h, m) = self.daily_at.split_once(':').ok_or_else(bad)?;
        let (h, m): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok((h, m))
    }

    /// The weekly day as a weekday.
    pub fn weekday(&self) -> Result<time::Weekday> {
        use time::Weekday::*;
        Ok(match self.weekly_on.to_ascii_lowercase().as_str() {
            "mon" | "monday" => Monday,
            "tue" | "tuesday" => Tuesday,
            "wed" | "wednesday" => Wednesday,
            "thu" | "thursday" => Thursday,
            "fri" | "friday" => Friday,
            "sat" | "saturday" => Saturday,
            "sun" | "sunday" => Sunday,
            other => {
                return Err(Error::Config(format!(
                    "backup.weekly_on: {other:?} must be mon, tue, wed, thu, fri, sat or sun"
                )));
            }
        })
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS at all: only for a relay on this machine (loopback).
    None,
}

/// `[smtp]`: the business's own mail server (its relay or its provider's submission port).
/// The password is never part of the configuration: it is read from `password_file`, or from
/// `$CREDENTIALS_DIRECTORY/smtp-password` (systemd `LoadCredential=`), when a mail is sent.
#[derive(Debug, Clone, Serialize)]
pub struct SmtpConfig {
    /// Host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Port.
    pub port: u16,
    /// STARTTLS, implicit TLS or (loopback only) none.
    pub security: SmtpSecurity,
    /// User for AUTH, if the server wants one.
    pub user: Option<String>,
    /// Where the password is read from (set exactly when `user` is).
    pub password_file: Option<PathBuf>,
    /// The From address.
    pub from: String,
    /// The From display name.
    pub from_name: String,
    /// A Reply-To for mails that have no better one.
    pub reply_to: Option<String>,
    /// Where operator alerts go (failed backup, failed integrity check, disk almost full).
    pub operator_address: Option<String>,
    /// Extra trusted CA certificate(s) (PEM), for a relay with a private CA.
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for the server at each step.
    pub timeout_secs: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSmtp {
    host: Option<String>,
    port: Option<u16>,
    security: Option<SmtpSecurity>,
    user: Option<String>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    from_name: Option<String>,
    reply_to: Option<String>,
    operator_address: Option<String>,
    ca_file: Option<PathBuf>,
    timeout_secs: Option<u64>,
}

/// A mailbox address as SMTP takes it: `local@domain`, nothing else (no name, no CR/LF).
fn smtp_address(key: &str, raw: &str) -> Result<String> {
    let a = raw.trim();
    match a.parse::<lettre::Address>() {
        Ok(_) if a.is_ascii() && !a.contains(['<', '>', ' ']) => Ok(a.to_string()),
        _ => Err(Error::Config(format!(
            "smtp.{key}: {raw:?} is not a mail address like support@example.com"
        ))),
    }
}

impl FileSmtp {
    fn check(self) -> Result<SmtpConfig> {
        let host = self.host.unwrap_or_default().trim().to_string();
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(Error::Config(
                "smtp.host must name the mail server, e.g. host = \"mail.example.com\"".into(),
            ));
        }
        let security = self.security.unwrap_or(SmtpSecurity::Starttls);
        let loopback =
            host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if security == SmtpSecurity::None && !loopback {
            return Err(Error::Config(format!(
                "smtp.security = \"none\" sends passwords and mail unencrypted: it is only \
                 allowed for a relay on this machine (localhost), not for {host:?}; use \
                 \"starttls\" (port 587) or \"tls\" (port 465)"
            )));
        }
        let port = self.port.unwrap_or(match security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        });
        if port == 0 {
            return Err(Error::Config("smtp.port must not be 0".into()));
        }
        let from = smtp_address(
            "from",
            self.from.as_deref().ok_or_else(|| {
                Error::Config("smtp.from is missing: the address kontor sends from".into())
            })?,
        )?;
        let from_name = self.from_name.unwrap_or_default().trim().to_string();
        if from_name.chars().any(char::is_control) || from_name.chars().count() > 100 {
            return Err(Error::Config(
                "smtp.from_name must be one line of at most 100 characters".into(),
            ));
        }
        let user = self
            .user
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        if user
            .as_deref()
            .is_some_and(|u| u.chars().any(char::is_control))
        {
            return Err(Error::Config("smtp.user must be one line".into()));
        }
        let password_file = match (&user, self.password_file) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(Error::Config(
                    "smtp.password_file is set but smtp.user is not".into(),
                ));
            }
            (Some(_), Some(p)) => Some(p),
            (Some(_), None) => match std::env::var_os("CREDENTIALS_DIRECTORY") {
                Some(dir) if Path::new(&dir).join("smtp-password").exists() => {
                    Some(Path::new(&dir).join("smtp-password"))
                }
                _ => {
                    return Err(Error::Config(
                        "smtp.user is set but no password: set smtp.password_file to a file \
                         only kontor can read, or pass the credential smtp-password (systemd \
                         LoadCredential=); the password never goes into kontor.toml"
                            .into(),
                    ));
                }
            },
        };
        let timeout_secs = self.timeout_secs.unwrap_or(30);
        if !(1..=600).contains(&timeout_secs) {
            return Err(Error::Config(
                "smtp.timeout_secs must be between 1 and 600".into(),
            ));
        }
        Ok(SmtpConfig {
            host,
            port,
            security,
            user,
            password_file,
            from,
            from_name,
            reply_to: self
                .reply_to
                .map(|a| smtp_address("reply_to", &a))
                .transpose()?,
            operator_address: self
                .operator_address
                .map(|a| smtp_address("operator_address", &a))
                .transpose()?,
            ca_file: self.ca_file,
            timeout_secs,
        })
    }
}

impl SmtpConfig {
    /// Reads the password (only when a connection is made; never kept in the config).
    pub fn password(&self) -> Result<Option<String>> {
        let Some(path) = &self.password_file else {
            return Ok(None);
        };
        let raw = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("smtp password file {}: {e}", path.display())))?;
        let pw = raw.trim_end_matches(['\r', '\n']);
        if pw.is_empty() {
            return Err(Error::Config(format!(
                "smtp password file {} is empty",
                path.display()
            )));
        }
        Ok(Some(pw.to_string()))
    }
}

/// What the command line sets; these win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config`
    pub config: Option<PathBuf>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--listen`
    pub listen: Option<String>,
}

/// The config file's shape; every field optional so layers can merge.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    public_url: Option<String>,
    trusted_proxy: Option<String>,
    log: Option<String>,
    tls: Option<PartialTls>,
    session: Option<PartialSession>,
    backup: Option<BackupConfig>,
    tracking: Option<TrackingConfig>,
    chat: Option<ChatLimits>,
    tenants: Option<TenantsConfig>,
    uploads: Option<UploadsConfig>,
    smtp: Option<FileSmtp>,
    offsite: Option<Vec<offsite::FileOffsite>>,
    metrics: Option<MetricsConfig>,
    webhooks: Option<WebhooksConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialTls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialSession {
    idle_minutes: Option<u64>,
    absolute_hours: Option<u64>,
}

/// Every `KONTOR_*` variable we read; any other is rejected.
const ENV_KEYS: &[&str] = &[
    "KONTOR_CONFIG",
    "KONTOR_DATA_DIR",
    "KONTOR_LISTEN",
    "KONTOR_PUBLIC_URL",
    "KONTOR_TRUSTED_PROXY",
    "KONTOR_LOG",
    "KONTOR_TLS_CERT",
    "KONTOR_TLS_KEY",
    "KONTOR_SESSION_IDLE_MINUTES",
    "KONTOR_SESSION_ABSOLUTE_HOURS",
    "KONTOR_BACKUP_DIR",
    "KONTOR_METRICS_LISTEN",
];

impl Config {
    /// Loads from the process environment and the given flags.
    pub fn load(flags: &Overrides) -> Result<Config> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("KONTOR_"))
            .collect();
        Config::load_from(flags, &env)
    }

    /// Loads with an explicit environment (for tests).
    pub fn load_from(flags: &Overrides, env: &BTreeMap<String, String>) -> Result<Config> {
        for key in env.keys() {
            if key.starts_with("KONTOR_") && !ENV_KEYS.contains(&key.as_str()) {
                return Err(Error::Config(format!(
                    "unknown environment variable {key}; known: {}",
                    ENV_KEYS.join(", ")
                )));
            }
        }
        let config_file = flags
            .config
            .clone()
            .or_else(|| env.get("KONTOR_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let p = Path::new(DEFAULT_CONFIG_FILE);
                p.exists().then(|| p.to_path_buf())
            });
        let file = match &config_file {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let tls_file = file.tls.unwrap_or_default();
        let session_file = file.session.unwrap_or_default();
        let env_get = |k: &str| env.get(k).cloned();

        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env_get("KONTOR_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./kontor-data"));
        let listen_raw = flags
            .listen
            .clone()
            .or_else(|| env_get("KONTOR_LISTEN"))
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_raw.parse().map_err(|_| {
            Error::Config(format!(
                "listen: {listen_raw:?} is not an address like 127.0.0.1:8080 or [::]:443"
            ))
        })?;
        let public_url = env_get("KONTOR_PUBLIC_URL")
            .or(file.public_url)
            .map(|u| parse_public_url(&u))
            .transpose()?;
        // Without public_url our origin comes from the request's Host header, which a client
        // chooses: acceptable behind a local reverse proxy or for a local try-out, not on a
        // public listener.
        if public_url.is_none() && !listen.ip().is_loopback() {
            return Err(Error::Config(format!(
                "public_url must be set when listen ({listen}) is not a loopback address, \
                 e.g. public_url = \"https://chat.example.com\" (KONTOR_PUBLIC_URL)"
            )));
        }
        let trusted_proxy = env_get("KONTOR_TRUSTED_PROXY")
            .or(file.trusted_proxy)
            .map(|p| {
                p.parse::<IpAddr>().map_err(|_| {
                    Error::Config(format!("trusted_proxy: {p:?} is not an IP address"))
                })
            })
            .transpose()?;
        let log = env_get("KONTOR_LOG")
            .or(file.log)
            .unwrap_or_else(|| "info".into())
            .to_ascii_lowercase();
        if !["error", "warn", "info", "debug", "trace"].contains(&log.as_str()) {
            return Err(Error::Config(format!(
                "log: {log:?} must be one of error, warn, info, debug, trace"
            )));
        }
        let cert = env_get("KONTOR_TLS_CERT")
            .map(PathBuf::from)
            .or(tls_file.cert);
        let key = env_get("KONTOR_TLS_KEY")
            .map(PathBuf::from)
            .or(tls_file.key);
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsConfig { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(Error::Config("tls.cert is set but tls.key is not".into()));
            }
            (None, Some(_)) => {
                return Err(Error::Config("tls.key is set but tls.cert is not".into()));
            }
        };
        let defaults = SessionConfig::default();
        let session = SessionConfig {
            idle_minutes: env_number(env, "KONTOR_SESSION_IDLE_MINUTES")?
                .or(session_file.idle_minutes)
                .unwrap_or(defaults.idle_minutes),
            absolute_hours: env_number(env, "KONTOR_SESSION_ABSOLUTE_HOURS")?
                .or(session_file.absolute_hours)
                .unwrap_or(defaults.absolute_hours),
        };
        let mut backup = file.backup.unwrap_or_default();
        if let Some(dir) = env_get("KONTOR_BACKUP_DIR") {
            backup.dir = Some(PathBuf::from(dir));
        }
        backup.daily_time()?;
        backup.weekday()?;
        let tracking = file.tracking.unwrap_or_default();
        if !(1..=3600).contains(&tracking.grace_secs) {
            return Err(Error::Config(
                "tracking.grace_secs must be between 1 and 3600".into(),
            ));
        }
        let uploads = file.uploads.unwrap_or_default();
        if !(1..=1440).contains(&uploads.window_minutes) {
            return Err(Error::Config(
                "uploads.window_minutes must be between 1 and 1440".into(),
            ));
        }
        let mut metrics = file.metrics.unwrap_or_default();
        if let Some(raw) = env_get("KONTOR_METRICS_LISTEN") {
            metrics.listen = Some(raw.parse().map_err(|_| {
                Error::Config(format!(
                    "KONTOR_METRICS_LISTEN: {raw:?} is not an address like 127.0.0.1:9464"
                ))
            })?);
        }
        metrics.check()?;
        if session.idle_minutes == 0 || session.absolute_hours == 0 {
            return Err(Error::Config(
                "session.idle_minutes and session.absolute_hours must be at least 1".into(),
            ));
        }
        Ok(Config {
            data_dir,
            listen,
            public_url,
            trusted_proxy,
            log,
            tls,
            session,
            backup,
            tracking,
            chat: file.chat.unwrap_or_default(),
            tenants: file.tenants.unwrap_or_default(),
            uploads,
            smtp: file.smtp.map(FileSmtp::check).transpose()?,
            offsite: offsite::check_all(file.offsite.unwrap_or_default())?,
            metrics,
            webhooks: file.webhooks.unwrap_or_default().check()?,
            config_file,
        })
    }

    /// The `[[offsite]]` remote called `name`.
    pub fn remote(&self, name: &str) -> Result<&OffsiteConfig> {
        self.offsite.iter().find(|o| o.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.offsite.iter().map(|o| o.name.as_str()).collect();
            Error::Invalid(if known.is_empty() {
                format!("no off-site remote {name:?}: kontor.toml has no [[offsite]] entry")
            } else {
                format!(
                    "no off-site remote {name:?}; kontor.toml names: {}",
                    known.join(", ")
                )
            })
        })
    }

    /// Where scheduled and default archives go.
    pub fn backup_dir(&self) -> PathBuf {
        self.backup
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    /// The base URL agents and widgets use: `public_url`, else derived from `listen`.
    pub fn base_url(&self) -> String {
        if let Some(u) = &self.public_url {
            return u.clone();
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let host = match self.listen.ip() {
            ip if ip.is_unspecified() => "localhost".to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("{scheme}://{host}:{}", self.listen.port())
    }

    /// The effective configuration as TOML, for `check-config`. The master key is shown as its
    /// location only; no file contents are read or printed.
    pub fn to_display_toml(&self) -> String {
        let mut out = String::new();
        if let Some(f) = &self.config_file {
            out.push_str(&format!("# read from {}\n", f.display()));
        } else {
            out.push_str("# no config file read; defaults, environment and flags only\n");
        }
        match toml::to_string(&self.display_value()) {
            Ok(t) => out.push_str(&t),
            Err(e) => out.push_str(&format!("# cannot show the configuration as TOML: {e}\n")),
        }
        out
    }

    /// The effective configuration as JSON, secrets masked.
    pub fn display_value(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("config_file");
            obj.insert(
                "master_key".into(),
                serde_json::Value::String(format!(
                    "*** ({} or $CREDENTIALS_DIRECTORY/master.key)",
                    self.data_dir.join("master.key").display()
                )),
            );
        }
        // TOML cannot hold nulls; absent means "not set".
        drop_nulls(&mut v);
        v
    }
}

fn drop_nulls(v: &mut serde_json::Value) {
    if let Some(obj) = v.as_object_mut() {
        obj.retain(|_, x| !x.is_null());
        obj.values_mut().for_each(drop_nulls);
    }
    // Tables in arrays too ([[offsite]]).
    if let Some(items) = v.as_array_mut() {
        items.iter_mut().for_each(drop_nulls);
    }
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        // toml's message names the unknown or mistyped key and where it is.
        Error::Config(format!("{}: {}", path.display(), e.message().trim()))
    })
}

fn env_number(env: &BTreeMap<String, String>, key: &str) -> Result<Option<u64>> {
    env.get(key)
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| Error::Config(format!("{key}: {v:?} is not a whole number")))
        })
        .transpose()
}

fn parse_public_url(raw: &str) -> Result<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let ok = normalize_origin(trimmed).is_ok();
    if !ok {
        return Err(Error::Config(format!(
            "public_url: {raw:?} must look like https://chat.example.com (scheme, host, optional port, no path)"
        )));
    }
    Ok(normalize_origin(trimmed).unwrap_or_default())
}

/// Normalises an origin to `scheme://host[:port]`: http or https only, lower-case host, the
/// default port dropped, no path, query, fragment or credentials. IDNs must be given in their
/// `xn--` form so that what we compare is exactly what browsers send.
pub fn normalize_origin(raw: &str) -> Result<String> {
    let bad = |why: &str| Error::Invalid(format!("origin {raw:?}: {why}"));
    let lower = raw.trim().to_ascii_lowercase();
    let (scheme, rest) = lower
        .split_once("://")
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return Err(bad("only http and https are allowed")),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(bad("has no host"));
    }
    if rest.contains(['/', '?', '#', '@', '\\']) {
        return Err(bad(
            "must be scheme and host only, without path, query or user",
        ));
    }
    if !rest.is_ascii() {
        return Err(bad(
            "use the xn-- (punycode) form of international domain names",
        ));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        addr.parse::<std::net::Ipv6Addr>()
            .map_err(|_| bad("invalid IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
        };
        (format!("[{addr}]"), port)
    } else {
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(bad("invalid host name"));
        }
        (host.to_string(), port)
    };
    let port = match port {
        None => None,
        Some(p) => {
            let n: u16 = p.parse().map_err(|_| bad("invalid port"))?;
            if n == 0 {
                return Err(bad("invalid port"));
            }
            (p != default_port).then(|| n.to_string())
        }
    };
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn defaults_run_anywhere() {
        let c = Config::load_from(
            &Overrides {
                config: Some("/dev/null".into()),
                ..Default::default()
            },
            &env(&[]),
        )
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./kontor-data"));
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let f = write("data_dir = \"/from/file\"\nlisten = \"127.0.0.1:1111\"\nlog = \"warn\"\n");
        let file_only = Overrides {
            config: Some(f.path().into()),
            ..Default::default()
        };
        let c = Config::load_from(&file_only, &env(&[])).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.listen.port(), 1111);
        assert_eq!(c.log, "warn");

        let e = env(&[
            ("KONTOR_DATA_DIR", "/from/env"),
            ("KONTOR_LISTEN", "127.0.0.1:2222"),
        ]);
        let c = Config::load_from(&file_only, &e).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/env"));
        assert_eq!(c.listen.port(), 2222);
        assert_eq!(c.log, "warn");

        let flags = Overrides {
            config: Some(f.path().into()),
            data_dir: Some("/from/flag".into()),
            listen: Some("127.0.0.1:3333".into()),
        };
        let c = Config::load_from(&flags, &e).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(c.listen.port(), 3333);
    }

    #[test]
    fn config_file_from_env_is_used() {
        let f = write("listen = \"127.0.0.1:4444\"\n");
        let e = env(&[("KONTOR_CONFIG", f.path().to_str().unwrap())]);
        let c = Config::load_from(&Overrides::default(), &e).unwrap();
        assert_eq!(c.listen.port(), 4444);
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let refusal = |text: &str| {
            let f = write(text);
            let overrides = Overrides {
                config: Some(f.path().into()),
                ..Default::default()
            };
            Config::load_from(&overrides, &env(&[]))
                .unwrap_err()
                .to_string()
        };
        let err = refusal("listne = \"127.0.0.1:1\"\n");
        assert!(err.contains("listne"), "{err}");
        let err = refusal("[tls]\ncert = \"a\"\nkey = \"b\"\nciphers = \"x\"\n");
        assert!(err.contains("ciphers"), "{err}");

        let err = Config::load_from(&Overrides::default(), &env(&[("KONTOR_DATADIR", "/x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("KONTOR_DATADIR"), "{err}");
    }

    #[test]
    fn metrics_are_off_by_default_and_stay_on_loopback_without_a_token() {
        let c = Config::load_from(&Overrides::default(), &env(&[])).unwrap();
        assert!(!c.metrics.enabled());
        let f = write("[metrics]\nlisten = \"127.0.0.1:9464\"\n");
        let e = env(&[("KONTOR_CONFIG", f.path().to_str().unwrap())]);
        let c = Config::load_from(&Overrides::default(), &e).unwrap();
        assert_eq!(c.metrics.listen.unwrap().port(), 9464);
        let f = write("[metrics]\nlisten = \"0.0.0.0:9464\"\n");
        let e = env(&[("KONTOR_CONFIG", f.path().to_str().unwrap())]);
        let err = Config::load_from(&Overrides::default(), &e)
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics.listen"), "{err}");
        let token = write("0123456789abcdef0123\n");
        let f = write(&format!(
            "[metrics]\nlisten = \"0.0.0.0:9464\"\ntoken_file = {:?}\n",
            token.path().to_str().unwrap()
        ));
        let e = env(&[("KONTOR_CONFIG", f.path().to_str().unwrap())]);
        let c = Config::load_from(&Overrides::default(), &e).unwrap();
        assert_eq!(c.metrics.token().unwrap().unwrap(), "0123456789abcdef0123");
        let short = write("short\n");
        let m = MetricsConfig {
            listen: None,
            token_file: Some(short.path().to_path_buf()),
        };
        assert!(m.token().is_err());
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = Config::load_from(
            &Overrides {
                listen: Some("localhost".into()),
                config: Some("/dev/null".into()),
                ..Default::default()
            },
            &env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("listen"), "{err}");
        let err = Config::load_from(
            &Overrides {
                config: Some("/dev/null".into()),
                ..Default::default()
            },
            &env(&[("KONTOR_TLS_CERT", "/c.pem")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("tls.key"), "{err}");
    }

    #[test]
    fn upload_limits_have_defaults_and_are_checked() {
        let load = |text: &str| {
            let f = write(text);
            let overrides = Overrides {
                config: Some(f.path().into()),
                ..Default::default()
            };
            Config::load_from(&overrides, &env(&[]))
        };
        let c = load("").unwrap();
        assert_eq!(
            (
                c.uploads.chat_files,
                c.uploads.address_mb,
                c.uploads.tenant_quota_mb
            ),
            (20, 100, 1024)
        );
        let c = load("[uploads]\ntenant_quota_mb = 0\nchat_files = 3\n").unwrap();
        assert_eq!((c.uploads.tenant_quota_mb, c.uploads.chat_files), (0, 3));
        assert_eq!(c.uploads.window_minutes, 60, "the rest keeps its default");
        let err = load("[uploads]\nquota = 1\n").unwrap_err().to_string();
        assert!(err.contains("quota"), "{err}");
        let err = load("[uploads]\nwindow_minutes = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("uploads.window_minutes"), "{err}");
    }

    #[test]
    fn origins_normalise() {
        let cases = [
            ("https://Shop.Example", "https://shop.example"),
            ("https://shop.example/", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("https://xn--mller-kva.de", "https://xn--mller-kva.de"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_origin(raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn bad_origins_are_refused() {
        for bad in [
            "shop.example",
            "javascript:alert(1)",
            "ftp://shop.example",
            "https://shop.example/path",
            "https://user@shop.example",
            "https://shop.example?x",
            "https://",
            "https://müller.de",
            "https://shop.example:99999",
            "https://shop..example",
            "https://evil.example\\@shop.example",
            "https://'or 1=1--",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }
}
