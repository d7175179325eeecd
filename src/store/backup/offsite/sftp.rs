//! A directory on another server as a remote, over SFTP. The server must prove the host key
//! the configuration names (a pinned key, or a `known_hosts` file) before anything is sent:
//! an unknown or changed key is refused, never accepted on first use.

use super::{Remote, RemoteFile};
use crate::config::{HostKey, SftpTarget};
use crate::error::{Error, Result};
use ssh2::{CheckResult, KnownHostFileKind, MethodType, OpenFlags, OpenType, Session};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An authenticated SFTP session and the archives' directory.
pub(super) struct Sftp {
    sftp: ssh2::Sftp,
    dir: PathBuf,
    // Dropped after the SFTP channel.
    _session: Session,
}

fn failed(what: &str, e: ssh2::Error) -> Error {
    Error::Conflict(format!("{what}: {}", e.message()))
}

/// The SSH names of the host key algorithms that can present a key of type `kind`.
fn algorithms(kind: &str) -> &str {
    match kind {
        "ssh-rsa" => "rsa-sha2-512,rsa-sha2-256,ssh-rsa",
        other => other,
    }
}

/// The key types a known_hosts file lists, in its order (hosts may be hashed, so all of
/// them): the server is asked for one of these, not for whatever it prefers.
fn key_types(known_hosts: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in known_hosts.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or("");
        // A marker (@cert-authority, @revoked) comes before the hosts.
        let kind = if first.starts_with('@') {
            parts.nth(1)
        } else {
            parts.next()
        };
        if let Some(k) = kind
            && !out.iter().any(|o| o == k)
        {
            out.push(k.to_string());
        }
    }
    out
}

/// Whose host key the configuration expects: the known_hosts lines, and the key types.
fn expected(t: &SftpTarget) -> Result<(String, Vec<String>)> {
    let text = match &t.host_key {
        // A pinned key is a one-line known_hosts file for this host and port.
        HostKey::Pinned(k) => format!("[{}]:{} {k}\n", t.host, t.port),
        HostKey::KnownHosts(f) => std::fs::read_to_string(f)
            .map_err(|e| Error::Config(format!("known_hosts file {}: {e}", f.display())))?,
    };
    let types = key_types(&text);
    if types.is_empty() {
        return Err(Error::Config("no host key is known for the server".into()));
    }
    Ok((text, types))
}

fn connect_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::Conflict(format!("cannot resolve {host}: {e}")))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                let _ = s.set_read_timeout(Some(timeout));
                let _ = s.set_write_timeout(Some(timeout));
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Conflict(match last {
        Some(e) => format!("cannot connect to {host}:{port}: {e}"),
        None => format!("{host} has no address"),
    }))
}

