//! Test fixture: a temp data dir, the real `kontor` binary, and an HTTP client that keeps
//! cookies by hand so tests can see and forge every header.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_kontor");

/// A temp directory with a data dir and an (empty) config file, so no host config leaks in.
pub struct Kontor {
    pub dir: tempfile::TempDir,
}

impl Kontor {
    pub fn new() -> Kontor {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kontor.toml"), "").unwrap();
        Kontor { dir }
    }

    /// A fixture whose data dir exists, with tenant `acme`, an admin and a site.
    pub fn with_tenant() -> (Kontor, String) {
        let k = Kontor::new();
        k.ok(&["init"]);
        k.ok(&["tenant", "create", "acme", "--name", "Acme GmbH"]);
        let password = "correct horse battery".to_string();
        k.ok_stdin(
            &[
                "agent",
                "add",
                "acme",
                "ann@acme.example",
                "--name",
                "Ann",
                "--role",
                "admin",
                "--password-stdin",
            ],
            &password,
        );
        (k, password)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("kontor.toml")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("KONTOR_") || k == "CREDENTIALS_DIRECTORY" {
                c.env_remove(k);
            }
        }
        c.arg("--config")
            .arg(self.config_file())
            .arg("--data-dir")
            .arg(self.data_dir());
        // Release builds refuse the test clock; tests that move it need a debug build.
        if cfg!(debug_assertions) {
            c.arg("--test-clock-offset-file").arg(self.clock_file());
        }
        c.args(args);
        c
    }

    /// The file every process of this fixture (servers and commands) adds to its clock, so a
    /// test moves their time forward instead of sleeping (`kontor::clock`).
    pub fn clock_file(&self) -> PathBuf {
        self.dir.path().join("clock-offset")
    }

    /// The fixture's clock, as its processes read it.
    pub fn clock(&self) -> kontor::clock::Clock {
        kontor::clock::Clock::offset_file(&self.clock_file())
            .expect("moving the clock needs a debug build (cargo test without --release)")
    }

    /// Moves the time of every process of this fixture forward by `d`, at once.
    pub fn advance_clock(&self, d: Duration) {
        self.clock().advance(d);
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, "")
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_success(&out, args);
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_stdin(args, stdin);
        assert_success(&out, args);
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs with `--json`, asserts success, parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// Runs and asserts failure with exit code 1; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        self.fails_stdin(args, "")
    }

    /// Runs with `stdin`, asserts exit code 1; returns stderr.
    pub fn fails_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_stdin(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} should fail with 1: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn server(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Server::spawn(self.command(&args))
    }

    pub fn server_with_env(&self, env: &[(&str, &str)]) -> Server {
        let mut c = self.command(&["serve", "--listen", "127.0.0.1:0"]);
        for (k, v) in env {
            c.env(k, v);
        }
        Server::spawn(c)
    }
}

