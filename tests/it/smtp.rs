//! A real SMTP server for the mail tests: `tests/tools/smtp_server.py` (aiosmtpd) in a
//! subprocess, with STARTTLS or implicit TLS under a test CA, AUTH, and scripted
//! rejections. Every accepted message lands in a directory as the exact DATA bytes
//! plus its envelope; `SmtpServer::messages` reads them back.
//!
//! The self-tests at the bottom drive the fixture with `lettre`, the client kontor uses.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python that has aiosmtpd (the system one, not whatever is first on PATH).
const PYTHON: &str = "/usr/bin/python3";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/smtp_server.py");

/// A certificate authority and a server certificate for `localhost` and 127.0.0.1
/// signed by it, as PEM files. Trust `ca_pem_path` to accept the server.
pub struct TestCa {
    pub ca_pem_path: PathBuf,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl TestCa {
    /// A fresh CA and a server certificate it signed, written into `dir`.
    pub fn new(dir: &Path) -> TestCa {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "kontor test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();

        Self::write(dir, "ca", &ca_cert.pem(), &cert.pem(), &key.serialize_pem())
    }

    /// A self-signed certificate for `localhost` and 127.0.0.1 that nothing trusts:
    /// for the invalid-certificate tests. `ca_pem_path` is the certificate itself.
    pub fn self_signed_untrusted(dir: &Path) -> TestCa {
        let params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self::write(
            dir,
            "untrusted",
            &cert.pem(),
            &cert.pem(),
            &key.serialize_pem(),
        )
    }

    fn write(dir: &Path, prefix: &str, ca: &str, cert: &str, key: &str) -> TestCa {
        fs::create_dir_all(dir).unwrap();
        let ca_pem_path = dir.join(format!("{prefix}-root.pem"));
        let cert_path = dir.join(format!("{prefix}-server-cert.pem"));
        let key_path = dir.join(format!("{prefix}-server-key.pem"));
        fs::write(&ca_pem_path, ca).unwrap();
        fs::write(&cert_path, cert).unwrap();
        fs::write(&key_path, key).unwrap();
        TestCa {
            ca_pem_path,
            cert_path,
            key_path,
        }
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        fs::read_to_string(&self.ca_pem_path).unwrap()
    }
}

/// How the server speaks TLS.
#[derive(Default, Clone, Copy)]
pub enum SmtpTls<'a> {
    /// Plain SMTP; no TLS offered.
    #[default]
    None,
    /// STARTTLS offered and required before AUTH and MAIL.
    StartTls(&'a TestCa),
    /// TLS from the first byte (as on port 465).
    Implicit(&'a TestCa),
}

#[derive(Default, Clone)]
pub struct SmtpOptions<'a> {
    /// Where messages are written; a temporary directory owned by the server if `None`.
    pub dir: Option<PathBuf>,
    /// The port to listen on (to restart on the same port); a free one if `None`.
    pub port: Option<u16>,
    pub tls: SmtpTls<'a>,
    /// With `password`: AUTH (PLAIN, LOGIN) required; wrong credentials get 535.
    pub user: Option<String>,
    pub password: Option<String>,
    /// RCPT TO containing this gets `550 5.1.1 mailbox unavailable`.
    pub reject_rcpt: Option<String>,
    /// RCPT TO containing this gets `451 4.3.0 try again later`.
    pub tempfail_rcpt: Option<String>,
    /// Sleep this long before answering the end of DATA.
    pub slow_data_ms: Option<u64>,
}

/// One accepted message: the envelope and the DATA bytes exactly as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub auth_user: Option<String>,
    pub tls: bool,
    pub data: Vec<u8>,
}

impl Received {
    /// The first header called `name` (any case), unfolded and trimmed, as sent
    /// (encoded words are not decoded).
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .replace("\r\n", "\n");
        let mut current: Option<String> = None;
        for line in head.split('\n') {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(value) = current.as_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if current.is_some() {
                break;
            }
            if let Some((field, value)) = line.split_once(':')
                && field.trim().eq_ignore_ascii_case(name)
            {
                current = Some(value.to_string());
            }
        }
        current.map(|v| v.trim().to_string())
    }

    /// The whole message as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

