//! `[[offsite]]`: second places, under the operator's control, that every scheduled backup
//! archive is copied to (an S3-compatible object store, or a directory on another server over
//! SFTP). Credentials are never part of the configuration: the S3 secret key and the SSH
//! private key are read from a file, or from `$CREDENTIALS_DIRECTORY` (systemd
//! `LoadCredential=`), each time a connection is made.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// One off-site remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsiteConfig {
    /// Its name in commands, logs and `/healthz` (`--remote NAME`, `--from NAME`).
    pub name: String,
    /// Where it is.
    #[serde(flatten)]
    pub target: Target,
    /// Seconds a connection may stay silent before the copy counts as failed.
    pub timeout_secs: u64,
}

/// The kinds of remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// An S3-compatible object store.
    S3(S3Target),
    /// A directory on another server, over SFTP.
    Sftp(SftpTarget),
}

/// An S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Target {
    /// `https://…` (`http://` only for a store on this machine).
    pub endpoint: String,
    /// The region the store expects in signatures.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// Key prefix of the archives, empty or ending in `/`.
    pub prefix: String,
    /// Access key id (an identifier, not the secret).
    pub access_key: String,
    /// Where the secret key is read from; `None`: `$CREDENTIALS_DIRECTORY/offsite-NAME-secret-key`.
    pub secret_key_file: Option<PathBuf>,
    /// Bucket in the path (MinIO, Garage, Ceph) rather than in the host name.
    pub path_style: bool,
}

/// A directory on another server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SftpTarget {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Directory the archives go to (absolute, or relative to the user's home).
    pub path: String,
    /// How the server's host key is checked (shown as `host_key` or `known_hosts`, as written).
    #[serde(flatten)]
    pub host_key: HostKey,
    /// Where the private key is read from; `None`: `$CREDENTIALS_DIRECTORY/offsite-NAME-ssh-key`.
    pub private_key_file: Option<PathBuf>,
}

/// The server's host key, known in advance: never trusted on first use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostKey {
    /// One public key, as in a `.pub` file or `ssh-keyscan`'s output: `TYPE BASE64`.
    #[serde(rename = "host_key")]
    Pinned(String),
    /// An OpenSSH `known_hosts` file.
    #[serde(rename = "known_hosts")]
    KnownHosts(PathBuf),
}

/// `[[offsite]]` as written in the file; checked by [`FileOffsite::check`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileOffsite {
    name: Option<String>,
    kind: Option<String>,
    timeout_secs: Option<u64>,
    endpoint: Option<String>,
    region: Option<String>,
    bucket: Option<String>,
    prefix: Option<String>,
    access_key: Option<String>,
    secret_key_file: Option<PathBuf>,
    path_style: Option<bool>,
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    path: Option<String>,
    host_key: Option<String>,
    known_hosts: Option<PathBuf>,
    private_key_file: Option<PathBuf>,
}