/// Whether `done` becomes true within `limit`, asked every 20 ms: how tests await an event they
/// can only look at (a row written, a line logged, a process gone). Time that must pass is never
/// waited for: tests move the clock (`Kontor::advance_clock`).
pub fn within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `done` is true; fails the test with `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, done: impl FnMut() -> bool) {
    assert!(within(limit, done), "{what}");
}

pub fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `kontor serve`, killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("kontor ready: listening on ") {
                    let _ = tx.send(base.to_string());
                }
                let mut g = l.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
        let stderr = child.stderr.take().unwrap();
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut g = l.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not become ready:\n{}", log.lock().unwrap());
            }
        };
        Server { child, base, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether `needle` shows up in the server's output within 5 s (output is read by a
    /// separate thread, so it may lag the HTTP response).
    pub fn log_shows(&self, needle: &str) -> bool {
        within(Duration::from_secs(5), || self.log().contains(needle))
    }

    /// The server process's resident memory now and at its peak so far, in KiB (VmRSS and
    /// VmHWM of /proc/PID/status): the peak catches memory taken and freed within a command.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} in {status}"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let mut status = None;
        wait_until(
            "server did not stop on SIGTERM",
            Duration::from_secs(20),
            || {
                status = self.child.try_wait().unwrap();
                status.is_some()
            },
        );
        status.and_then(|s| s.code())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response, read whole.
pub struct Res {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

/// A browser-like client: a cookie jar and an Origin it sends on POSTs.
pub struct Browser {
    agent: ureq::Agent,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    pub headers: Vec<(String, String)>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .build(),
            )
            .build()
            .into();
        Browser {
            agent,
            base: base.to_string(),
            cookies: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, mut res: ureq::http::Response<ureq::Body>) -> Res {
        let headers: Vec<(String, String)> = res
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_string(), value.to_string());
                    }
                }
            }
        }
        Res {
            status: res.status().as_u16(),
            headers,
            body: res.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    /// Sends a request with the jar's cookies, the browser's headers and `extra` headers.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Res {
        let url = format!("{}{}", self.base, path);
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        if !self.cookies.is_empty() {
            req = req.header("Cookie", self.cookie_header());
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let (content_type, bytes) = body.unwrap_or(("", Vec::new()));
        if !content_type.is_empty() {
            req = req.header("Content-Type", content_type);
        }
        let res = self.agent.run(req.body(bytes).unwrap()).unwrap();
        self.absorb(res)
    }

    pub fn get(&mut self, path: &str) -> Res {
        self.request("GET", path, &[], None)
    }

    /// POSTs a form with `Origin` set to `origin` (None: no Origin header).
    pub fn post_form_from(
        &mut self,
        path: &str,
        origin: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Res {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let origin_header: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
        self.request(
            "POST",
            path,
            &origin_header,
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
        )
    }

    /// POSTs JSON with the browser's headers (Origin only if set in `headers`).
    pub fn post_json(&mut self, path: &str, body: &serde_json::Value) -> Res {
        self.request(
            "POST",
            path,
            &[],
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    /// PUTs JSON with the browser's headers.
    pub fn put_json(&mut self, path: &str, body: &serde_json::Value) -> Res {
        self.request(
            "PUT",
            path,
            &[],
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    /// PUTs raw bytes (and the browser's headers).
    pub fn put_bytes(&mut self, path: &str, content_type: &str, body: &[u8]) -> Res {
        self.request("PUT", path, &[], Some((content_type, body.to_vec())))
    }

    /// DELETEs with the browser's headers.
    pub fn delete(&mut self, path: &str) -> Res {
        self.request("DELETE", path, &[], None)
    }

    /// POSTs raw bytes with extra headers (and the browser's cookies).
    pub fn post_bytes(&mut self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Res {
        self.request(
            "POST",
            path,
            headers,
            Some(("application/octet-stream", body.to_vec())),
        )
    }

    /// POSTs a form from our own origin, as the browser would from our page.
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Res {
        let origin = self.base.clone();
        self.post_form_from(path, Some(&origin), fields)
    }

    /// An agent of `acme` signed in, sending our `Origin` and the session's CSRF token with
    /// every request (as the dashboard does for writes).
    pub fn signed_in(base: &str, email: &str, password: &str) -> Browser {
        let mut b = Browser::new(base);
        assert_eq!(b.login("acme", email, password).status, 303);
        let csrf = b.get("/api/session").json()["csrf"]
            .as_str()
            .unwrap()
            .to_string();
        b.headers = vec![
            ("Origin".into(), base.to_string()),
            ("X-CSRF-Token".into(), csrf),
        ];
        b
    }

    /// The pre-login CSRF token from the login page.
    pub fn login_token(&mut self) -> String {
        let page = self.get("/login");
        assert_eq!(page.status, 200, "{}", page.body);
        hidden_field(&page.body, "csrf")
    }

    /// Signs in; returns the response of the POST.
    /// The id of the agent with this email, as `GET /api/agents` lists it (for a browser
    /// signed in with the permission to manage agents).
    pub fn agent_id(&mut self, email: &str) -> i64 {
        self.get("/api/agents").json()["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == email)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    pub fn login(&mut self, tenant: &str, email: &str, password: &str) -> Res {
        let csrf = self.login_token();
        self.post_form(
            "/login",
            &[
                ("tenant", tenant),
                ("email", email),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
    }

    /// The session cookie's value, if any.
    pub fn session(&self) -> Option<&String> {
        self.cookies
            .iter()
            .find(|(k, _)| k.ends_with("kontor_session"))
            .map(|(_, v)| v)
    }
}

/// Percent-encodes a form field.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of `<input type="hidden" name=NAME value="…">` in a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_string()
}

impl Server {
    /// `kill -9`: no shutdown, no checkpoint.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// SHA-256 of every file under a directory, by relative path.
pub fn checksums(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    digest.as_ref().to_vec(),
                );
            }
        }
    }
    out
}

/// A WebSocket client as the widget or the dashboard would be.
pub struct Ws {
    pub sock: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
    /// The queue and presence as the server's `queue`/`queue_update` and
    /// `agents`/`agents_update` frames built them, as a dashboard keeps them.
    queue: BTreeMap<i64, serde_json::Value>,
    agents: BTreeMap<i64, serde_json::Value>,
}

/// Why a socket could not be opened: the HTTP status of the refused upgrade.
pub type Refused = u16;

impl Ws {
    fn open(base: &str, path: &str, headers: &[(&str, &str)]) -> Result<Ws, Refused> {
        use tungstenite::client::IntoClientRequest;
        let url = format!("{}{}", base.replacen("http", "ws", 1), path);
        let mut req = url.into_client_request().unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        match tungstenite::connect(req) {
            Ok((sock, _)) => {
                if let tungstenite::stream::MaybeTlsStream::Plain(s) = sock.get_ref() {
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                }
                Ok(Ws {
                    sock,
                    queue: BTreeMap::new(),
                    agents: BTreeMap::new(),
                })
            }
            Err(tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("websocket connect failed: {e}"),
        }
    }

    /// The widget's socket for `site`, from `origin`.
    pub fn visitor(base: &str, site: &str, origin: &str) -> Result<Ws, Refused> {
        if origin.is_empty() {
            return Ws::open(base, &format!("/ws/visitor?site={site}"), &[]);
        }
        Ws::open(
            base,
            &format!("/ws/visitor?site={site}"),
            &[("Origin", origin)],
        )
    }

    /// The widget's socket for `site`, from `origin`, through a proxy that forwards `client`.
    pub fn visitor_via(base: &str, site: &str, origin: &str, client: &str) -> Result<Ws, Refused> {
        Ws::open(
            base,
            &format!("/ws/visitor?site={site}"),
            &[("Origin", origin), ("X-Forwarded-For", client)],
        )
    }

    /// The widget's socket for `site`, from `origin`, with a browser's User-Agent.
    pub fn visitor_as(base: &str, site: &str, origin: &str, ua: &str) -> Result<Ws, Refused> {
        Ws::open(
            base,
            &format!("/ws/visitor?site={site}"),
            &[("Origin", origin), ("User-Agent", ua)],
        )
    }

    /// The dashboard's socket for a signed-in browser, from `origin`.
    pub fn agent_from(b: &Browser, origin: &str) -> Result<Ws, Refused> {
        let cookies = b
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = vec![("Origin", origin)];
        if !cookies.is_empty() {
            headers.push(("Cookie", cookies.as_str()));
        }
        Ws::open(&b.base, "/ws/agent", &headers)
    }

    /// The dashboard's socket from our own origin.
    pub fn agent(b: &Browser) -> Ws {
        let base = b.base.clone();
        Ws::agent_from(b, &base).unwrap()
    }

    pub fn send(&mut self, v: serde_json::Value) {
        self.sock
            .send(tungstenite::Message::text(v.to_string()))
            .unwrap();
    }

    pub fn send_raw(&mut self, m: tungstenite::Message) -> Result<(), tungstenite::Error> {
        self.sock.send(m)
    }

    /// Applies queue and presence changes to what this socket knows, and hands them on as
    /// the whole `queue` or `agents` list (what a dashboard shows after the change); other
    /// frames pass unchanged.
    fn materialize(&mut self, f: serde_json::Value) -> serde_json::Value {
        use serde_json::{Value, json};
        fn apply(map: &mut BTreeMap<i64, Value>, f: &Value, key: &str, full: Option<&str>) {
            if let Some(list) = full {
                map.clear();
                for e in f[list].as_array().into_iter().flatten() {
                    map.insert(e[key].as_i64().unwrap(), e.clone());
                }
                return;
            }
            for id in f["remove"].as_array().into_iter().flatten() {
                map.remove(&id.as_i64().unwrap());
            }
            for e in f["upsert"].as_array().into_iter().flatten() {
                map.insert(e[key].as_i64().unwrap(), e.clone());
            }
        }
        match f["type"].as_str() {
            Some("queue") => apply(&mut self.queue, &f, "conversation_id", Some("waiting")),
            Some("queue_update") => apply(&mut self.queue, &f, "conversation_id", None),
            Some("agents") => apply(&mut self.agents, &f, "agent_id", Some("agents")),
            Some("agents_update") => apply(&mut self.agents, &f, "agent_id", None),
            _ => return f,
        }
        if f["type"].as_str().unwrap().starts_with("queue") {
            json!({"type": "queue", "waiting": self.queue.values().cloned().collect::<Vec<_>>()})
        } else {
            json!({"type": "agents", "agents": self.agents.values().cloned().collect::<Vec<_>>()})
        }
    }

    /// The next JSON frame (pings are answered by tungstenite itself).
    pub fn recv(&mut self) -> serde_json::Value {
        loop {
            match self.sock.read() {
                Ok(tungstenite::Message::Text(t)) => {
                    return self.materialize(serde_json::from_str(&t).unwrap());
                }
                Ok(tungstenite::Message::Close(c)) => panic!("socket closed: {c:?}"),
                Ok(_) => continue,
                Err(e) => panic!("no frame: {e}"),
            }
        }
    }

    /// The next frame of type `ty`, skipping others.
    pub fn recv_type(&mut self, ty: &str) -> serde_json::Value {
        for _ in 0..10_000 {
            let f = self.recv();
            if f["type"] == ty {
                return f;
            }
        }
        panic!("no {ty} frame");
    }

    /// Frames until none arrives for `quiet`.
    pub fn drain(&mut self, quiet: Duration) -> Vec<serde_json::Value> {
        self.set_timeout(quiet);
        let mut out = Vec::new();
        while let Ok(m) = self.sock.read() {
            if let tungstenite::Message::Text(t) = m {
                let f = self.materialize(serde_json::from_str(&t).unwrap());
                out.push(f);
            }
        }
        self.set_timeout(Duration::from_secs(10));
        out
    }

    /// Frames as the server sent them (queue and presence changes not folded into lists),
    /// until none arrives for `quiet`.
    pub fn drain_raw(&mut self, quiet: Duration) -> Vec<serde_json::Value> {
        self.set_timeout(quiet);
        let mut out = Vec::new();
        while let Ok(m) = self.sock.read() {
            if let tungstenite::Message::Text(t) = m {
                out.push(serde_json::from_str(&t).unwrap());
            }
        }
        self.set_timeout(Duration::from_secs(10));
        out
    }

    fn set_timeout(&mut self, d: Duration) {
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = self.sock.get_ref() {
            s.set_read_timeout(Some(d)).unwrap();
        }
    }

    /// Reads until the server closes; returns the close code.
    pub fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.sock.read() {
                Ok(tungstenite::Message::Close(c)) => return c.map(|c| u16::from(c.code)),
                Ok(_) => continue,
                Err(tungstenite::Error::ConnectionClosed)
                | Err(tungstenite::Error::AlreadyClosed) => return None,
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    panic!("server did not close the socket")
                }
                Err(_) => return None,
            }
        }
    }
}
