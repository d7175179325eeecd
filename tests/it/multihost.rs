//! Beyond one host (issue 23, part 6): three kontor servers behind Debian's HAProxy, run with
//! the shipped `packaging/haproxy/kontor.cfg` (only its addresses and paths replaced) and a map
//! made of each host's `kontor placement export`. A tenant's visitors and agents chat through
//! the proxy (the clients of `crash_delivery.rs`: resume from their last seq, retry with the
//! same client id, every frame checked) while the tenant moves from host 1 to host 2:
//! `tenant move-out` on host 1 (drain, final export), `tenant import` on the running host 2,
//! the route flipped through HAProxy's admin socket. Afterwards the log on host 2 holds every
//! acknowledged message once, both sides of every chat hold exactly that log, and every client
//! came back through the proxy to host 2. The real widget and dashboard (headless Chromium)
//! come back the same way. Bad input to the move is refused with nothing changed, and a drain
//! can be cancelled.

use crate::chat::{SHOP, setup, with_bob};
use crate::common::{Browser, Kontor, Ws, wait_until};
use crate::crash_delivery::{AbortOnDrop, Client, Rng, Shared, clients, server_log, verify};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HAPROXY: &str = "/usr/sbin/haproxy";
const PASSPHRASE: &str = "correct horse battery staple";
/// Chats during the move; the first half is Ann's, the second Bob's.
const VISITORS: usize = 4;

/// A free port on 127.0.0.1 (HAProxy cannot be told to take port 0 and say which it got).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running HAProxy, killed on drop.
struct Haproxy {
    child: Child,
    base: String,
    admin: PathBuf,
    map: PathBuf,
    log: PathBuf,
}