pub struct SmtpServer {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// Port file and stderr; the message directory too when none was given.
    state: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts the server and waits (10 s at most) until it listens.
    pub fn start(opts: SmtpOptions) -> SmtpServer {
        let state = tempfile::tempdir().unwrap();
        let dir = opts
            .dir
            .clone()
            .unwrap_or_else(|| state.path().join("messages"));
        fs::create_dir_all(&dir).unwrap();
        let port_file = state.path().join("port");
        let stderr_path = state.path().join("stderr");

        let mut cmd = Command::new(PYTHON);
        cmd.arg(SCRIPT)
            .arg("--port")
            .arg(opts.port.unwrap_or(0).to_string())
            .arg("--port-file")
            .arg(&port_file)
            .arg("--dir")
            .arg(&dir);
        match opts.tls {
            SmtpTls::None => {}
            SmtpTls::StartTls(ca) => {
                cmd.arg("--cert").arg(&ca.cert_path);
                cmd.arg("--key").arg(&ca.key_path);
            }
            SmtpTls::Implicit(ca) => {
                cmd.arg("--cert").arg(&ca.cert_path);
                cmd.arg("--key").arg(&ca.key_path);
                cmd.arg("--implicit-tls");
            }
        }
        if let Some(user) = &opts.user {
            cmd.arg("--user").arg(user);
            cmd.arg("--password")
                .arg(opts.password.as_deref().unwrap_or_default());
        }
        if let Some(s) = &opts.reject_rcpt {
            cmd.arg("--reject-rcpt").arg(s);
        }
        if let Some(s) = &opts.tempfail_rcpt {
            cmd.arg("--tempfail-rcpt").arg(s);
        }
        if let Some(ms) = opts.slow_data_ms {
            cmd.arg("--slow-data-ms").arg(ms.to_string());
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {PYTHON} {SCRIPT}: {e}"));
        let mut server = SmtpServer {
            child,
            port: 0,
            dir,
            state,
        };

        let start = Instant::now();
        loop {
            if let Ok(text) = fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse()
            {
                server.port = port;
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "SMTP test server exited ({status}) before listening:\n{}",
                    server.stderr()
                );
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!(
                    "SMTP test server not listening after 10 s:\n{}",
                    server.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory the messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.state.path().join("stderr")).unwrap_or_default()
    }

    /// SIGTERM and wait (10 s at most); returns the exit code (0 when clean).
    pub fn stop(&mut self) -> Option<i32> {
        if let Some(status) = self.child.try_wait().unwrap() {
            return status.code();
        }
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "SMTP test server did not stop on SIGTERM:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every accepted message so far, in the order received.
    pub fn messages(&self) -> Vec<Received> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") && !n.contains(".tmp"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|name| {
                let json = fs::read(self.dir.join(name)).unwrap();
                let meta: serde_json::Value =
                    serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
                let base = name.trim_end_matches(".json");
                let data = fs::read(self.dir.join(format!("{base}.eml"))).unwrap();
                Received {
                    mail_from: meta["mail_from"].as_str().unwrap_or_default().to_string(),
                    rcpt_tos: meta["rcpt_tos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect(),
                    auth_user: meta["auth_user"].as_str().map(str::to_string),
                    tls: meta["tls"].as_bool().unwrap(),
                    data,
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived; panics after `limit`.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if start.elapsed() > limit {
                panic!(
                    "expected {n} message(s) at the SMTP test server within {limit:?}, got {}:\n{}\nserver stderr:\n{}",
                    messages.len(),
                    messages
                        .iter()
                        .map(|m| format!("  {} -> {:?}", m.mail_from, m.rcpt_tos))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{Message, SmtpTransport, Transport};

    fn trusting(ca: &TestCa, domain: &str) -> TlsParameters {
        TlsParameters::builder(domain.into())
            .add_root_certificate(Certificate::from_pem(ca.ca_pem().as_bytes()).unwrap())
            .build_rustls()
            .unwrap()
    }

    fn transport(port: u16, tls: Tls, creds: Option<(&str, &str)>) -> SmtpTransport {
        let mut b = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(5)));
        if let Some((u, p)) = creds {
            b = b.credentials(Credentials::new(u.into(), p.into()));
        }
        b.build()
    }

    fn message(to: &str) -> Message {
        Message::builder()
            .from("Shop <shop@example.com>".parse().unwrap())
            .to(to.parse().unwrap())
            .subject("Your order")
            .header(ContentType::TEXT_PLAIN)
            .body("Hello,\r\n.a line that starts with a dot\r\nBye\r\n".to_string())
            .unwrap()
    }

    #[test]
    fn starttls_and_auth_deliver_the_message_byte_for_byte() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = TestCa::new(tmp.path());
        let server = SmtpServer::start(SmtpOptions {
            tls: SmtpTls::StartTls(&ca),
            user: Some("shop".into()),
            password: Some("s3cret pass".into()),
            ..Default::default()
        });
        let msg = message("Kunde <kunde@example.org>");
        let t = transport(
            server.port(),
            Tls::Required(trusting(&ca, "localhost")),
            Some(("shop", "s3cret pass")),
        );
        t.send(&msg).unwrap();
        let got = server.wait_for(1, Duration::from_secs(2));
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert_eq!(m.mail_from, "shop@example.com");
        assert_eq!(m.rcpt_tos, vec!["kunde@example.org".to_string()]);
        assert_eq!(m.auth_user.as_deref(), Some("shop"));
        assert!(m.tls);
        // lettre ends DATA with CRLF . CRLF; the server keeps the CRLF before the dot.
        let mut sent = msg.formatted();
        sent.extend_from_slice(b"\r\n");
        assert_eq!(m.data, sent, "{}", m.text());
        assert_eq!(m.header("subject").as_deref(), Some("Your order"));
        assert!(
            m.header("to").unwrap().contains("<kunde@example.org>"),
            "{}",
            m.text()
        );
        assert!(m.text().contains("\r\n.a line that starts with a dot\r\n"));
    }

    #[test]
    fn starttls_is_required_before_mail() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = TestCa::new(tmp.path());
        let server = SmtpServer::start(SmtpOptions {
            tls: SmtpTls::StartTls(&ca),
            ..Default::default()
        });
        let err = transport(server.port(), Tls::None, None)
            .send(&message("kunde@example.org"))
            .unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert!(err.to_string().contains("STARTTLS"), "{err}");
        assert!(server.messages().is_empty());
    }

    #[test]
    fn a_wrong_password_is_a_permanent_535() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = TestCa::new(tmp.path());
        let server = SmtpServer::start(SmtpOptions {
            tls: SmtpTls::StartTls(&ca),
            user: Some("shop".into()),
            password: Some("right".into()),
            ..Default::default()
        });
        let err = transport(
            server.port(),
            Tls::Required(trusting(&ca, "localhost")),
            Some(("shop", "wrong")),
        )
        .send(&message("kunde@example.org"))
        .unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert_eq!(err.status().map(|c| c.to_string()).as_deref(), Some("535"));
        assert!(server.messages().is_empty());
    }

    #[test]
    fn rejected_and_deferred_recipients() {
        let server = SmtpServer::start(SmtpOptions {
            reject_rcpt: Some("nobody".into()),
            tempfail_rcpt: Some("later".into()),
            ..Default::default()
        });
        let t = transport(server.port(), Tls::None, None);
        let err = t.send(&message("nobody@example.org")).unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert_eq!(err.status().map(|c| c.to_string()).as_deref(), Some("550"));
        assert!(err.to_string().contains("mailbox unavailable"), "{err}");

        let err = t.send(&message("later@example.org")).unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert_eq!(err.status().map(|c| c.to_string()).as_deref(), Some("451"));
        assert!(err.to_string().contains("try again later"), "{err}");
        assert!(server.messages().is_empty());

        t.send(&message("someone@example.org")).unwrap();
        let got = server.wait_for(1, Duration::from_secs(2));
        assert_eq!(got[0].rcpt_tos, vec!["someone@example.org".to_string()]);
        assert_eq!(got[0].auth_user, None);
        assert!(!got[0].tls);
    }

    #[test]
    fn an_untrusted_certificate_fails_the_handshake() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = TestCa::new(tmp.path());
        let bad = TestCa::self_signed_untrusted(tmp.path());
        let server = SmtpServer::start(SmtpOptions {
            tls: SmtpTls::StartTls(&bad),
            ..Default::default()
        });
        // Neither the system's roots nor another CA vouch for it.
        for params in [
            TlsParameters::new_rustls("localhost".into()).unwrap(),
            trusting(&ca, "localhost"),
        ] {
            let err = transport(server.port(), Tls::Required(params), None)
                .send(&message("kunde@example.org"))
                .unwrap_err();
            // lettre reports a refused certificate as a network error, neither
            // permanent nor transient, with rustls' reason in its Display.
            assert!(
                err.to_string().contains("invalid peer certificate"),
                "{err}"
            );
            assert!(!err.is_permanent() && !err.is_transient(), "{err}");
        }
        assert!(server.messages().is_empty());
    }

    #[test]
    fn implicit_tls_and_a_restart_on_the_same_port() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = TestCa::new(tmp.path());
        let dir = tmp.path().join("mail");
        let opts = SmtpOptions {
            dir: Some(dir.clone()),
            tls: SmtpTls::Implicit(&ca),
            user: Some("shop".into()),
            password: Some("pw".into()),
            ..Default::default()
        };
        let mut server = SmtpServer::start(opts.clone());
        let port = server.port();
        let send = || {
            transport(
                port,
                Tls::Wrapper(trusting(&ca, "127.0.0.1")),
                Some(("shop", "pw")),
            )
            .send(&message("kunde@example.org"))
        };
        send().unwrap();
        let got = server.wait_for(1, Duration::from_secs(2));
        assert!(got[0].tls);
        assert_eq!(got[0].auth_user.as_deref(), Some("shop"));
        assert_eq!(server.stop(), Some(0), "{}", server.stderr());
        assert!(send().is_err(), "nothing listens after stop");

        let server = SmtpServer::start(SmtpOptions {
            port: Some(port),
            ..opts
        });
        assert_eq!(server.port(), port);
        send().unwrap();
        let got = server.wait_for(2, Duration::from_secs(2));
        assert_eq!(got.len(), 2);
        assert_eq!(server.dir(), dir);
    }

    #[test]
    fn slow_data_holds_the_answer_back() {
        let server = SmtpServer::start(SmtpOptions {
            slow_data_ms: Some(400),
            ..Default::default()
        });
        let start = Instant::now();
        transport(server.port(), Tls::None, None)
            .send(&message("kunde@example.org"))
            .unwrap();
        assert!(start.elapsed() >= Duration::from_millis(400));
        assert_eq!(server.messages().len(), 1);
    }

    #[test]
    fn headers_are_unfolded() {
        let r = Received {
            mail_from: String::new(),
            rcpt_tos: vec![],
            auth_user: None,
            tls: false,
            data: b"Subject: one\r\n two\r\nX-A: 1\r\nx-a: 2\r\n\r\nX-A: body\r\n".to_vec(),
        };
        assert_eq!(r.header("subject").as_deref(), Some("one two"));
        assert_eq!(r.header("X-A").as_deref(), Some("1"));
        assert_eq!(r.header("X-B"), None);
    }
}