impl Sftp {
    /// Connects, checks the host key, signs in with the private key in `key_file`.
    pub(super) fn connect(t: &SftpTarget, key_file: &Path, timeout: Duration) -> Result<Sftp> {
        let (known, types) = expected(t)?;
        let tcp = connect_tcp(&t.host, t.port, timeout)?;
        let mut session = Session::new().map_err(|e| failed("starting SSH", e))?;
        session.set_tcp_stream(tcp);
        session.set_timeout(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
        let prefs: Vec<&str> = types.iter().map(|k| algorithms(k)).collect();
        session
            .method_pref(MethodType::HostKey, &prefs.join(","))
            .map_err(|e| failed("choosing the host key types", e))?;
        session.handshake().map_err(|e| {
            failed(
                &format!(
                    "SSH handshake with {}:{} (host key types asked for: {})",
                    t.host,
                    t.port,
                    types.join(", ")
                ),
                e,
            )
        })?;
        let (key, _) = session
            .host_key()
            .ok_or_else(|| Error::Conflict("the server showed no host key".into()))?;
        let mut hosts = session
            .known_hosts()
            .map_err(|e| failed("reading the known host keys", e))?;
        for line in known.lines().filter(|l| !l.trim().is_empty()) {
            // Lines libssh2 cannot read (other key types, comments) are skipped.
            let _ = hosts.read_str(line, KnownHostFileKind::OpenSSH);
        }
        match hosts.check_port(&t.host, t.port, key) {
            CheckResult::Match => {}
            CheckResult::Mismatch => {
                return Err(Error::Conflict(format!(
                    "the host key of {}:{} does NOT match the one configured: refusing to \
                     connect (the server was reinstalled, or someone is in between)",
                    t.host, t.port
                )));
            }
            CheckResult::NotFound | CheckResult::Failure => {
                return Err(Error::Conflict(format!(
                    "the host key of {}:{} is not the one configured (no matching entry): \
                     refusing to connect",
                    t.host, t.port
                )));
            }
        }
        session
            .userauth_pubkey_file(&t.user, None, key_file, None)
            .map_err(|e| failed(&format!("signing in as {}", t.user), e))?;
        if !session.authenticated() {
            return Err(Error::Conflict(format!(
                "the server did not accept {}",
                t.user
            )));
        }
        let sftp = session.sftp().map_err(|e| failed("starting SFTP", e))?;
        let dir = PathBuf::from(&t.path);
        if sftp.stat(&dir).is_err() {
            sftp.mkdir(&dir, 0o700)
                .map_err(|e| failed(&format!("creating {}", dir.display()), e))?;
        }
        Ok(Sftp {
            sftp,
            dir,
            _session: session,
        })
    }
}

impl Remote for Sftp {
    fn files(&mut self) -> Result<Vec<RemoteFile>> {
        let entries = self
            .sftp
            .readdir(&self.dir)
            .map_err(|e| failed(&format!("listing {}", self.dir.display()), e))?;
        Ok(entries
            .into_iter()
            .filter(|(_, st)| st.is_file())
            .filter_map(|(p, st)| {
                Some(RemoteFile {
                    name: p.file_name()?.to_str()?.to_string(),
                    bytes: st.size.unwrap_or(0),
                    modified: st.mtime.unwrap_or(0) as i64,
                })
            })
            .collect())
    }

    fn put(&mut self, local: &Path, name: &str, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let mut src = std::fs::File::open(local)
            .map_err(|e| Error::io(format!("reading {}", local.display()), e))?;
        let target = self.dir.join(name);
        let partial = self.dir.join(format!(".{name}.partial"));
        let mut dst = self
            .sftp
            .open_mode(
                &partial,
                OpenFlags::WRITE | OpenFlags::TRUNCATE,
                0o600,
                OpenType::File,
            )
            .map_err(|e| failed(&format!("creating {}", partial.display()), e))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut sent = 0u64;
        loop {
            let n = src
                .read(&mut buf)
                .map_err(|e| Error::io(format!("reading {}", local.display()), e))?;
            if n == 0 {
                break;
            }
            dst.write_all(&buf[..n])
                .map_err(|e| Error::Conflict(format!("writing {name}: {e}")))?;
            sent += n as u64;
            progress(sent);
        }
        // On disk there before it gets its name (servers without fsync@openssh.com skip it).
        let _ = dst.fsync();
        drop(dst);
        // SFTP v3 renames only onto a free name.
        let _ = self.sftp.unlink(&target);
        self.sftp
            .rename(&partial, &target, None)
            .map_err(|e| failed(&format!("naming {name}"), e))
    }

    fn get(&mut self, name: &str, dest: &mut (dyn Write + Send)) -> Result<u64> {
        let mut src = self
            .sftp
            .open(self.dir.join(name))
            .map_err(|e| failed(&format!("opening {name}"), e))?;
        std::io::copy(&mut src, dest).map_err(|e| Error::Conflict(format!("reading {name}: {e}")))
    }

    fn delete(&mut self, name: &str) -> Result<()> {
        match self.sftp.unlink(&self.dir.join(name)) {
            Ok(()) => Ok(()),
            // LIBSSH2_FX_NO_SUCH_FILE
            Err(e) if e.code() == ssh2::ErrorCode::SFTP(2) => Ok(()),
            Err(e) => Err(failed(&format!("removing {name}"), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_asked_for_the_key_types_known_for_it() {
        let file = "# comment\n|1|abc=|def= ssh-ed25519 AAAA\nhost.example ecdsa-sha2-nistp256 AAAA\n\
                    @cert-authority *.example ssh-rsa AAAA\nother ssh-ed25519 BBBB\n";
        assert_eq!(
            key_types(file),
            ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]
        );
        assert_eq!(algorithms("ssh-rsa"), "rsa-sha2-512,rsa-sha2-256,ssh-rsa");
    }
}