/// One line of text without spaces or control characters.
fn word(v: &str) -> bool {
    !v.is_empty() && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl FileOffsite {
    /// Checks one entry; `taken` holds the names of the entries before it.
    pub(super) fn check(self, taken: &[String]) -> Result<OffsiteConfig> {
        let name = self.name.clone().unwrap_or_default();
        let valid = (1..=40).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-');
        if !valid {
            return Err(Error::Config(format!(
                "offsite.name: {name:?} must be 1 to 40 of a-z, 0-9 and -, e.g. name = \"dr-site\""
            )));
        }
        if taken.contains(&name) {
            return Err(Error::Config(format!(
                "offsite: two entries are named {name:?}"
            )));
        }
        let bad = |what: &str| Error::Config(format!("offsite {name:?}: {what}"));
        let timeout_secs = self.timeout_secs.unwrap_or(120);
        if !(1..=3600).contains(&timeout_secs) {
            return Err(bad("timeout_secs must be between 1 and 3600"));
        }
        let target = match self.kind.as_deref() {
            Some("s3") => Target::S3(self.s3(&name)?),
            Some("sftp") => Target::Sftp(self.sftp(&name)?),
            other => {
                return Err(bad(&format!(
                    "kind = {other:?}: give kind = \"s3\" or kind = \"sftp\""
                )));
            }
        };
        Ok(OffsiteConfig {
            name,
            target,
            timeout_secs,
        })
    }

    /// The keys of the other kind must not be set: a typo would otherwise go unnoticed.
    fn refuse_keys(name: &str, kind: &str, set: &[(&str, bool)]) -> Result<()> {
        match set.iter().find(|(_, s)| *s) {
            Some((key, _)) => Err(Error::Config(format!(
                "offsite {name:?}: {key} does not apply to kind = \"{kind}\""
            ))),
            None => Ok(()),
        }
    }

    fn s3(&self, name: &str) -> Result<S3Target> {
        let bad = |what: &str| Error::Config(format!("offsite {name:?}: {what}"));
        Self::refuse_keys(
            name,
            "s3",
            &[
                ("host", self.host.is_some()),
                ("port", self.port.is_some()),
                ("user", self.user.is_some()),
                ("path", self.path.is_some()),
                ("host_key", self.host_key.is_some()),
                ("known_hosts", self.known_hosts.is_some()),
                ("private_key_file", self.private_key_file.is_some()),
            ],
        )?;
        let endpoint = self
            .endpoint
            .as_deref()
            .unwrap_or_default()
            .trim()
            .trim_end_matches('/')
            .to_string();
        let host = endpoint
            .strip_prefix("https://")
            .or_else(|| endpoint.strip_prefix("http://"))
            .filter(|h| word(h) && !h.contains(['/', '?', '#', '@']))
            .ok_or_else(|| {
                bad("endpoint must be the store's base URL, e.g. endpoint = \"https://s3.example.com\"")
            })?;
        let host_only = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if endpoint.starts_with("http://") && !is_loopback(host_only) {
            return Err(bad(&format!(
                "endpoint {endpoint:?}: plain http is only allowed for a store on this machine; use https"
            )));
        }
        let region = self.region.clone().unwrap_or_else(|| "us-east-1".into());
        if !word(&region) {
            return Err(bad(
                "region must be one word, e.g. region = \"eu-central-1\"",
            ));
        }
        let bucket = self.bucket.clone().unwrap_or_default();
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(bad(
                "bucket must be a bucket name (3 to 63 of a-z, 0-9, '-' and '.')",
            ));
        }
        let prefix = normalize_dir(self.prefix.as_deref().unwrap_or(""))
            .ok_or_else(|| bad("prefix must be a relative key prefix like \"kontor/\""))?;
        let access_key = self.access_key.clone().unwrap_or_default();
        if !word(&access_key) {
            return Err(bad(
                "access_key is missing (the access key id; the secret key goes in secret_key_file \
                 or the credential offsite-NAME-secret-key)",
            ));
        }
        Ok(S3Target {
            endpoint,
            region,
            bucket,
            prefix,
            access_key,
            secret_key_file: self.secret_key_file.clone(),
            path_style: self.path_style.unwrap_or(true),
        })
    }

    fn sftp(&self, name: &str) -> Result<SftpTarget> {
        let bad = |what: &str| Error::Config(format!("offsite {name:?}: {what}"));
        Self::refuse_keys(
            name,
            "sftp",
            &[
                ("endpoint", self.endpoint.is_some()),
                ("region", self.region.is_some()),
                ("bucket", self.bucket.is_some()),
                ("prefix", self.prefix.is_some()),
                ("access_key", self.access_key.is_some()),
                ("secret_key_file", self.secret_key_file.is_some()),
                ("path_style", self.path_style.is_some()),
            ],
        )?;
        let host = self.host.clone().unwrap_or_default();
        if !word(&host) || host.contains(['/', '@']) {
            return Err(bad(
                "host must name the server, e.g. host = \"backup.example.net\"",
            ));
        }
        let port = self.port.unwrap_or(22);
        if port == 0 {
            return Err(bad("port must not be 0"));
        }
        let user = self.user.clone().unwrap_or_default();
        if !word(&user) {
            return Err(bad("user is missing: the account on the other server"));
        }
        let path = self.path.clone().unwrap_or_default();
        if path.trim().is_empty() || path.chars().any(char::is_control) {
            return Err(bad(
                "path must be the directory for the archives, e.g. path = \"/srv/kontor-backups\"",
            ));
        }
        let host_key = match (&self.host_key, &self.known_hosts) {
            (Some(k), None) => {
                let k = k.trim();
                let mut parts = k.split_whitespace();
                let (Some(kind), Some(b64)) = (parts.next(), parts.next()) else {
                    return Err(bad(
                        "host_key must be the server's public key as \"TYPE BASE64\", e.g. the \
                         content of /etc/ssh/ssh_host_ed25519_key.pub",
                    ));
                };
                if !kind.starts_with("ssh-") && !kind.starts_with("ecdsa-") {
                    return Err(bad(&format!("host_key: unknown key type {kind:?}")));
                }
                Some(HostKey::Pinned(format!("{kind} {b64}")))
            }
            (None, Some(f)) => Some(HostKey::KnownHosts(f.clone())),
            (Some(_), Some(_)) => {
                return Err(bad("give host_key or known_hosts, not both"));
            }
            (None, None) => None,
        }
        .ok_or_else(|| {
            bad("the server's host key must be known in advance: set host_key = \"ssh-ed25519 AAAA…\" \
                 (from the server's /etc/ssh/ssh_host_ed25519_key.pub) or known_hosts = \"/etc/kontor/known_hosts\"")
        })?;
        Ok(SftpTarget {
            host,
            port,
            user,
            path: path.trim_end_matches('/').to_string(),
            host_key,
            private_key_file: self.private_key_file.clone(),
        })
    }
}

