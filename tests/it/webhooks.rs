//! Signed webhooks through the real server and a real receiver (`tests/tools/webhook_receiver.py`,
//! Python's http.server): each event delivered once with a signature checked here with ring,
//! independently of kontor's code; a delivery surviving `kill -9` and arriving once after the
//! restart; retries with backoff; the SSRF guard at saving and at delivering; receivers that
//! hang, redirect, answer slowly or send 10 MB cut off while the server keeps answering.

use crate::chat::{SHOP, agent, say, setup, visitor};
use crate::common::{Browser, Kontor, Server, wait_until, within};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PYTHON: &str = "/usr/bin/python3";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/tools/webhook_receiver.py"
);
const WAIT: Duration = Duration::from_secs(15);
const ALL_EVENTS: [&str; 7] = [
    "chat.started",
    "chat.accepted",
    "chat.closed",
    "message.created",
    "offline_message.created",
    "goal.reached",
    "visitor.rated",
];

/// The test receiver: a Python process that logs every request it gets.
pub(crate) struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
    _state: tempfile::TempDir,
}

impl Receiver {
    /// Starts a receiver on `port` (a free one if 0), logging into `log` (its own if `None`).
    fn start_on(port: u16, log: Option<PathBuf>) -> Receiver {
        let state = tempfile::tempdir().unwrap();
        let port_file = state.path().join("port");
        let log = log.unwrap_or_else(|| state.path().join("requests.jsonl"));
        let child = Command::new(PYTHON)
            .arg(SCRIPT)
            .arg("--port")
            .arg(port.to_string())
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the webhook receiver");
        let mut r = Receiver {
            child,
            port: 0,
            log,
            _state: state,
        };
        wait_until("the receiver listens", WAIT, || {
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
                .map(|p| r.port = p)
                .is_some()
        });
        r
    }

