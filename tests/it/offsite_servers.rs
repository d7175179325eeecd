//! Real servers for the off-site tests, started by the tests on loopback: an S3-compatible
//! store (`tests/tools/s3_server.py`, moto's server from PyPI) and Debian's OpenSSH `sshd` with
//! a generated host key, an authorized client key and the internal SFTP server, run as the
//! current user from a config in a temp directory. A server that cannot start fails the test
//! loudly, with what to install; no test is skipped.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const S3_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/s3_server.py");
const SSHD: &str = "/usr/sbin/sshd";

/// A free port on loopback (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child, log: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!(
        "{what} did not listen on 127.0.0.1:{port} within 30 s:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// moto's S3 server on loopback, empty, stopped on drop.
pub struct S3Server {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl S3Server {
    /// Starts it on a free port, or on `port`.
    pub fn start(port: Option<u16>) -> S3Server {
        let dir = tempfile::tempdir().unwrap();
        let port = port.unwrap_or_else(free_port);
        let log = dir.path().join("s3.log");
        let mut child = Command::new("python3")
            .arg(S3_SCRIPT)
            .arg("--port-file")
            .arg(dir.path().join("port"))
            .arg("--port")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("s3.err")).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 for the S3 test server ({e}); install moto[server] with pip, as .ci/run does")
            });
        let err = dir.path().join("s3.err");
        wait_for_port(
            port,
            &mut child,
            &err,
            "the S3 test server (python3 -m pip install 'moto[server]')",
        );
        S3Server {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto accepts any credentials).
    pub fn create_bucket(&self, name: &str) {
        let res = ureq::put(&format!("{}/{name}", self.endpoint()))
            .send_empty()
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
    }

    /// The `[[offsite]]` entry for a bucket here, its secret in `secret_file`.
    pub fn entry(&self, name: &str, bucket: &str, prefix: &str, secret_file: &Path) -> String {
        std::fs::write(secret_file, "test-secret-key\n").unwrap();
        format!(
            "[[offsite]]\nname = \"{name}\"\nkind = \"s3\"\nendpoint = \"{}\"\nregion = \"eu-central-1\"\n\
             bucket = \"{bucket}\"\nprefix = \"{prefix}\"\naccess_key = \"test-access-key\"\n\
             secret_key_file = \"{}\"\ntimeout_secs = 20\n",
            self.endpoint(),
            secret_file.display()
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sshd` on loopback: its own host key, one authorized client key, internal SFTP.
pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "kontor-test", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen (Debian: openssh-client) is needed for the SFTP tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Sshd {
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: the SFTP tests need Debian's openssh-server (apt-get install openssh-server), as .ci/run installs it"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir(d.join("remote")).unwrap();
        // Run as root, sshd wants its privilege separation directory.
        if rustix::process::geteuid().is_root() {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let port = free_port();
        let config = d.join("sshd_config");
        let mut f = std::fs::File::create(&config).unwrap();
        write!(
            f,
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nUsePAM no\nStrictModes no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n",
            d = d.display()
        )
        .unwrap();
        drop(f);
        let log = d.join("sshd.log");
        let mut child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SSHD}: {e}"));
        wait_for_port(port, &mut child, &log, "sshd");
        Sshd { child, port, dir }
    }

    /// Where the archives land (a directory this test can look into and tamper with).
    pub fn remote_dir(&self) -> PathBuf {
        self.dir.path().join("remote")
    }

    /// The server's public host key line.
    pub fn host_key(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("host_key.pub"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// The `[[offsite]]` entry for this server with `host_key_line` (pinned) as its host key.
    pub fn entry_with_key(&self, name: &str, host_key_line: &str) -> String {
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        format!(
            "[[offsite]]\nname = \"{name}\"\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\n\
             user = \"{user}\"\npath = \"{}\"\nhost_key = \"{host_key_line}\"\n\
             private_key_file = \"{}\"\ntimeout_secs = 20\n",
            self.port,
            self.remote_dir().display(),
            self.dir.path().join("client_key").display()
        )
    }

    /// The `[[offsite]]` entry for this server, its real host key pinned.
    pub fn entry(&self, name: &str) -> String {
        self.entry_with_key(name, &self.host_key())
    }

    /// The sshd log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