/// `a/b` or `a/b/` as `a/b/`; `""` stays empty. `None` for absolute paths and `..`.
fn normalize_dir(raw: &str) -> Option<String> {
    let p = raw.trim().trim_end_matches('/');
    if p.is_empty() {
        return Some(String::new());
    }
    let ok = !p.starts_with('/')
        && p.split('/')
            .all(|s| !matches!(s, "" | "." | "..") && !s.chars().any(char::is_control));
    ok.then(|| format!("{p}/"))
}

/// Checks every `[[offsite]]` entry (names unique).
pub(super) fn check_all(entries: Vec<FileOffsite>) -> Result<Vec<OffsiteConfig>> {
    let mut out: Vec<OffsiteConfig> = Vec::new();
    for e in entries {
        let names: Vec<String> = out.iter().map(|o| o.name.clone()).collect();
        out.push(e.check(&names)?);
    }
    Ok(out)
}

impl OffsiteConfig {
    /// The file the credential (S3 secret key, SSH private key) is read from: the one
    /// configured, else `$CREDENTIALS_DIRECTORY/offsite-NAME-…`. Resolved in the process that
    /// connects (the server has the systemd credentials, an operator's shell does not).
    pub fn credential_path(&self) -> Result<PathBuf> {
        let (explicit, suffix, key) = match &self.target {
            Target::S3(s) => (&s.secret_key_file, "secret-key", "secret_key_file"),
            Target::Sftp(s) => (&s.private_key_file, "ssh-key", "private_key_file"),
        };
        if let Some(p) = explicit {
            return Ok(p.clone());
        }
        let file = format!("offsite-{}-{suffix}", self.name);
        match std::env::var_os("CREDENTIALS_DIRECTORY") {
            Some(dir) if Path::new(&dir).join(&file).exists() => Ok(Path::new(&dir).join(file)),
            _ => Err(Error::Config(format!(
                "offsite {:?}: no credential: set {key} to a file only kontor can read, or pass \
                 the credential {file} (systemd LoadCredential=); it never goes into kontor.toml",
                self.name
            ))),
        }
    }

    /// Reads the credential (never kept, never logged).
    pub fn credential(&self) -> Result<String> {
        let path = self.credential_path()?;
        let raw = std::fs::read_to_string(&path).map_err(|e| {
            Error::Config(format!(
                "offsite {:?}: credential {}: {e}",
                self.name,
                path.display()
            ))
        })?;
        let value = raw.trim_end_matches(['\r', '\n']);
        if value.trim().is_empty() {
            return Err(Error::Config(format!(
                "offsite {:?}: credential {} is empty",
                self.name,
                path.display()
            )));
        }
        Ok(value.to_string())
    }