    pub(crate) fn start() -> Receiver {
        Receiver::start_on(0, None)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far.
    pub(crate) fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until at least `n` requests arrived; all of them.
    pub(crate) fn wait_for(&self, n: usize) -> Vec<Value> {
        let mut got = Vec::new();
        let ok = within(WAIT, || {
            got = self.requests();
            got.len() >= n
        });
        assert!(ok, "{} of {n} requests arrived: {got:#?}", got.len());
        got
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// kontor's config: plain http and the loopback address allowed (the receiver runs here).
pub(crate) fn allow_loopback(k: &Kontor) {
    std::fs::write(
        k.config_file(),
        "[webhooks]\nallow_http_hosts = [\"127.0.0.1\", \"localhost\"]\n\
         allow_networks = [\"127.0.0.1/32\", \"::1/128\"]\n",
    )
    .unwrap();
}

fn admin(server: &Server, pw: &str) -> Browser {
    Browser::signed_in(&server.base, "ann@acme.example", pw)
}

/// Saves an endpoint; its id and secret.
fn endpoint(a: &mut Browser, url: &str, events: &[&str]) -> (i64, String) {
    let r = a.post_json("/api/webhooks", &json!({"url": url, "events": events}));
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    (
        v["endpoint"]["id"].as_i64().unwrap(),
        v["secret"].as_str().unwrap().to_string(),
    )
}

fn deliveries(a: &mut Browser, endpoint: i64) -> Vec<Value> {
    let r = a.get(&format!("/api/webhooks/deliveries?endpoint={endpoint}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["deliveries"].as_array().cloned().unwrap()
}

/// Waits until the endpoint's newest delivery satisfies `ok`; returns it.
fn newest_where(a: &mut Browser, endpoint: i64, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let found = within(WAIT, || {
        last = deliveries(a, endpoint)
            .first()
            .cloned()
            .unwrap_or(Value::Null);
        ok(&last)
    });
    assert!(found, "the newest delivery is {last}");
    last
}

fn test_event(a: &mut Browser, endpoint: i64) {
    let r = a.post_json(&format!("/api/webhooks/{endpoint}/test"), &json!({}));
    assert_eq!(r.status, 202, "{}", r.body);
}

/// Checks a request's signature as a receiver would, with the Standard Webhooks scheme:
/// HMAC-SHA256 over `{id}.{timestamp}.{body}` under the base64-decoded secret.
pub(crate) fn assert_signed(req: &Value, secret: &str) {
    let h = &req["headers"];
    let id = h["webhook-id"].as_str().expect("Webhook-Id");
    let ts = h["webhook-timestamp"].as_str().expect("Webhook-Timestamp");
    let sigs = h["webhook-signature"].as_str().expect("Webhook-Signature");
    let body = req["body"].as_str().unwrap();
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let ok = sigs.split(' ').any(|s| {
        s.strip_prefix("v1,")
            .and_then(|b| B64.decode(b).ok())
            .is_some_and(|tag| {
                ring::hmac::verify(&key, format!("{id}.{ts}.{body}").as_bytes(), &tag).is_ok()
            })
    });
    assert!(ok, "bad signature on {req}");
    assert_eq!(h["content-type"], "application/json");
    let stamp: i64 = ts.parse().unwrap();
    assert!(
        (stamp - kontor::clock::now()).abs() < 600,
        "timestamp {stamp}"
    );
}

fn body(req: &Value) -> Value {
    serde_json::from_str(req["body"].as_str().unwrap()).unwrap()
}

fn leave_offline(server: &Server, site: &str) {
    let mut b = Browser::new(&server.base);
    b.headers.retain(|(k, _)| k != "Origin");
    b.headers.push(("Origin".into(), SHOP.into()));
    let r = b.post_json(
        "/api/widget/offline",
        &json!({"site": site, "name": "Olga", "email": "olga@example.org",
                "message": "Bitte um Rückruf", "consent": true, "lang": "de"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

fn track(server: &Server, site: &str, body: Value) {
    let mut b = Browser::new(&server.base);
    let r = b.post_bytes(
        &format!("/api/track?site={site}"),
        &[("Origin", SHOP), ("User-Agent", "Mozilla/5.0 webhook test")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn each_event_is_delivered_once_with_a_valid_signature() {
    let rx = Receiver::start();
    let (k, pw, site) = setup();
    allow_loopback(&k);
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let (_, secret) = endpoint(&mut a, &rx.url("/ok"), &ALL_EVENTS);
    let r = a.post_json("/api/goals", &json!({"name": "signup", "value": 10.0}));
    assert_eq!(r.status, 201, "{}", r.body);

    let (_b, mut ag) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    say(&mut v, None, "v1", "Hallo, ich habe eine Frage");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    while ag.recv_type("conversation")["status"] != "open" {}
    say(&mut ag, Some(conv), "a1", "Gern, was denn?");
    ag.send(json!({"type": "close", "conversation_id": conv}));
    v.recv_type("conversation");
    v.send(json!({"type": "rate", "score": 5, "comment": "Danke"}));
    v.recv_type("rated");
    leave_offline(&server, &site);
    track(
        &server,
        &site,
        json!({"t": "view", "pv": "c000000000000001", "url": "https://shop.example/"}),
    );
    track(
        &server,
        &site,
        json!({"t": "goal", "pv": "c000000000000001", "name": "signup"}),
    );

    // Two messages (the visitor's and the agent's), one of every other event.
    let got = rx.wait_for(8);
    std::thread::sleep(Duration::from_millis(1500));
    let got_after = rx.requests();
    assert_eq!(got_after.len(), 8, "{got_after:#?}");
    let mut by_type: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for req in &got {
        assert_signed(req, &secret);
        let b = body(req);
        by_type
            .entry(b["type"].as_str().unwrap().to_string())
            .or_default()
            .push(b);
    }
    let counts: BTreeMap<&str, usize> =
        by_type.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
    let mut expected: BTreeMap<&str, usize> = ALL_EVENTS.iter().map(|e| (*e, 1)).collect();
    expected.insert("message.created", 2);
    assert_eq!(counts, expected);
    let ids: std::collections::BTreeSet<&str> = got
        .iter()
        .map(|r| r["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 8, "every delivery has its own Webhook-Id");
    // What each event says.
    assert_eq!(by_type["chat.started"][0]["data"]["conversation_id"], conv);
    assert_eq!(
        by_type["chat.started"][0]["data"]["visitor"]["name"],
        "Vera"
    );
    let texts: Vec<&str> = by_type["message.created"]
        .iter()
        .map(|m| m["data"]["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Hallo, ich habe eine Frage") && texts.contains(&"Gern, was denn?"));
    assert_eq!(by_type["visitor.rated"][0]["data"]["score"], 5);
    assert_eq!(
        by_type["offline_message.created"][0]["data"]["email"],
        "olga@example.org"
    );
    assert_eq!(by_type["goal.reached"][0]["data"]["value_cents"], 1000);
    assert!(
        by_type["chat.closed"][0]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[test]
fn a_delivery_queued_before_a_kill_9_arrives_once_after_the_restart() {
    // The receiver is down when the event happens: the first try fails and the delivery waits.
    let mut rx = Receiver::start();
    let (port, log) = (rx.port, rx.log.clone());
    rx.stop();
    let (k, pw, site) = setup();
    allow_loopback(&k);
    let mut server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let (hook, secret) = endpoint(
        &mut a,
        &format!("http://127.0.0.1:{port}/ok"),
        &["chat.started"],
    );
    let (_v, conv, _) = visitor(&server, &site, "Kim");
    let waiting = newest_where(&mut a, hook, |d| d["attempts"] == 1);
    assert_eq!(waiting["state"], "queued");
    assert!(
        waiting["answer"].as_str().unwrap().contains("connection"),
        "{waiting}"
    );
    server.kill9();

    let rx = Receiver::start_on(port, Some(log));
    let server = k.server(&[]);
    k.advance_clock(Duration::from_secs(61));
    let got = rx.wait_for(1);
    assert_signed(&got[0], &secret);
    assert_eq!(body(&got[0])["data"]["conversation_id"], conv);
    let mut a = admin(&server, &pw);
    let sent = newest_where(&mut a, hook, |d| d["state"] == "sent");
    assert_eq!(sent["attempts"], 2);
    assert_eq!(sent["status"], 204);
    assert_eq!(sent["msg_id"], got[0]["headers"]["webhook-id"]);
    k.advance_clock(Duration::from_secs(3600));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(rx.requests().len(), 1, "delivered once");
}

#[test]
fn a_failing_receiver_is_tried_again_with_backoff_until_it_answers() {
    let rx = Receiver::start();
    let (k, pw, _) = setup();
    allow_loopback(&k);
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let (hook, secret) = endpoint(&mut a, &rx.url("/fail"), &["chat.closed"]);
    test_event(&mut a, hook);
    let first = newest_where(&mut a, hook, |d| d["attempts"] == 1);
    assert_eq!(first["state"], "queued");
    assert_eq!(first["status"], 500);
    assert!(
        first["answer"].as_str().unwrap().contains("busy"),
        "{first}"
    );
    let wait = first["next_at"].as_i64().unwrap() - first["created_at"].as_i64().unwrap();
    assert!((60..=62).contains(&wait), "first wait {wait}");
    // The backlog shows on /healthz for monitoring.
    let queued = |b: &mut Browser| b.get("/healthz").json()["webhooks"]["queued"].clone();
    let ten = Duration::from_secs(10);
    assert!(crate::common::within(ten, || queued(&mut a) == 1));
    k.advance_clock(Duration::from_secs(61));
    let second = newest_where(&mut a, hook, |d| d["attempts"] == 2);
    let wait = second["next_at"].as_i64().unwrap() - first["next_at"].as_i64().unwrap();
    assert!((119..=125).contains(&wait), "second wait {wait}");
    // The receiver is mended: the next try gets through, with the same Webhook-Id.
    let r = a.put_json(
        &format!("/api/webhooks/{hook}"),
        &json!({"url": rx.url("/ok"), "events": ["chat.closed"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    k.advance_clock(Duration::from_secs(125));
    let sent = newest_where(&mut a, hook, |d| d["state"] == "sent");
    assert_eq!(sent["attempts"], 3);
    assert!(crate::common::within(ten, || queued(&mut a) == 0));
    let got = rx.wait_for(3);
    let ids: std::collections::BTreeSet<&str> = got
        .iter()
        .map(|r| r["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one message id over every retry");
    assert_eq!(body(&got[2])["type"], "webhook.test");
    assert_signed(&got[2], &secret);
}

/// Saving `url` without the operator's allow list is refused with 400.
fn refused_when_saved(url: &str) {
    let (k, pw, _) = setup();
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let r = a.post_json(
        "/api/webhooks",
        &json!({"url": url, "events": ["chat.started"]}),
    );
    assert_eq!(r.status, 400, "{url}: {}", r.body);
    assert!(
        r.body.contains("not allowed") || r.body.contains("https://"),
        "{url}: {}",
        r.body
    );
    assert!(
        a.get("/api/webhooks").json()["endpoints"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn ssrf_guard_refuses_loopback() {
    refused_when_saved("https://127.0.0.1/");
    refused_when_saved("https://[::1]/");
    // The same address written as one hex number.
    refused_when_saved("https://0x7f000001/");
}

#[test]
fn ssrf_guard_refuses_a_private_address() {
    refused_when_saved("http://10.0.0.1");
    refused_when_saved("https://10.0.0.1/");
}

#[test]
fn ssrf_guard_refuses_link_local_and_the_metadata_address() {
    refused_when_saved("https://169.254.169.254");
    refused_when_saved("https://[fe80::1]");
}

#[test]
fn ssrf_guard_refuses_an_ipv4_mapped_loopback_address() {
    refused_when_saved("https://[::ffff:127.0.0.1]/");
}

#[test]
fn ssrf_guard_refuses_a_name_that_resolves_to_loopback_when_delivering() {
    // Saved while the operator allowed loopback; then the allowance is gone (as if the name's
    // address changed since): the delivery is refused at connecting, never sent.
    let rx = Receiver::start();
    let (k, pw, _) = setup();
    allow_loopback(&k);
    let mut server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let url = format!("http://localhost:{}/ok", rx.port);
    let (hook, _) = endpoint(&mut a, &url, &["chat.started"]);
    server.kill9();
    std::fs::write(
        k.config_file(),
        "[webhooks]\nallow_http_hosts = [\"localhost\"]\n",
    )
    .unwrap();
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    // Saving it now is refused too.
    let r = a.post_json(
        "/api/webhooks",
        &json!({"url": url, "events": ["chat.started"]}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    test_event(&mut a, hook);
    let d = newest_where(&mut a, hook, |d| d["attempts"] == 1);
    assert_eq!(d["state"], "queued");
    assert!(d["answer"].as_str().unwrap().contains("loopback"), "{d}");
    assert!(rx.requests().is_empty());
}

#[test]
fn hanging_redirecting_slow_and_huge_receivers_are_cut_off() {
    let rx = Receiver::start();
    let (k, pw, _) = setup();
    allow_loopback(&k);
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let hooks: Vec<(&str, i64)> = ["/hang", "/redirect", "/slow", "/big"]
        .into_iter()
        .map(|p| (p, endpoint(&mut a, &rx.url(p), &["chat.started"]).0))
        .collect();
    let started = Instant::now();
    for (_, h) in &hooks {
        test_event(&mut a, *h);
    }
    // The server answers at once while the sender waits on receivers.
    let t = Instant::now();
    assert_eq!(a.get("/api/webhooks").status, 200);
    assert!(t.elapsed() < Duration::from_secs(2));
    let mut outcome = BTreeMap::new();
    for (path, h) in &hooks {
        let d = newest_where(&mut a, *h, |d| d["attempts"] == 1);
        outcome.insert(*path, d);
    }
    // Two five-second cut-offs, not twenty seconds of a slow answer or an hour of a hang.
    assert!(
        started.elapsed() < Duration::from_secs(18),
        "{:?}",
        started.elapsed()
    );
    for p in ["/hang", "/slow"] {
        let d = &outcome[p];
        assert_eq!(d["state"], "queued", "{p}: {d}");
        assert!(
            d["answer"].as_str().unwrap().contains("5 seconds"),
            "{p}: {d}"
        );
    }
    let redirect = &outcome["/redirect"];
    assert_eq!(redirect["state"], "queued");
    assert_eq!(redirect["status"], 302);
    assert!(
        redirect["answer"]
            .as_str()
            .unwrap()
            .contains("not followed")
    );
    let big = &outcome["/big"];
    assert_eq!(big["status"], 200);
    assert!(big["answer"].as_str().unwrap().contains("cut off"), "{big}");
    assert!(big["answer"].as_str().unwrap().len() < 1000);
    // The redirect was not followed.
    assert!(rx.requests().iter().all(|r| r["path"] != "/ok"));
}

#[test]
fn endpoints_are_managed_by_settings_managers_and_their_secret_is_shown_once() {
    let rx = Receiver::start();
    let (k, pw, _) = setup();
    crate::chat::with_bob(&k, &pw);
    allow_loopback(&k);
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let (hook, secret) = endpoint(&mut a, &rx.url("/ok"), &["chat.started", "chat.closed"]);
    assert!(secret.starts_with("whsec_"));
    let list = a.get("/api/webhooks");
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains(&secret),
        "the list never shows the secret"
    );
    let v = list.json();
    assert_eq!(v["events"].as_array().unwrap().len(), 7);
    assert_eq!(
        v["endpoints"][0]["events"],
        json!(["chat.closed", "chat.started"])
    );
    // Unknown events and no events are refused.
    for events in [json!(["chat.nope"]), json!([])] {
        let r = a.post_json(
            "/api/webhooks",
            &json!({"url": rx.url("/ok"), "events": events}),
        );
        assert_eq!(r.status, 400, "{}", r.body);
    }
    // A rotated secret signs what follows.
    let r = a.post_json(&format!("/api/webhooks/{hook}/secret"), &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let rotated = r.json()["secret"].as_str().unwrap().to_string();
    assert_ne!(rotated, secret);
    test_event(&mut a, hook);
    let got = rx.wait_for(1);
    assert_signed(&got[0], &rotated);
    let d = newest_where(&mut a, hook, |d| d["state"] == "sent");
    assert_eq!(d["event"], "webhook.test");
    // Bob (an agent) may neither see nor change them.
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get("/api/webhooks").status, 403);
    let r = bob.post_json(
        "/api/webhooks",
        &json!({"url": rx.url("/ok"), "events": ["chat.started"]}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        bob.post_json(&format!("/api/webhooks/{hook}/test"), &json!({}))
            .status,
        403
    );
    // Deleted with its log; the changes are audited, no secret in the trail.
    assert_eq!(a.delete(&format!("/api/webhooks/{hook}")).status, 204);
    assert_eq!(a.delete(&format!("/api/webhooks/{hook}")).status, 404);
    assert!(deliveries(&mut a, hook).is_empty());
    let audit = k.ok(&["audit", "list", "acme"]);
    for action in [
        "webhook.create",
        "webhook.rotate",
        "webhook.test",
        "webhook.delete",
    ] {
        assert!(audit.contains(action), "{action} not audited:\n{audit}");
    }
    assert!(!audit.contains(&rotated) && !audit.contains(&secret));
}

/// An answer sent through the public API with a token is an agent's message like any other:
/// the receiver hears `message.created` once, signed, naming the token's agent.
#[test]
fn an_answer_through_the_api_is_announced_like_one_from_the_dashboard() {
    let rx = Receiver::start();
    let (k, pw, site) = setup();
    allow_loopback(&k);
    let token = k.json(&[
        "token",
        "create",
        "acme",
        "--name",
        "crm",
        "--agent",
        "ann@acme.example",
        "--permissions",
        "chat",
    ])["token"]
        .as_str()
        .unwrap()
        .to_string();
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let (_, secret) = endpoint(&mut a, &rx.url("/ok"), &["message.created"]);
    let ann_id = a.agent_id("ann@acme.example");
    let (_b, mut ag) = agent(&server, &pw);
    let (_v, conv, _) = visitor(&server, &site, "Vera");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    while ag.recv_type("conversation")["status"] != "open" {}
    let mut api = Browser::new(&server.base);
    api.headers = vec![("Authorization".into(), format!("Bearer {token}"))];
    let r = api.post_json(
        &format!("/api/v1/conversations/{conv}/messages"),
        &json!({"text": "Ihr Paket kommt morgen", "client_id": "crm-1"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let got = rx.wait_for(1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rx.requests().len(), 1);
    assert_signed(&got[0], &secret);
    let data = &body(&got[0])["data"];
    assert_eq!(data["text"], "Ihr Paket kommt morgen");
    assert_eq!(
        (data["author"].as_str(), data["agent_id"].as_i64()),
        (Some("agent"), Some(ann_id))
    );
    assert_eq!(data["conversation_id"], conv);
}
