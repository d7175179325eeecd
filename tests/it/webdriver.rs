//! A small W3C WebDriver client for Debian's chromedriver and headless Chromium, so browser
//! tests need nothing but those two packages.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The ChromeDriver process, stopped on drop.
pub struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    /// Starts chromedriver; panics with a clear message when it is not installed.
    pub fn start() -> Driver {
        let bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromedriver is not installed: apt-get install chromium chromium-driver (.ci/run does it)");
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut r) = agent.get(format!("{base}/status")).call()
                && r.body_mut()
                    .read_to_string()
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .is_some_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, base, agent }
    }

    /// A new browser with its own fresh profile (cookies, storage).
    pub fn browser(&self) -> Browser {
        self.browser_in(None)
    }

    /// A new browser whose languages (`navigator.languages`, `Accept-Language`) are `langs`,
    /// e.g. `"nl-NL,nl"`.
    pub fn browser_speaking(&self, langs: &str) -> Browser {
        self.browser_in(Some(langs))
    }

    fn browser_in(&self, langs: Option<&str>) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut prefs = json!({"profile.default_content_setting_values.notifications": 1});
        if let Some(l) = langs {
            args.push(format!("--lang={}", l.split(',').next().unwrap_or(l)));
            prefs["intl.accept_languages"] = json!(l);
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": args,
                "prefs": prefs
            }
        }}});
        let mut res = self
            .agent
            .post(format!("{}/session", self.base))
            .header("Content-Type", "application/json")
            .send(caps.to_string())
            .unwrap();
        let v: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {v}"))
            .to_string();
        Browser {
            url: format!("{}/session/{id}", self.base),
            agent: self.agent.clone(),
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window.
pub struct Browser {
    url: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{}", self.url, path);
        let mut res = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        }
        .unwrap();
        let v: Value = res
            .body_mut()
            .read_to_string()
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        v["value"].clone()
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = self.call(method, path, body);
        if let Some(e) = v.get("error") {
            panic!("webdriver {method} {path}: {e} {}", v["message"]);
        }
        v
    }

    /// Opens a URL.
    pub fn goto(&self, url: &str) {
        self.ok("POST", "/url", Some(json!({"url": url})));
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            );
            if let Some(id) = v[ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no element {css}; page: {}",
                self.source_excerpt()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The first element matching an XPath (e.g. a button by its text), waiting up to 10 s.
    pub fn find_xpath(&self, xpath: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.call(
                "POST",
                "/element",
                Some(json!({"using": "xpath", "value": xpath})),
            );
            if let Some(id) = v[ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no element {xpath}; page: {}",
                self.source_excerpt()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An element returned by a script (e.g. from inside a shadow root).
    pub fn element_from(&self, script: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.exec(script);
            if let Some(id) = v[ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "script found no element: {script}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Presses keys as a user would (WebDriver key codes, e.g. "\u{E004}" for Tab).
    pub fn press(&self, keys: &[&str]) {
        let mut actions = Vec::new();
        for k in keys {
            actions.push(json!({"type": "keyDown", "value": k}));
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        self.ok(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    /// Makes the page see a CSS media feature as `value` (Chromium's DevTools protocol), e.g.
    /// `prefers-reduced-motion: reduce`.
    pub fn emulate_media(&self, feature: &str, value: &str) {
        self.ok(
            "POST",
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Emulation.setEmulatedMedia",
                "params": {"features": [{"name": feature, "value": value}]},
            })),
        );
    }

    /// Types `text` key by key into whatever has focus, as a keyboard would.
    pub fn keys(&self, text: &str) {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
        self.press(&refs);
    }

    /// Presses `key` while `modifier` is held (e.g. Shift+Tab).
    pub fn chord(&self, modifier: &str, key: &str) {
        let actions = json!([
            {"type": "keyDown", "value": modifier},
            {"type": "keyDown", "value": key},
            {"type": "keyUp", "value": key},
            {"type": "keyUp", "value": modifier},
        ]);
        self.ok(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    fn source_excerpt(&self) -> String {
        let s = self.call("GET", "/source", None);
        s.as_str().unwrap_or("").chars().take(3000).collect()
    }

    /// Clicks an element.
    pub fn click(&self, el: &str) {
        self.ok("POST", &format!("/element/{el}/click"), None);
    }

    /// Types into an element.
    pub fn type_text(&self, el: &str, text: &str) {
        self.ok(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        );
    }

    /// The element's visible text.
    pub fn text(&self, el: &str) -> String {
        self.ok("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Runs a script (its `return` value comes back).
    pub fn exec(&self, script: &str) -> Value {
        self.ok(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Waits up to 15 s until the script returns true.
    pub fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.exec(script) != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; page: {}",
                self.source_excerpt()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Switches into an iframe element.
    pub fn enter_frame(&self, el: &str) {
        self.ok("POST", "/frame", Some(json!({"id": {ELEMENT: el}})));
    }

    /// Switches back to the page that holds the current frame.
    pub fn leave_frame(&self) {
        self.ok("POST", "/frame/parent", Some(json!({})));
    }

    /// Runs a Chrome DevTools Protocol command through ChromeDriver (e.g. to emulate a
    /// viewport).
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.ok(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
    }

    /// Deletes every cookie of the current page's origin.
    pub fn delete_cookies(&self) {
        self.ok("DELETE", "/cookie", None);
    }

    /// The cookies of the current page.
    pub fn cookies(&self) -> Vec<Value> {
        self.ok("GET", "/cookie", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", None);
    }
}