    /// Where it is, for messages: `s3://bucket/prefix at endpoint`, `sftp://user@host:port/path`.
    pub fn location(&self) -> String {
        match &self.target {
            Target::S3(s) => format!("s3://{}/{} at {}", s.bucket, s.prefix, s.endpoint),
            Target::Sftp(s) => format!(
                "sftp://{}@{}:{}{}{}",
                s.user,
                s.host,
                s.port,
                if s.path.starts_with('/') { "" } else { "/~/" },
                s.path
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<OffsiteConfig>> {
        #[derive(Deserialize)]
        struct F {
            offsite: Vec<FileOffsite>,
        }
        let f: F = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        check_all(f.offsite)
    }

    const S3: &str = "[[offsite]]\nname = \"store\"\nkind = \"s3\"\nendpoint = \"https://s3.example.com/\"\nbucket = \"kontor-backups\"\naccess_key = \"AK\"\n";
    const SFTP: &str = "[[offsite]]\nname = \"dr\"\nkind = \"sftp\"\nhost = \"backup.example.net\"\nuser = \"kontor\"\npath = \"/srv/k/\"\nhost_key = \"ssh-ed25519 AAAAC3Nz host\"\n";

    #[test]
    fn both_kinds_parse_with_defaults() {
        let all = parse(&format!("{S3}{SFTP}")).unwrap();
        let Target::S3(s) = &all[0].target else {
            panic!()
        };
        assert_eq!(s.endpoint, "https://s3.example.com");
        assert_eq!((s.region.as_str(), s.prefix.as_str()), ("us-east-1", ""));
        assert!(s.path_style);
        let Target::Sftp(t) = &all[1].target else {
            panic!()
        };
        assert_eq!((t.port, t.path.as_str()), (22, "/srv/k"));
        assert_eq!(t.host_key, HostKey::Pinned("ssh-ed25519 AAAAC3Nz".into()));
        assert_eq!(all[1].timeout_secs, 120);
    }

    #[test]
    fn the_effective_entry_reads_as_it_was_written() {
        let all = parse(SFTP).unwrap();
        // As check-config shows it (absent values dropped).
        let mut v = serde_json::json!({ "offsite": all });
        super::super::drop_nulls(&mut v);
        let shown = toml::to_string(&v).unwrap();
        assert!(
            shown.contains("host_key = \"ssh-ed25519 AAAAC3Nz\""),
            "{shown}"
        );
        assert_eq!(parse(&shown).unwrap(), all);
        let json = serde_json::to_string(&all[0]).unwrap();
        assert_eq!(
            serde_json::from_str::<OffsiteConfig>(&json).unwrap(),
            all[0]
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (text, says) in [
            (S3.replace("s3\"", "ftp\""), "kind"),
            (
                S3.replace("https://s3.example.com/", "http://s3.example.com"),
                "plain http",
            ),
            (S3.replace("kontor-backups", "Kontor_Backups"), "bucket"),
            (S3.replace("access_key = \"AK\"\n", ""), "access_key"),
            (format!("{S3}port = 22\n"), "port does not apply"),
            (format!("{S3}prefix = \"../x\"\n"), "prefix"),
            (
                SFTP.replace("host_key = \"ssh-ed25519 AAAAC3Nz host\"\n", ""),
                "known in advance",
            ),
            (
                SFTP.replace("ssh-ed25519 AAAAC3Nz host", "nonsense"),
                "host_key",
            ),
            (format!("{SFTP}known_hosts = \"/k\"\n"), "not both"),
            (format!("{SFTP}{SFTP}"), "two entries"),
            (SFTP.replace("\"dr\"", "\"DR site\""), "offsite.name"),
            (format!("{SFTP}password = \"x\"\n"), "password"),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(says), "{err} should say {says:?}");
        }
        // Plain http is fine for a store on this machine (a test server, a local MinIO).
        assert!(parse(&S3.replace("https://s3.example.com/", "http://127.0.0.1:9000")).is_ok());
    }

    #[test]
    fn credentials_come_from_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cr3t\n").unwrap();
        let mut all = parse(S3).unwrap();
        let Target::S3(s) = &mut all[0].target else {
            panic!()
        };
        s.secret_key_file = Some(file);
        assert_eq!(all[0].credential().unwrap(), "s3cr3t");
        assert!(!format!("{:?}", all[0]).contains("s3cr3t"));
    }
}