impl Haproxy {
    /// Runs the shipped configuration in front of `hosts` (the bases of kontor 1, 2 and 3) on
    /// `port`, with `map` as its map file, in `dir`.
    fn start(dir: &Path, port: u16, map: &str, hosts: [&str; 3]) -> Haproxy {
        assert!(
            Path::new(HAPROXY).exists(),
            "{HAPROXY} is missing: this test needs Debian's HAProxy (apt-get install haproxy)"
        );
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/haproxy/kontor.cfg"),
        )
        .unwrap();
        let admin = dir.join("admin.sock");
        let map_file = dir.join("kontor.map");
        std::fs::write(&map_file, map).unwrap();
        let mut cfg = template;
        let mut replace = |from: &str, to: &str| {
            assert!(cfg.contains(from), "kontor.cfg no longer holds {from:?}");
            cfg = cfg.replace(from, to);
        };
        // No syslog here; the test's own admin socket, port and map.
        replace("    log /dev/log local0\n", "");
        replace("/run/haproxy/admin.sock", admin.to_str().unwrap());
        replace(
            "bind :443 ssl crt /etc/haproxy/chat.example.pem alpn http/1.1",
            &format!("bind 127.0.0.1:{port}"),
        );
        replace("/etc/haproxy/kontor.map", map_file.to_str().unwrap());
        for (i, host) in hosts.iter().enumerate() {
            let addr = host.strip_prefix("http://").unwrap();
            replace(&format!("10.0.0.{}:8080", i + 1), addr);
        }
        let cfg_file = dir.join("haproxy.cfg");
        std::fs::write(&cfg_file, cfg).unwrap();
        let log = dir.join("haproxy.log");
        let check = Command::new(HAPROXY)
            .args(["-c", "-q", "-f"])
            .arg(&cfg_file)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "haproxy -c: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        // -db: in the foreground, so the test owns the process.
        let child = Command::new(HAPROXY)
            .arg("-db")
            .arg("-f")
            .arg(&cfg_file)
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .unwrap();
        let hap = Haproxy {
            child,
            base: format!("http://127.0.0.1:{port}"),
            admin,
            map: map_file,
            log,
        };
        let mut probe = Browser::new(&hap.base);
        wait_until(
            &format!("haproxy did not come up: {}", hap.log()),
            Duration::from_secs(10),
            || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && probe.get("/healthz").status == 200
            },
        );
        hap
    }

    /// One command on the admin socket (HAProxy's runtime API); its answer.
    fn admin(&self, command: &str) -> String {
        let mut s = std::os::unix::net::UnixStream::connect(&self.admin).unwrap();
        s.write_all(format!("{command}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Sessions a backend's server has had in all (`stot` of `show stat`).
    fn sessions(&self, backend: &str, server: &str) -> u64 {
        let stat = self.admin("show stat");
        stat.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f.len() > 7 && f[0] == backend && f[1] == server)
            .and_then(|f| f[7].parse().ok())
            .unwrap_or_else(|| panic!("no {backend}/{server} in show stat:\n{stat}"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each host's `placement export` into a file of its own, then all of them together: the
/// proxy's map, as docs/scale-out.md tells operators to make it.
fn placement(dir: &Path, hosts: &[(&Kontor, &str)]) -> String {
    let mut map = String::new();
    for &(k, backend) in hosts {
        let part = dir.join(format!("{backend}.map"));
        let out = k.ok(&[
            "placement",
            "export",
            "--backend",
            backend,
            "--out",
            part.to_str().unwrap(),
        ]);
        assert!(out.contains("keys written"), "{out}");
        map.push_str(&std::fs::read_to_string(&part).unwrap());
    }
    map
}

#[test]
fn a_tenant_moves_between_hosts_behind_haproxy_while_its_chats_run() {
    let started = Instant::now();
    let seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Rng::new(seed);
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let env = [("KONTOR_PUBLIC_URL", public.as_str())];

    // acme lives on host 1; host 3 holds another tenant; host 2 none yet.
    let (k1, pw, site) = setup();
    with_bob(&k1, &pw);
    let k2 = Kontor::new();
    k2.ok(&["init"]);
    let k3 = Kontor::new();
    k3.ok(&["init"]);
    k3.ok(&["tenant", "create", "other"]);
    let other_site = k3.json(&["site", "add", "other", "--origin", "https://other.example"]);
    let s1 = k1.server_with_env(&env);
    let s2 = k2.server_with_env(&env);
    let s3 = k3.server_with_env(&env);
    let dir = tempfile::tempdir().unwrap();
    let map = placement(
        dir.path(),
        &[(&k1, "kontor_h1"), (&k2, "kontor_h2"), (&k3, "kontor_h3")],
    );
    assert!(map.contains(&format!("site:{site} kontor_h1\n")), "{map}");
    assert!(map.contains("tenant:acme kontor_h1\n"), "{map}");
    assert!(map.contains("tenant:other kontor_h3\n"), "{map}");
    let hap = Haproxy::start(dir.path(), port, &map, [&s1.base, &s2.base, &s3.base]);
    // The other tenant's widget reaches host 3 (host 1 does not know its site).
    let config = format!(
        "/api/widget/config?site={}",
        other_site["site_key"].as_str().unwrap()
    );
    let widget_config = |base: &str| {
        let mut b = Browser::new(base);
        b.headers = vec![("Origin".into(), "https://other.example".into())];
        b.get(&config).status
    };
    assert_eq!(widget_config(&hap.base), 200);
    assert_eq!(widget_config(&s1.base), 404);

    // Agents sign in through the proxy (the form's tenant routes the POST), visitors start
    // chats through it, and the agents accept them.
    let mut agents: Vec<(&str, Browser)> =
        [("Ann", "ann@acme.example"), ("Bob", "bob@acme.example")]
            .into_iter()
            .map(|(name, email)| {
                let mut b = Browser::new(&hap.base);
                let res = b.login("acme", email, &pw);
                assert_eq!(res.status, 303, "{}", res.body);
                (name, b)
            })
            .collect();
    let mut dashboards: Vec<Ws> = agents
        .iter()
        .map(|(_, b)| {
            let mut ws = Ws::agent(b);
            ws.send(json!({"type": "hello"}));
            ws.recv_type("ready");
            ws
        })
        .collect();
    let chats: Vec<(i64, String)> = (0..VISITORS)
        .map(|i| {
            let mut ws = Ws::visitor(&hap.base, &site, SHOP).unwrap();
            ws.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": format!("V{i}"), "lang": "de"}));
            let w = ws.recv_type("welcome");
            (
                w["conversation_id"].as_i64().unwrap(),
                w["token"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let owner = |i: usize| i * agents.len() / VISITORS;
    for (i, (conv, _)) in chats.iter().enumerate() {
        let ws = &mut dashboards[owner(i)];
        ws.send(json!({"type": "accept", "conversation_id": conv}));
        loop {
            let f = ws.recv();
            assert_ne!(f["type"], "error", "accepting {conv}: {f}");
            if f["type"] == "conversation" && f["conversation_id"] == *conv {
                break;
            }
        }
    }
    drop(dashboards);

    let (clients, owned) = clients(&site, chats, &agents, owner, &mut rng);
    let shared = Arc::new(Shared::new(clients.len()).patient());
    let _abort = AbortOnDrop(shared.clone());
    shared.up(&hap.base);
    let threads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let sh = shared.clone();
            std::thread::spawn(move || c.run(i, &sh))
        })
        .collect();
    assert!(
        shared.wait_acks(40, "before the move"),
        "{:?}",
        shared.failures()
    );

    // The move, while the clients keep sending. Host 1 drains the tenant and writes the
    // final export; its sockets close, and it refuses the tenant meanwhile.
    let file = dir.path().join("acme.kontor-move");
    let drain_started = Instant::now();
    let out = k1.ok_stdin(
        &[
            "tenant",
            "move-out",
            "acme",
            "--out",
            file.to_str().unwrap(),
        ],
        PASSPHRASE,
    );
    assert!(out.contains("acme is drained here"), "{out}");
    let moved_out = Instant::now();
    let held = agents[0].1.get("/api/session");
    assert_eq!(held.status, 503, "{}", held.body);
    assert_eq!(held.json()["error"]["code"], "tenant_moving");
    assert_eq!(held.header("retry-after"), Some("2"));
    // Host 2, running, imports it (re-wrapping its key under host 2's master key) and
    // serves it at once; then the route flips, key by key, without a reload.
    let out = k2.ok_stdin(&["tenant", "import", file.to_str().unwrap()], PASSPHRASE);
    assert!(out.contains("tenant acme imported"), "{out}");
    let commands = k2.ok(&[
        "placement",
        "export",
        "--tenant",
        "acme",
        "--backend",
        "kontor_h2",
        "--runtime",
        hap.map.to_str().unwrap(),
    ]);
    assert!(
        commands.contains(&format!(
            "set map {} site:{site} kontor_h2",
            hap.map.display()
        )),
        "{commands}"
    );
    for line in commands.lines() {
        let answer = hap.admin(line);
        assert!(answer.trim().is_empty(), "{line}: {answer}");
    }
    let held_back = drain_started.elapsed();
    // Counts acknowledgements anew: what follows came through the new route.
    shared.up(&hap.base);
    let moved = shared.wait_acks(40, "after the move");

    let mut logs = BTreeMap::new();
    if moved && shared.drain() {
        for ((_, b), convs) in agents.iter_mut().zip(&owned) {
            for conv in convs {
                logs.insert(*conv, server_log(b, *conv));
            }
        }
        shared.sync(
            logs.iter()
                .map(|(c, l)| (*c, l.last().map_or(0, |(s, _)| *s)))
                .collect(),
        );
    }
    let clients: Vec<Client> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let failures = shared.failures();
    let states: Vec<String> = clients.iter().map(Client::state).collect();
    assert!(
        failures.is_empty(),
        "{}\n\nclients:\n{}\n\nhaproxy:\n{}",
        failures.join("\n\n"),
        states.join("\n"),
        hap.log()
    );
    verify(&clients, &logs);
    // Every client was welcomed again after host 1 let the tenant go: by host 2 through the
    // proxy (host 1 refuses the tenant since the drain, host 3 never had it).
    for c in &clients {
        assert!(
            c.last_welcome.is_some_and(|t| t > moved_out),
            "{} did not come back after the move",
            c.name
        );
    }
    assert!(
        hap.sessions("kontor_h2", "h2") >= clients.len() as u64,
        "{}",
        hap.admin("show stat")
    );
    // The agents' sign-ins moved along: host 2 answers them directly, host 1 refuses.
    let mut direct = Browser::new(&s2.base);
    direct.cookies = agents[0].1.cookies.clone();
    assert_eq!(direct.get("/api/session").status, 200);
    let mut source = Browser::new(&s1.base);
    source.cookies = agents[0].1.cookies.clone();
    assert_eq!(source.get("/api/session").status, 503);

    // A sign-in names its tenant in the form: three in a row reach host 2 (the default
    // backend would have sent some to hosts 1 and 3, which refuse it).
    for _ in 0..3 {
        let res = Browser::new(&hap.base).login("acme", "ann@acme.example", &pw);
        assert_eq!(res.status, 303, "{}", res.body);
    }
    // The other doors find host 2 too: a set-up link (its path names the tenant's uuid), an
    // API token (Bearer kt_UUID_…) and the site's status badge (its path names the site).
    let out = k2.ok(&["agent", "reset-link", "acme", "bob@acme.example"]);
    let url = out.lines().find(|l| l.contains("/setup/")).unwrap().trim();
    let setup_page = Browser::new(&hap.base).get(&url[url.find("/setup/").unwrap()..]);
    assert_eq!(setup_page.status, 200, "{}", setup_page.body);
    let token = k2.json(&[
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
    let mut api = Browser::new(&hap.base);
    api.headers = vec![("Authorization".into(), format!("Bearer {token}"))];
    let listed = api.get("/api/v1/conversations");
    assert_eq!(listed.status, 200, "{}", listed.body);
    let status = format!("/api/status/{site}");
    assert_eq!(Browser::new(&hap.base).get(&status).status, 200);
    // (Host 1 answers for the tenant no more; host 3 does not know the site.)
    assert_eq!(Browser::new(&s1.base).get(&status).status, 503);
    assert_eq!(Browser::new(&s3.base).get(&status).status, 404);

    // Host 1 ends the move by deleting its copy; its map no longer names the tenant.
    k1.ok(&["tenant", "delete", "acme", "--yes"]);
    let rest = k1.ok(&["placement", "export", "--backend", "kontor_h1"]);
    assert!(!rest.contains("acme") && !rest.contains(&site), "{rest}");
    let acked: usize = logs.values().map(Vec::len).sum();
    eprintln!(
        "multihost: {acked} log entries in {} chats, all on host 2 and on both sides once; \
         connects held back for {:.1} s (drain to route flip); {:.1} s in all",
        logs.len(),
        held_back.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    drop(s3);
}

#[test]
fn a_move_refuses_bad_input_changes_nothing_and_can_be_cancelled() {
    let (k1, pw, site) = setup();
    let s1 = k1.server(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.kontor-move");
    let file_arg = file.to_str().unwrap();
    let (mut ann, mut ws) = crate::chat::agent(&s1, &pw);

    // Unknown tenant, short passphrase, nowhere to write: refused, nothing drained.
    let err = k1.fails_stdin(
        &["tenant", "move-out", "nobody", "--out", file_arg],
        PASSPHRASE,
    );
    assert!(err.contains("nobody"), "{err}");
    let err = k1.fails_stdin(&["tenant", "move-out", "acme", "--out", file_arg], "short");
    assert!(err.contains("12 characters"), "{err}");
    let err = k1.fails_stdin(
        &[
            "tenant",
            "move-out",
            "acme",
            "--out",
            "/nonexistent/dir/acme.move",
        ],
        PASSPHRASE,
    );
    assert!(err.contains("no directory"), "{err}");
    assert!(!file.exists());
    assert_eq!(ann.get("/api/session").status, 200);
    let err = k1.fails(&["tenant", "move-cancel", "acme"]);
    assert!(err.contains("not moving"), "{err}");
    let err = k1.fails(&["placement", "export", "--backend", "bad name"]);
    assert!(err.contains("backend"), "{err}");
    // Without --backend: this host's name.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let named = k1.json(&["placement", "export"]);
    assert_eq!(
        named["backend"].as_str().unwrap(),
        format!(
            "kontor_{}",
            host.trim().replace(
                |c: char| !c.is_ascii_alphanumeric() && !"-_.:".contains(c),
                "_"
            )
        )
    );

    // Drained: the socket closes, requests get 503, nothing of acme is routed here.
    k1.ok_stdin(
        &["tenant", "move-out", "acme", "--out", file_arg],
        PASSPHRASE,
    );
    assert_eq!(ws.close_code(), Some(1013), "closed with \"try again\"");
    assert_eq!(ann.get("/api/session").status, 503);
    assert_eq!(
        Ws::agent_from(&ann, &s1.base.clone()).err(),
        Some(503),
        "the dashboard socket is refused while the tenant moves"
    );
    assert_eq!(
        Ws::visitor(&s1.base, &site, crate::chat::SHOP).err(),
        Some(503)
    );
    let err = k1.fails(&["tenant", "show", "acme"]);
    assert!(err.contains("moving to another host"), "{err}");
    let map = k1.ok(&["placement", "export", "--backend", "kontor_h1"]);
    assert!(!map.contains("acme"), "{map}");
    let err = k1.fails(&[
        "placement",
        "export",
        "--backend",
        "kontor_h1",
        "--tenant",
        "acme",
    ]);
    assert!(err.contains("moving away"), "{err}");
    // The doctor reminds of the move's last step.
    let doctor = String::from_utf8(k1.run(&["doctor"]).stdout).unwrap();
    assert!(
        doctor.contains("drained for a move") && doctor.contains("tenant delete acme"),
        "{doctor}"
    );
    // A restart keeps the drain (it is recorded, not only in memory).
    let mut s1 = s1;
    s1.stop();
    let s1 = k1.server(&[]);
    ann.base = s1.base.clone();
    assert_eq!(ann.get("/api/session").status, 503);

    // The target: a wrong passphrase creates nothing; the right one imports once.
    let k2 = Kontor::new();
    k2.ok(&["init"]);
    let err = k2.fails_stdin(
        &["tenant", "import", file_arg],
        "wrong horse battery staple",
    );
    assert!(err.contains("wrong passphrase"), "{err}");
    assert_eq!(k2.json(&["tenant", "list"])["tenants"], json!([]));
    k2.ok_stdin(&["tenant", "import", file_arg], PASSPHRASE);
    let err = k2.fails_stdin(&["tenant", "import", file_arg], PASSPHRASE);
    assert!(err.contains("exists already"), "{err}");
    // The agent's sign-in moved with it.
    let s2 = k2.server(&[]);
    let mut moved = Browser::new(&s2.base);
    moved.cookies = ann.cookies.clone();
    assert_eq!(moved.get("/api/session").status, 200);

    // Aborted before the route flips: the source serves the tenant again, as it was.
    k1.ok(&["tenant", "move-cancel", "acme"]);
    assert_eq!(ann.get("/api/session").status, 200);
    let mut ws = Ws::agent(&ann);
    ws.send(json!({"type": "hello"}));
    ws.recv_type("ready");
    assert!(
        k1.ok(&["placement", "export", "--backend", "kontor_h1"])
            .contains("tenant:acme")
    );
    let trail = k1.json(&["audit", "list", "acme", "--action", "tenant.move"]);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["tenant.move_cancel", "tenant.move_out"],
        "{trail}"
    );
    drop(s2);
}

/// Moves `acme` from host 1 to host 2 as an operator would (drain and export, import, flip
/// the route through the admin socket); returns the lines sent to HAProxy.
fn move_acme(k1: &Kontor, k2: &Kontor, hap: &Haproxy, dir: &Path) -> Vec<String> {
    let file = dir.join("acme.kontor-move");
    let file = file.to_str().unwrap();
    k1.ok_stdin(&["tenant", "move-out", "acme", "--out", file], PASSPHRASE);
    k2.ok_stdin(&["tenant", "import", file], PASSPHRASE);
    let commands = k2.ok(&[
        "placement",
        "export",
        "--tenant",
        "acme",
        "--backend",
        "kontor_h2",
        "--runtime",
        hap.map.to_str().unwrap(),
    ]);
    for line in commands.lines() {
        let answer = hap.admin(line);
        assert!(answer.trim().is_empty(), "{line}: {answer}");
    }
    commands.lines().map(String::from).collect()
}

/// The same move under the real widget (on a shop's page) and the real dashboard in headless
/// Chromium, everything through the proxy: both come back by themselves after the move, the
/// chat goes on in both directions, and nothing shows twice.
#[test]
fn the_real_widget_and_dashboard_come_back_through_haproxy_after_a_move() {
    use crate::browser::{open_widget, shop, shop_site, sign_in};
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let env = [("KONTOR_PUBLIC_URL", public.as_str())];
    let (k1, pw) = Kontor::with_tenant();
    let (shop_port, shop_origin, key) = shop_site(&k1);
    let k2 = Kontor::new();
    k2.ok(&["init"]);
    let s1 = k1.server_with_env(&env);
    let s2 = k2.server_with_env(&env);
    let dir = tempfile::tempdir().unwrap();
    let map = placement(dir.path(), &[(&k1, "kontor_h1"), (&k2, "kontor_h2")]);
    // Two hosts: the configuration's third backend is host 2 again.
    let hap = Haproxy::start(dir.path(), port, &map, [&s1.base, &s2.base, &s2.base]);
    shop(
        shop_port,
        format!(
            "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
             <script src=\"{public}/widget.js\" data-site=\"{key}\" async></script></body></html>"
        ),
    );

    let driver = crate::webdriver::Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &public, &pw);
    let visitor = driver.browser();
    open_widget(&visitor, &format!("{shop_origin}/"));
    visitor.wait_until(
        "the start form is shown",
        "return !document.getElementById('v-start').hidden",
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    visitor.type_text(&visitor.find("#msg"), "Before the move, from Vera");
    visitor.click(&visitor.find_xpath("//button[normalize-space()='Send']"));
    agent.click(&agent.find_xpath("//button[normalize-space()='Accept']"));
    agent.wait_until(
        "the visitor's message",
        "return document.body.innerText.includes('Before the move, from Vera')",
    );
    agent.type_text(&agent.find("#reply-text"), "Before the move, from Ann");
    agent.press(&["\u{E007}"]);
    let log_has =
        |text: &str| format!("return document.getElementById('log').innerText.includes({text:?})");
    visitor.wait_until("the agent's reply", &log_has("Before the move, from Ann"));

    move_acme(&k1, &k2, &hap, dir.path());

    // Both pages reconnect by themselves (host 1 refuses the tenant, the route now names
    // host 2) and resume; what each writes now reaches the other.
    agent.type_text(&agent.find("#reply-text"), "After the move, from Ann");
    agent.press(&["\u{E007}"]);
    visitor.wait_until(
        "the reply after the move",
        &log_has("After the move, from Ann"),
    );
    visitor.type_text(&visitor.find("#msg"), "After the move, from Vera");
    visitor.click(&visitor.find_xpath("//button[normalize-space()='Send']"));
    agent.wait_until(
        "the visitor's message after the move",
        "return document.body.innerText.includes('After the move, from Vera')",
    );
    // The widget shows each entry once (the resume brought nothing twice).
    for text in [
        "Before the move, from Vera",
        "Before the move, from Ann",
        "After the move, from Ann",
        "After the move, from Vera",
    ] {
        assert_eq!(
            visitor.exec(&format!(
                "return document.getElementById('log').innerText.split({text:?}).length - 1"
            )),
            json!(1),
            "{text}"
        );
    }
    assert!(
        hap.sessions("kontor_h2", "h2") >= 2,
        "{}",
        hap.admin("show stat")
    );
    // Host 2 holds the whole chat once.
    drop((visitor, agent));
    let mut s2 = s2;
    assert_eq!(s2.stop(), Some(0));
    let store = kontor::store::Store::open(&k2.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let bodies: Vec<String> = db
        .with(|c| {
            let mut q = c.prepare(
                "SELECT body FROM messages WHERE author IN ('visitor', 'agent') ORDER BY seq",
            )?;
            let rows = q.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .unwrap();
    assert_eq!(
        bodies,
        [
            "Before the move, from Vera",
            "Before the move, from Ann",
            "After the move, from Ann",
            "After the move, from Vera"
        ]
    );
}
