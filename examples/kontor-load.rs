//! kontor-load: drives a kontor over real HTTP and WebSocket exactly as widgets and dashboards
//! do, and reports delivery latency, loss, duplicates and the server's CPU and memory.
//!
//! `cargo run --release --example kontor-load -- --visitors 500 --agents 20 --msg-rate 200
//! --duration 15 --json` starts its own kontor (the release binary next to this example) with
//! a fresh data directory, sets up a tenant, agents and a site through the CLI, and runs the
//! scenario. With `--url` and `--data-dir` it uses a running kontor instead.
//!
//! The kontor it starts serves Prometheus metrics on a loopback listener of its own; during
//! the window they are scraped every second (or those at `--metrics`), and `--check` asks that
//! the message and page-view counters moved.

// The summary is one `json!` object with more fields than the macro's default depth allows.
#![recursion_limit = "256"]

#[path = "common/tenants.rs"]
mod tenants;
#[path = "common/year.rs"]
mod year;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ORIGIN: &str = "https://load.example";
const PASSWORD: &str = "load test password";

#[derive(Parser, Debug, Clone)]
#[command(
    name = "kontor-load",
    about = "Load generator for kontor's real chat path"
)]
struct Args {
    /// Visitor sockets (each one chat)
    #[arg(long, default_value_t = 100)]
    visitors: usize,
    /// Agent sockets (dashboards)
    #[arg(long, default_value_t = 5)]
    agents: usize,
    /// Chat messages per second from all visitors together
    #[arg(long, default_value_t = 50.0)]
    msg_rate: f64,
    /// Seconds of sending
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Use this running kontor (with --data-dir for its CLI) instead of starting one
    #[arg(long)]
    url: Option<String>,
    /// The data directory of the kontor at --url
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// The kontor binary [default: target/release/kontor]
    #[arg(long, default_value = "target/release/kontor")]
    kontor: std::path::PathBuf,
    /// The server's pid for CPU and memory figures (found automatically when started here)
    #[arg(long)]
    pid: Option<u32>,
    /// Page-view reports per second (POST /api/track, as the widget loader sends them);
    /// 0: none. Each simulated visitor reads --pages-per-visitor pages, then a new one comes.
    #[arg(long, default_value_t = 0.0)]
    views_rate: f64,
    /// HTTP keep-alive connections sending page views (async tasks on the generator's
    /// runtime, one request in flight each; threads with --blocking-views)
    #[arg(long, default_value_t = 16)]
    view_clients: usize,
    /// Send page views from one blocking thread per connection (the generator's first
    /// client, kept to compare with earlier figures) instead of async tasks
    #[arg(long)]
    blocking_views: bool,
    /// Pages each simulated visitor reads
    #[arg(long, default_value_t = 5)]
    pages_per_visitor: usize,
    /// Heartbeats (`ping` reports) after each page view, counted in --views-rate
    #[arg(long, default_value_t = 0)]
    pings_per_view: usize,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    /// Visitor reconnects per second (a new socket resuming one of 100 chats, until its first
    /// frame), alongside the held sockets; 0: none
    #[arg(long, default_value_t = 0.0)]
    reconnect_rate: f64,
    /// Exit with status 1 when anything was lost, duplicated or refused, or nothing was
    /// delivered (the CI smoke run)
    #[arg(long)]
    check: bool,
    /// Before the server starts, fill the tenant with a year of synthetic visits of this many
    /// page views (aggregated, as after the statistics job), so statistics requests have work
    #[arg(long, default_value_t = 0)]
    stats_fill: u64,
    /// During the window, an admin asks for 12 months of statistics (`GET /api/stats`) every
    /// this many seconds; 0: never
    #[arg(long, default_value_t = 0.0)]
    stats_every: f64,
    /// The `/metrics` URL of the kontor at --url (one started here has its own)
    #[arg(long)]
    metrics: Option<String>,
    /// Tenants on the server, each with a site (1: the tenant `load`). Visitors and agents
    /// are spread over the first --live-tenants; the others are idle
    #[arg(long, default_value_t = 1)]
    tenants: usize,
    /// Tenants with chats [default: every tenant]
    #[arg(long)]
    live_tenants: Option<usize>,
    /// Page views per second on the idle tenants' sites, one tenant after another, so that
    /// tenants closed for idleness reopen during the window; 0: none
    #[arg(long, default_value_t = 0.0)]
    idle_views_rate: f64,
    /// The started server's `[tenants] idle_close_secs` [default: the server's]
    #[arg(long)]
    idle_close_secs: Option<u64>,
    /// The started server's `[tracking] grace_secs`: how long a visitor counts as on the site
    /// after their last report (and keeps their tenant open) [default: the server's]
    #[arg(long)]
    visitor_grace_secs: Option<u64>,
}

/// The figures of one `/metrics` scrape that show the server working.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
struct Scrape {
    at_s: f64,
    messages_total: f64,
    page_views_total: f64,
    visitor_sockets: f64,
    agent_sockets: f64,
    chats_open: f64,
    hub_queue_depth: f64,
    commits: f64,
    tenants_open: f64,
    hubs_running: f64,
    open_fds: f64,
}

/// Scrapes `/metrics` every second until `until`, as Prometheus would.
fn scrape_metrics(url: &str, until: Instant) -> Vec<Scrape> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let t0 = Instant::now();
    let mut out = Vec::new();
    loop {
        let t = Instant::now();
        match agent
            .get(url)
            .call()
            .map(|mut r| r.body_mut().read_to_string())
        {
            Ok(Ok(text)) => {
                let v = |name: &str| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(f64::NAN)
                };
                out.push(Scrape {
                    at_s: t0.elapsed().as_secs_f64(),
                    messages_total: v("kontor_messages_total"),
                    page_views_total: v("kontor_page_views_total"),
                    visitor_sockets: v("kontor_open_sockets{kind=\"visitor\"}"),
                    agent_sockets: v("kontor_open_sockets{kind=\"agent\"}"),
                    chats_open: v("kontor_chats{state=\"open\"}"),
                    hub_queue_depth: v("kontor_hub_queue_depth"),
                    commits: v("kontor_commit_duration_seconds_count"),
                    tenants_open: v("kontor_tenants_open"),
                    hubs_running: v("kontor_hubs_running"),
                    open_fds: v("process_open_fds"),
                });
            }
            Ok(Err(e)) => eprintln!("kontor-load: reading /metrics failed: {e}"),
            Err(e) => eprintln!("kontor-load: /metrics failed: {e}"),
        }
        if Instant::now() >= until {
            return out;
        }
        std::thread::sleep(Duration::from_secs(1).saturating_sub(t.elapsed()));
    }
}

/// What the page-view senders record.
#[derive(Default)]
struct ViewStats {
    sent: u64,
    ok: u64,
    pings_ok: u64,
    failed: u64,
    latency_ms: Vec<f64>,
}

/// The report number `i` of sender `n`, as the widget loader sends it: its User-Agent (one
/// simulated visitor per `--pages-per-visitor` pages), its JSON body, and whether it is a
/// heartbeat. Shared by both clients, so they send the same work.
fn view_report(args: &Args, n: usize, i: u64, body: &mut String) -> (String, bool) {
    use std::fmt::Write as _;
    let per_page = 1 + args.pings_per_view as u64;
    // Event i: page view number i / per_page, then its heartbeats.
    let view = i / per_page;
    let is_ping = !i.is_multiple_of(per_page);
    let visitor = view / args.pages_per_visitor.max(1) as u64;
    let page = view % args.pages_per_visitor.max(1) as u64;
    let ua = format!("Mozilla/5.0 (X11; Linux x86_64) kontor-load/{n}-{visitor}");
    let pv = ((n as u64) << 40) | view;
    body.clear();
    // Nothing here needs JSON escaping, so the body is written directly.
    let _ = if is_ping {
        write!(body, r#"{{"t":"ping","pv":"{pv:016x}"}}"#)
    } else {
        let referrer = if page == 0 {
            "https://www.google.com/"
        } else {
            ""
        };
        write!(
            body,
            r#"{{"t":"view","pv":"{pv:016x}","url":"https://load.example/p{page}?utm_source=load&id={view}","title":"Page {page}","ref":"{referrer}","lang":"de-DE","screen":"1920x1080"}}"#
        )
    };
    (ua, is_ping)
}

/// Paces a sender to its share of `--views-rate`; far behind, it does not try to catch up with
/// a burst.
fn next_slot(next: &mut Instant, interval: Duration) -> Option<Duration> {
    *next += interval;
    let now = Instant::now();
    if *next > now {
        Some(*next - now)
    } else {
        if now - *next > Duration::from_secs(1) {
            *next = now;
        }
        None
    }
}

/// One page-view sender: a keep-alive HTTP connection reporting page views of a stream of
/// visitors (each with its own User-Agent, so each is a visitor of its own), paced to its
/// share of `--views-rate`. The answer comes after the server's group commit: a 200 means
/// the view is durable. This is the blocking client (`--blocking-views`), one thread each.
fn view_sender(base: String, site: String, n: usize, args: Args, until: Instant) -> ViewStats {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}/api/track?site={site}");
    let interval = Duration::from_secs_f64(args.view_clients as f64 / args.views_rate.max(0.001));
    let mut st = ViewStats::default();
    let mut next = Instant::now();
    let mut i = 0u64;
    let mut body = String::new();
    while Instant::now() < until {
        let (ua, is_ping) = view_report(&args, n, i, &mut body);
        let t = Instant::now();
        st.sent += 1;
        let res = agent
            .post(&url)
            .header("Origin", ORIGIN)
            .header("User-Agent", &ua)
            .header("Content-Type", "text/plain;charset=UTF-8")
            .send(body.as_bytes());
        match res {
            Ok(r) if r.status() == 200 => {
                if is_ping {
                    st.pings_ok += 1;
                } else {
                    st.ok += 1;
                }
                st.latency_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            _ => st.failed += 1,
        }
        i += 1;
        if let Some(wait) = next_slot(&mut next, interval) {
            std::thread::sleep(wait);
        }
    }
    st
}

/// The status and the whole length (head and body) of the HTTP/1.1 response at the start of
/// `buf`, once it is all there; `Err` when it is not one we can frame (no Content-Length,
/// chunked): the connection is then given up and a new one opened.
fn http_response(buf: &[u8]) -> Result<Option<(u16, usize, bool)>, ()> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > 16 * 1024 {
            Err(())
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| ())?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or(())?;
    let mut length = None;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| ())?);
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(());
        }
    }
    let total = head_end + 4 + length.ok_or(())?;
    Ok((buf.len() >= total).then_some((status, total, close)))
}

/// One non-blocking page-view sender: the same reports as [`view_sender`], over one keep-alive
/// HTTP/1.1 connection driven by an async task (one request in flight, no pipelining), so a
/// few threads carry hundreds of connections. Requests are written by hand: the generator
/// must cost as little CPU as it can, since it shares the machine with the server.
async fn view_task(
    addr: std::net::SocketAddr,
    site: String,
    n: usize,
    args: Args,
    until: Instant,
) -> ViewStats {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let interval = Duration::from_secs_f64(args.view_clients as f64 / args.views_rate.max(0.001));
    let mut st = ViewStats::default();
    // Connections start spread over one interval, not all in the same millisecond.
    let mut next = Instant::now() + interval.mul_f64(n as f64 / args.view_clients.max(1) as f64);
    tokio::time::sleep_until(next.into()).await;
    let mut i = 0u64;
    let mut body = String::new();
    let mut req: Vec<u8> = Vec::with_capacity(1024);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut conn: Option<tokio::net::TcpStream> = None;
    while Instant::now() < until {
        let (ua, is_ping) = view_report(&args, n, i, &mut body);
        req.clear();
        let _ = write!(
            req,
            "POST /api/track?site={site} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {ORIGIN}\r\n\
             User-Agent: {ua}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let t = Instant::now();
        st.sent += 1;
        // A server that stops answering fails the report (and the connection) rather than
        // holding the run past its end.
        let answer = tokio::time::timeout(Duration::from_secs(10), async {
            if conn.is_none() {
                let s = tokio::net::TcpStream::connect(addr).await.ok()?;
                // A request must go out at once, as a browser's does (no Nagle delay).
                s.set_nodelay(true).ok()?;
                conn = Some(s);
                buf.clear();
            }
            let s = conn.as_mut()?;
            s.write_all(&req).await.ok()?;
            loop {
                match http_response(&buf) {
                    Ok(Some((status, len, close))) => {
                        buf.drain(..len);
                        return Some((status, close));
                    }
                    Ok(None) => {}
                    Err(()) => return None,
                }
                if s.read_buf(&mut buf).await.ok()? == 0 {
                    return None;
                }
            }
        })
        .await
        .ok()
        .flatten();
        match answer {
            Some((status, close)) => {
                if status == 200 {
                    if is_ping {
                        st.pings_ok += 1;
                    } else {
                        st.ok += 1;
                    }
                    st.latency_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    st.failed += 1;
                }
                if close {
                    conn = None;
                }
            }
            None => {
                st.failed += 1;
                // A broken or unframeable connection is replaced by a new one.
                conn = None;
            }
        }
        i += 1;
        if let Some(wait) = next_slot(&mut next, interval) {
            tokio::time::sleep(wait).await;
        }
    }
    st
}

/// Bytes of the tenants' database files (main file and WAL).
fn tenant_bytes(data_dir: &std::path::Path) -> u64 {
    std::fs::read_dir(data_dir.join("tenants"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// What every task records.
#[derive(Default)]
struct Stats {
    connect_ms: Vec<f64>,
    v2a_ms: Vec<f64>,
    a2v_ms: Vec<f64>,
    sent: u64,
    acked: u64,
    delivered: HashMap<String, u32>,
    replies_sent: u64,
    replies_seen: HashMap<String, u32>,
    errors: u64,
    /// Reconnects: socket open to the first frame after `resume`.
    reconnect_ms: Vec<f64>,
    reconnect_failed: u64,
    reconnect_secs: f64,
    /// Error frames by code.
    error_codes: HashMap<String, u64>,
    /// Chat starts answered `busy` and asked again.
    starts_retried: u64,
    /// Dashboards that the server closed (fell behind) and that came back with `hello`.
    agent_resumes: u64,
}

fn kontor(args: &Args, data_dir: &std::path::Path, cli: &[&str], stdin: Option<&str>) -> Value {
    let mut cmd = Command::new(&args.kontor);
    cmd.arg("--config")
        .arg("/dev/null")
        .arg("--data-dir")
        .arg(data_dir)
        .args(cli)
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("running the kontor CLI");
    if let Some(input) = stdin {
        let _ = child
            .stdin
            .take()
            .map(|mut s| s.write_all(input.as_bytes()));
    }
    let out = child.wait_with_output().expect("kontor CLI");
    assert!(
        out.status.success(),
        "kontor {cli:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Starts kontor; returns it, its address and the milliseconds from spawn to its "ready" line.
fn start_server(args: &Args, data_dir: &std::path::Path) -> (Child, String, f64, Option<String>) {
    // The generator is one host: its page views, its 10,000 widget sockets (over 50 loopback
    // addresses, one site) and their chats, all started in the ramp, would meet the limits
    // meant for one visitor's address. It measures capacity, so they are off.
    let config = data_dir.with_extension("toml");
    let grace = args
        .visitor_grace_secs
        .map(|s| format!("grace_secs = {s}\n"))
        .unwrap_or_default();
    let limits_off = "reports_per_minute = 0\n\n[chat]\nsockets_per_address = 0\n\
        sockets_per_site = 0\nstarts_per_address_per_minute = 0\nstarts_per_site_per_minute = 0\n\
        max_waiting = 0\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n";
    let idle = args
        .idle_close_secs
        .map(|s| format!("\n[tenants]\nidle_close_secs = {s}\n"))
        .unwrap_or_default();
    std::fs::write(&config, format!("[tracking]\n{grace}{limits_off}{idle}"))
        .expect("writing the config");
    let spawned = Instant::now();
    let mut child = Command::new(&args.kontor)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("KONTOR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting kontor");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let metrics = Arc::new(Mutex::new(None));
    let metrics_line = metrics.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // Printed before the ready line.
            if let Some(url) = line.strip_prefix("kontor metrics: listening on ") {
                *metrics_line.lock().unwrap() = Some(url.to_string());
            }
            if let Some(base) = line.strip_prefix("kontor ready: listening on ") {
                let _ = tx.send(base.to_string());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("kontor did not become ready");
    let metrics = metrics.lock().unwrap().clone();
    (
        child,
        base,
        spawned.elapsed().as_secs_f64() * 1000.0,
        metrics,
    )
}

/// Raises the open-file limit as far as allowed: every socket is a file.
fn raise_nofile() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    if let Some(max) = lim.maximum {
        lim.current = Some(max);
        let _ = setrlimit(Resource::Nofile, lim);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(0)
}

/// utime + stime of a process, in clock ticks, and its RSS in kB.
fn proc_usage(pid: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Some((ticks, rss))
}

fn now_us(t0: Instant) -> u128 {
    t0.elapsed().as_micros()
}

/// The id and latency (ms) of a load message, from its text `lt:ID:SENT_US`.
fn marker(body: &str, t0: Instant) -> Option<(&str, f64)> {
    let mut p = body.split(':');
    let (Some("lt"), Some(id), Some(sent)) = (p.next(), p.next(), p.next()) else {
        return None;
    };
    let sent: u128 = sent.parse().unwrap_or(0);
    Some((id, now_us(t0).saturating_sub(sent) as f64 / 1000.0))
}

/// Counts one receipt of message `id`; the first receipt's latency goes into `latencies`.
fn receipt(seen: &mut HashMap<String, u32>, latencies: &mut Vec<f64>, id: &str, lat: f64) {
    let n = seen.entry(id.to_string()).or_insert(0);
    *n += 1;
    if *n == 1 {
        latencies.push(lat);
    }
}

/// Opens a WebSocket from one of several 127.0.0.x source addresses, so that one address's
/// port range does not cap the number of sockets.
async fn connect(
    base: &str,
    path: &str,
    origin: &str,
    cookie: Option<&str>,
    n: usize,
) -> Option<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let url = format!("{}{}", base.replacen("http", "ws", 1), path);
    let mut req = url.into_client_request().ok()?;
    req.headers_mut().insert("Origin", origin.parse().ok()?);
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse().ok()?);
    }
    let host = base.trim_start_matches("http://");
    let addr: std::net::SocketAddr = host.parse().ok()?;
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    let src = std::net::SocketAddr::from(([127, 0, 0, 1 + (n % 50) as u8], 0));
    socket.bind(src).ok()?;
    let stream = socket.connect(addr).await.ok()?;
    // Small frames must go out at once, as a browser's do (no Nagle delay).
    stream.set_nodelay(true).ok()?;
    let (ws, _) = tokio_tungstenite::client_async(req, stream).await.ok()?;
    Some(ws)
}

fn login(base: &str, tenant: &str, email: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut page = agent
        .get(format!("{base}/login"))
        .call()
        .expect("login page");
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("kontor_prelogin="))
        .and_then(|v| v.split(';').next())
        .expect("prelogin cookie")
        .to_string();
    let body = page.body_mut().read_to_string().unwrap_or_default();
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("csrf field") + marker.len();
    let csrf = &body[start..start + 64];
    let res = agent
        .post(format!("{base}/login"))
        .header("Cookie", &cookie)
        .header("Origin", base)
        .send_form([
            ("tenant", tenant),
            ("email", email),
            ("password", PASSWORD),
            ("csrf", csrf),
        ])
        .expect("sign-in");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("kontor_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string()
}

/// Creates the tenant `load` in a stopped server's data directory and fills it with a year of
/// aggregated synthetic visits.
fn fill_tenant(data: &std::path::Path, page_views: u64) {
    let store = kontor::store::Store::open(data).expect("opening the data directory");
    let tenant = store
        .create_tenant("load", "load")
        .expect("creating the tenant");
    let db = store.tenant_db(&tenant.uuid).expect("opening the tenant");
    let end = kontor::clock::now().div_euclid(86_400) * 86_400;
    let t = Instant::now();
    year::fill_year(&db, page_views / 5, end).expect("filling the tenant");
    let days = year::settle(&db).expect("aggregating the year");
    eprintln!(
        "kontor-load: filled {page_views} page views and settled {days} days in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Asks for 12 months of statistics every `every` seconds until `until`, as a signed-in admin;
/// returns each request's time in milliseconds.
fn stats_requests(base: &str, cookie: &str, every: f64, until: Instant) -> Vec<f64> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let today = kontor::clock::now().div_euclid(86_400) * 86_400;
    let day = |secs: i64| kontor::clock::rfc3339(secs)[..10].to_string();
    let url = format!(
        "{base}/api/stats?from={}&to={}",
        day(today - 365 * 86_400),
        day(today)
    );
    let mut times = Vec::new();
    while Instant::now() < until {
        let t = Instant::now();
        let res = agent.get(&url).header("Cookie", cookie).call();
        match res {
            Ok(r) if r.status() == 200 => times.push(t.elapsed().as_secs_f64() * 1000.0),
            Ok(r) => eprintln!("kontor-load: statistics answered {}", r.status()),
            Err(e) => eprintln!("kontor-load: statistics failed: {e}"),
        }
        std::thread::sleep(Duration::from_secs_f64(every).saturating_sub(t.elapsed()));
    }
    times
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn agent_task(
    base: String,
    cookie: String,
    n: usize,
    t0: Instant,
    stats: Arc<Mutex<Stats>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    win: Arc<Window>,
) {
    let mut me = 0i64;
    let mut replies = 0u64;
    // Each offered chat is accepted once, as a person clicking "Accept" would.
    let mut asked = std::collections::HashSet::new();
    // What the dashboard holds of each conversation (its last seq) and the log's epoch: a
    // dashboard the server closed (it fell behind) comes back with them, as the real one
    // does, and gets what it missed.
    let mut seen: HashMap<i64, i64> = HashMap::new();
    let mut epoch = Value::Null;
    let mut first = true;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let c = Instant::now();
        let Some(ws) = connect(&base, "/ws/agent", &base, Some(&cookie), n).await else {
            stats.lock().unwrap().errors += 1;
            return;
        };
        {
            let mut s = stats.lock().unwrap();
            match first {
                true => s.connect_ms.push(c.elapsed().as_secs_f64() * 1000.0),
                false => s.agent_resumes += 1,
            }
        }
        let (mut tx, mut rx) = ws.split();
        let held: Vec<Value> = seen.iter().map(|(c, s)| json!([c, s])).collect();
        let hello = json!({"type": "hello", "seen": held, "epoch": epoch});
        let _ = tx.send(Message::text(hello.to_string())).await;
        while let Some(Ok(msg)) = rx.next().await {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            let Message::Text(text) = msg else { continue };
            let Ok(f) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if let (Some("message"), Some(cv), Some(sq)) = (
                f["type"].as_str(),
                f["conversation_id"].as_i64(),
                f["seq"].as_i64(),
            ) {
                let held = seen.entry(cv).or_insert(0);
                *held = (*held).max(sq);
            }
            match f["type"].as_str() {
                Some("ready") => {
                    me = f["agent_id"].as_i64().unwrap_or(0);
                    epoch = f["epoch"].clone();
                    if first {
                        win.agents_ready
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                Some("reset") => {
                    if let Some(cv) = f["conversation_id"].as_i64() {
                        seen.remove(&cv);
                    }
                }
                Some(kind @ ("queue" | "queue_update")) => {
                    let list = if kind == "queue" { "waiting" } else { "upsert" };
                    for w in f[list].as_array().into_iter().flatten() {
                        if w["offered_to"].as_i64() == Some(me)
                            && asked.insert(w["conversation_id"].as_i64())
                        {
                            let id = w["conversation_id"].clone();
                            let _ = tx
                                .send(Message::text(
                                    json!({"type": "accept", "conversation_id": id}).to_string(),
                                ))
                                .await;
                        }
                    }
                }
                Some("message") if f["author"] == "visitor" => {
                    let Some((id, lat)) = f["text"].as_str().and_then(|b| marker(b, t0)) else {
                        continue;
                    };
                    {
                        let s = &mut *stats.lock().unwrap();
                        receipt(&mut s.delivered, &mut s.v2a_ms, id, lat);
                        s.replies_sent += 1;
                    }
                    replies += 1;
                    let conv = f["conversation_id"].clone();
                    let reply = format!("lt:r{n}-{replies}:{}", now_us(t0));
                    let _ = tx
                        .send(Message::text(
                            json!({"type": "message", "conversation_id": conv, "client_id": format!("r{n}-{replies}"), "text": reply})
                                .to_string(),
                        ))
                        .await;
                }
                _ if std::env::var_os("LOADGEN_DEBUG").is_some() && n == 0 => {
                    eprintln!("agent0: {}", &text[..text.len().min(200)])
                }
                _ => {}
            }
        }
        first = false;
        // The dashboard's own pause before it reconnects.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts a chat and returns its token (for the reconnect scenario).
async fn chat_token(base: &str, site: &str, n: usize) -> Option<String> {
    let ws = connect(base, &format!("/ws/visitor?site={site}"), ORIGIN, None, n).await?;
    let (mut tx, mut rx) = ws.split();
    tx.send(Message::text(
        json!({"type": "start", "consent": true, "notice_version": "1"}).to_string(),
    ))
    .await
    .ok()?;
    while let Some(Ok(Message::Text(t))) = rx.next().await {
        let f: Value = serde_json::from_str(&t).ok()?;
        if f["type"] == "welcome" {
            return f["token"].as_str().map(String::from);
        }
    }
    None
}

/// One reconnect as a widget does it after a page change: open the socket, resume the chat
/// from the start (its log is one or two entries), and time until the first frame; then go
/// away again.
async fn reconnect(base: String, site: String, token: String, n: usize, stats: Arc<Mutex<Stats>>) {
    let t = Instant::now();
    let done = async {
        let ws = connect(&base, &format!("/ws/visitor?site={site}"), ORIGIN, None, n).await?;
        let (mut tx, mut rx) = ws.split();
        tx.send(Message::text(
            json!({"type": "resume", "token": token, "last_seq": 0}).to_string(),
        ))
        .await
        .ok()?;
        match rx.next().await {
            Some(Ok(Message::Text(_))) => {
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                let _ = tx.send(Message::Close(None)).await;
                Some(ms)
            }
            _ => None,
        }
    };
    let ms = tokio::time::timeout(Duration::from_secs(10), done)
        .await
        .ok()
        .flatten();
    let mut s = stats.lock().unwrap();
    match ms {
        Some(ms) => s.reconnect_ms.push(ms),
        None => s.reconnect_failed += 1,
    }
}

/// The measured period: it starts once every visitor's chat is open (connecting 10,000
/// sockets is a ramp, reported as connect times, not mixed into delivery latency).
#[derive(Default)]
struct Window {
    ready: std::sync::atomic::AtomicUsize,
    /// Agents whose socket said `ready`: visitors start once all have (or after 30 s).
    agents_ready: std::sync::atomic::AtomicUsize,
    start: std::sync::OnceLock<Instant>,
}

#[allow(clippy::too_many_arguments)]
async fn visitor_task(
    base: String,
    site: String,
    n: usize,
    interval: Duration,
    duration: Duration,
    win: Arc<Window>,
    t0: Instant,
    stats: Arc<Mutex<Stats>>,
) {
    let c = Instant::now();
    let Some(ws) = connect(&base, &format!("/ws/visitor?site={site}"), ORIGIN, None, n).await
    else {
        stats.lock().unwrap().errors += 1;
        return;
    };
    stats
        .lock()
        .unwrap()
        .connect_ms
        .push(c.elapsed().as_secs_f64() * 1000.0);
    let (mut tx, mut rx) = ws.split();
    let _ = tx
        .send(Message::text(
            json!({"type": "start", "consent": true, "notice_version": "1"}).to_string(),
        ))
        .await;
    // Send only once an agent has the chat, so latency is delivery, not queueing. Visitors
    // are spread over the interval (as independent people are), not all sending at once.
    let mut open = false;
    let phase = interval.mul_f64((n as f64 * 0.618_034).fract());
    let mut next: Option<Instant> = None;
    let mut k = 0u64;
    loop {
        // Before the window opens, look again every 50 ms.
        let (until, drain_until) = match win.start.get() {
            Some(start) => (
                *start + duration,
                *start + duration + Duration::from_secs(3),
            ),
            None => {
                let later = Instant::now() + Duration::from_secs(3600);
                (later, later)
            }
        };
        if next.is_none()
            && let Some(start) = win.start.get()
        {
            next = Some(*start + phase);
        }
        if Instant::now() >= drain_until {
            break;
        }
        let wait = match next {
            Some(at) if open && Instant::now() < until => {
                at.saturating_duration_since(Instant::now())
            }
            None => Duration::from_millis(50),
            _ => drain_until.saturating_duration_since(Instant::now()),
        };
        tokio::select! {
            msg = rx.next() => {
                let Some(Ok(Message::Text(text))) = msg else {
                    if msg.is_none() { break } else { continue }
                };
                let Ok(f) = serde_json::from_str::<Value>(&text) else { continue };
                match f["type"].as_str() {
                    Some("agent") => {
                        if !open {
                            win.ready.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        open = true;
                    }
                    Some("ack") => stats.lock().unwrap().acked += 1,
                    // A start the server could not queue (`busy`: its back-pressure while
                    // thousands connect at once) is asked again a moment later, as the widget
                    // does; counted apart, not as an error.
                    Some("error") if !open && f["code"] == "busy" => {
                        stats.lock().unwrap().starts_retried += 1;
                        tokio::time::sleep(Duration::from_millis(100 + (n as u64 * 37) % 400)).await;
                        let start = json!({"type": "start", "consent": true, "notice_version": "1"});
                        let _ = tx.send(Message::text(start.to_string())).await;
                    }
                    Some("error") => {
                        let mut st = stats.lock().unwrap();
                        st.errors += 1;
                        *st.error_codes.entry(f["code"].as_str().unwrap_or("?").to_string()).or_insert(0) += 1;
                    }
                    Some("message") if f["author"] == "agent" => {
                        if let Some((id, lat)) = f["text"].as_str().and_then(|b| marker(b, t0)) {
                            let s = &mut *stats.lock().unwrap();
                            receipt(&mut s.replies_seen, &mut s.a2v_ms, id, lat);
                        }
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep(wait) => {
                let Some(at) = next else { continue };
                if open && Instant::now() < until && Instant::now() >= at {
                    k += 1;
                    let id = format!("v{n}-{k}");
                    let text = format!("lt:{id}:{}", now_us(t0));
                    if tx.send(Message::text(json!({"type": "message", "client_id": id, "text": text}).to_string())).await.is_err() {
                        break;
                    }
                    stats.lock().unwrap().sent += 1;
                    next = Some(at + interval);
                }
            }
        }
    }
}

fn main() {
    let args = Args::parse();
    let nofile = raise_nofile();
    let work = tempfile::tempdir().expect("temp dir");
    let mut startup_ms = None;
    let mut metrics_url = args.metrics.clone();
    let (server, base, data_dir) = match (&args.url, &args.data_dir) {
        (Some(u), Some(d)) => (None, u.clone(), d.clone()),
        (Some(_), None) => panic!("--url needs --data-dir (for the CLI that sets up the tenant)"),
        _ => {
            let d = work.path().join("data");
            kontor(&args, &d, &["init"], None);
            if args.stats_fill > 0 {
                fill_tenant(&d, args.stats_fill);
            }
            let (child, base, ms, metrics) = start_server(&args, &d);
            startup_ms = Some(ms);
            metrics_url = metrics;
            (Some(child), base, d)
        }
    };
    let pid = args
        .pid
        .map(|p| p.to_string())
        .or_else(|| server.as_ref().map(|c| c.id().to_string()));
    // Memory of the idle server, before any tenant or socket exists.
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss_mb = pid
        .as_deref()
        .and_then(proc_usage)
        .map(|(_, kb)| kb as f64 / 1024.0);

    // The tenants, each with a site, and the agents (capacity for their share of the chats),
    // via the CLI.
    let first = tenants::slug(0, args.tenants);
    let plan = tenants::Plan {
        tenants: args.tenants.max(1),
        live: args.live_tenants.unwrap_or(args.tenants).max(1),
        agents: args.agents,
        visitors: args.visitors,
        first_exists: args.stats_fill > 0 && args.url.is_none(),
    };
    let cli = |c: &[&str], stdin: Option<&str>| kontor(&args, &data_dir, c, stdin);
    let setup = tenants::create(&plan, ORIGIN, PASSWORD, &cli);
    let stats_cookie = (args.stats_every > 0.0).then(|| {
        let email = "stats@load.example";
        cli(
            &[
                "agent",
                "add",
                &first,
                email,
                "--name",
                "Stats",
                "--role",
                "admin",
                "--password-stdin",
            ],
            Some(PASSWORD),
        );
        login(&base, &first, email)
    });
    let site = setup.live_sites[0].clone();
    let cookies: Vec<String> = setup
        .agents
        .iter()
        .map(|(tenant, email)| login(&base, tenant, email))
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stats = Arc::new(Mutex::new(Stats::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let win = Arc::new(Window::default());
    let ramp_s = Arc::new(Mutex::new(0.0f64));
    let t0 = Instant::now();
    // CPU is counted from the window's start (after the ramp) when there is one.
    let usage_at = Arc::new(Mutex::new((
        pid.as_deref().and_then(proc_usage),
        proc_usage("self"),
        Instant::now(),
    )));
    let bytes_before = tenant_bytes(&data_dir);
    let started = Instant::now();
    let stats_thread: Mutex<Option<std::thread::JoinHandle<Vec<f64>>>> = Mutex::new(None);
    let scrape_thread: Mutex<Option<std::thread::JoinHandle<Vec<Scrape>>>> = Mutex::new(None);
    let idle_thread: Mutex<Option<std::thread::JoinHandle<tenants::IdleViews>>> = Mutex::new(None);
    let views_until =
        Instant::now() + Duration::from_secs(args.duration) + Duration::from_millis(500);
    let view_threads: Vec<std::thread::JoinHandle<ViewStats>> =
        if args.views_rate > 0.0 && args.blocking_views {
            (0..args.view_clients.max(1))
                .map(|n| {
                    let (b, s, a) = (base.clone(), site.clone(), args.clone());
                    std::thread::spawn(move || view_sender(b, s, n, a, views_until))
                })
                .collect()
        } else {
            Vec::new()
        };
    let view_tasks: Vec<tokio::task::JoinHandle<ViewStats>> =
        if args.views_rate > 0.0 && !args.blocking_views {
            let addr: std::net::SocketAddr = base
                .trim_start_matches("http://")
                .parse()
                .expect("the kontor's address (http://IP:PORT)");
            (0..args.view_clients.max(1))
                .map(|n| rt.spawn(view_task(addr, site.clone(), n, args.clone(), views_until)))
                .collect()
        } else {
            Vec::new()
        };
    rt.block_on(async {
        let mut agents = Vec::new();
        for (n, cookie) in cookies.into_iter().enumerate() {
            agents.push(tokio::spawn(agent_task(
                base.clone(),
                cookie,
                n,
                t0,
                stats.clone(),
                stop.clone(),
                win.clone(),
            )));
        }
        // Every dashboard is in before the visitors come: 10,000 widgets connecting at once
        // fill the hub's queue, and a dashboard refused `busy` then would be missing all run.
        let agents_in = Instant::now();
        while win.agents_ready.load(std::sync::atomic::Ordering::Relaxed) < agents.len()
            && agents_in.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let per_visitor = args.msg_rate / args.visitors.max(1) as f64;
        let interval = Duration::from_secs_f64(1.0 / per_visitor.max(0.001));
        let duration = Duration::from_secs(args.duration);
        let mut visitors = Vec::new();
        for n in 0..args.visitors {
            visitors.push(tokio::spawn(visitor_task(
                base.clone(),
                setup.live_sites[n % setup.live_sites.len()].clone(),
                n,
                interval,
                duration,
                win.clone(),
                t0,
                stats.clone(),
            )));
        }
        // The ramp: every visitor connected, started a chat and has an agent (at most 120 s).
        let ramp = Instant::now();
        while win.ready.load(std::sync::atomic::Ordering::Relaxed) < args.visitors
            && ramp.elapsed() < Duration::from_secs(120)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        *ramp_s.lock().unwrap() = ramp.elapsed().as_secs_f64();
        if args.visitors > 0 {
            *usage_at.lock().unwrap() = (
                pid.as_deref().and_then(proc_usage),
                proc_usage("self"),
                Instant::now(),
            );
        }
        let _ = win.start.set(Instant::now());
        let until = Instant::now() + duration;
        if args.idle_views_rate > 0.0 {
            let (b, sites, rate) = (base.clone(), setup.idle_sites.clone(), args.idle_views_rate);
            *idle_thread.lock().unwrap() = Some(std::thread::spawn(move || {
                tenants::idle_views(&b, &sites, ORIGIN, rate, until)
            }));
        }
        if let Some(url) = metrics_url.clone() {
            *scrape_thread.lock().unwrap() =
                Some(std::thread::spawn(move || scrape_metrics(&url, until)));
        }
        if let Some(cookie) = stats_cookie.clone() {
            let (b, every) = (base.clone(), args.stats_every);
            *stats_thread.lock().unwrap() = Some(std::thread::spawn(move || {
                stats_requests(&b, &cookie, every, until)
            }));
        }
        if args.reconnect_rate > 0.0 {
            let mut tokens = Vec::new();
            for i in 0..100 {
                if let Some(t) = chat_token(&base, &site, args.visitors + i).await {
                    tokens.push(t);
                }
            }
            // Timers tick at most every millisecond: start as many reconnects per tick as the
            // rate asks for by then.
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let begun = Instant::now();
            let mut i = 0usize;
            let mut running = Vec::new();
            while Instant::now() < until && !tokens.is_empty() {
                tick.tick().await;
                let due = (begun.elapsed().as_secs_f64() * args.reconnect_rate) as usize;
                while i < due {
                    let token = tokens[i % tokens.len()].clone();
                    running.push(tokio::spawn(reconnect(
                        base.clone(),
                        site.clone(),
                        token,
                        i,
                        stats.clone(),
                    )));
                    i += 1;
                }
            }
            stats.lock().unwrap().reconnect_secs = begun.elapsed().as_secs_f64();
            for r in running {
                let _ = r.await;
            }
        }
        for v in visitors {
            let _ = v.await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for a in agents {
            a.abort();
        }
    });
    let mut views = ViewStats::default();
    let task_views = rt.block_on(async {
        let mut done = Vec::new();
        for t in view_tasks {
            done.extend(t.await.ok());
        }
        done
    });
    let thread_views = view_threads.into_iter().filter_map(|t| t.join().ok());
    for v in thread_views.chain(task_views) {
        views.sent += v.sent;
        views.ok += v.ok;
        views.pings_ok += v.pings_ok;
        views.failed += v.failed;
        views.latency_ms.extend(v.latency_ms);
    }
    views
        .latency_ms
        .sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let elapsed = started.elapsed().as_secs_f64();
    let (before_server, before_self, measured_from) = *usage_at.lock().unwrap();
    let cpu_secs = measured_from.elapsed().as_secs_f64();
    let after_server = pid.as_deref().and_then(proc_usage);
    let after_self = proc_usage("self");
    let cpu = |b: Option<(u64, u64)>, a: Option<(u64, u64)>| match (b, a) {
        (Some((t0, _)), Some((t1, _))) => (t1 - t0) as f64 / 100.0 / cpu_secs * 100.0,
        _ => 0.0,
    };
    let server_cpu = cpu(before_server, after_server);
    let self_cpu = cpu(before_self, after_self);
    let rss_mb = after_server
        .map(|(_, kb)| kb as f64 / 1024.0)
        .unwrap_or(0.0);

    let s = stats.lock().unwrap();
    let mut v2a = s.v2a_ms.clone();
    let mut a2v = s.a2v_ms.clone();
    let mut both: Vec<f64> = v2a.iter().chain(a2v.iter()).copied().collect();
    let mut connect = s.connect_ms.clone();
    let mut reconnects = s.reconnect_ms.clone();
    for v in [&mut v2a, &mut a2v, &mut both, &mut connect, &mut reconnects] {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    }
    let delivered = s.delivered.len() as u64;
    let duplicated = s.delivered.values().filter(|n| **n > 1).count() as u64
        + s.replies_seen.values().filter(|n| **n > 1).count() as u64;
    let lost = s.acked.saturating_sub(delivered);
    let summary = json!({
        "visitors": args.visitors,
        "agents": args.agents,
        "duration_s": args.duration,
        "target_msg_rate": args.msg_rate,
        "achieved_msg_rate": s.sent as f64 / args.duration as f64,
        "sent": s.sent,
        "acked": s.acked,
        "delivered": delivered,
        "lost": lost,
        "duplicated": duplicated,
        "replies": s.replies_sent,
        "replies_delivered": s.replies_seen.len(),
        "errors": s.errors,
        "error_codes": s.error_codes,
        "starts_retried": s.starts_retried,
        "agent_resumes": s.agent_resumes,
        "p50_ms": percentile(&both, 0.50),
        "p95_ms": percentile(&both, 0.95),
        "p99_ms": percentile(&both, 0.99),
        "p999_ms": percentile(&both, 0.999),
        "visitor_to_agent": {"p50_ms": percentile(&v2a, 0.5), "p99_ms": percentile(&v2a, 0.99), "p999_ms": percentile(&v2a, 0.999)},
        "agent_to_visitor": {"p50_ms": percentile(&a2v, 0.5), "p99_ms": percentile(&a2v, 0.99), "p999_ms": percentile(&a2v, 0.999)},
        "connect_p50_ms": percentile(&connect, 0.5),
        "connect_p99_ms": percentile(&connect, 0.99),
        "server_cpu_pct": server_cpu,
        "server_rss_mb": rss_mb,
        "loadgen_cpu_pct": self_cpu,
        "open_files_limit": nofile,
        "ramp_s": *ramp_s.lock().unwrap(),
        "visitors_ready": win.ready.load(std::sync::atomic::Ordering::Relaxed),
        "startup_ms": startup_ms,
        "idle_rss_mb": idle_rss_mb,
        "reconnects": reconnects.len(),
        "reconnects_per_s": reconnects.len() as f64 / s.reconnect_secs.max(0.001),
        "reconnects_failed": s.reconnect_failed,
        "reconnect_p50_ms": percentile(&reconnects, 0.5),
        "reconnect_p99_ms": percentile(&reconnects, 0.99),
        "track_reports_sent": views.sent,
        "views_stored": views.ok,
        "views_failed": views.failed,
        "views_per_s": views.ok as f64 / elapsed,
        "view_p50_ms": percentile(&views.latency_ms, 0.5),
        "view_p99_ms": percentile(&views.latency_ms, 0.99),
    });
    drop(s);
    let mut summary = summary;
    if let Some(t) = stats_thread.into_inner().unwrap() {
        let mut ms = t.join().unwrap_or_default();
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        summary["stats_requests"] = json!(ms.len());
        summary["stats_p50_ms"] = json!(percentile(&ms, 0.5));
        summary["stats_max_ms"] = json!(ms.last().copied().unwrap_or(0.0));
    }
    let scrapes = scrape_thread
        .into_inner()
        .unwrap()
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    if let (Some(first), Some(last)) = (scrapes.first(), scrapes.last()) {
        summary["metrics"] = json!({
            "scrapes": scrapes.len(),
            "first": first,
            "last": last,
            "messages_per_s": (last.messages_total - first.messages_total)
                / (last.at_s - first.at_s).max(0.001),
            "page_views_per_s": (last.page_views_total - first.page_views_total)
                / (last.at_s - first.at_s).max(0.001),
            "max_hub_queue_depth": scrapes.iter().map(|s| s.hub_queue_depth).fold(0.0, f64::max),
            "max_tenants_open": scrapes.iter().map(|s| s.tenants_open).fold(0.0, f64::max),
            "max_hubs_running": scrapes.iter().map(|s| s.hubs_running).fold(0.0, f64::max),
            "max_open_fds": scrapes.iter().map(|s| s.open_fds).fold(0.0, f64::max),
        });
    }
    summary["tenants"] = json!(plan.tenants);
    summary["live_tenants"] = json!(setup.live_sites.len());
    let idle = idle_thread
        .into_inner()
        .unwrap()
        .and_then(|t| t.join().ok());
    let idle_failed = idle.as_ref().map_or(0, |v| v.failed);
    if let Some(v) = idle {
        summary["idle_tenant_views"] = v.summary();
    }
    summary["stats_fill_page_views"] = json!(args.stats_fill);
    summary["view_client"] = json!(if args.blocking_views {
        "blocking"
    } else {
        "async"
    });
    summary["pings_stored"] = json!(views.pings_ok);
    summary["track_events_per_s"] = json!((views.ok + views.pings_ok) as f64 / elapsed);
    // The server's CPU time per 1,000 stored reports (views and heartbeats), in milliseconds:
    // what a change to the ingest path costs or saves, whatever rate the run reached.
    let reports = views.ok + views.pings_ok;
    if reports > 0 {
        let server_cpu_ms = server_cpu / 100.0 * cpu_secs * 1000.0;
        summary["server_cpu_ms_per_1000_views"] = json!(server_cpu_ms / reports as f64 * 1000.0);
        let self_cpu_ms = self_cpu / 100.0 * cpu_secs * 1000.0;
        summary["loadgen_cpu_ms_per_1000_views"] = json!(self_cpu_ms / reports as f64 * 1000.0);
    }
    let stopped_here = server.is_some();
    if let Some(mut child) = server {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    // On-disk cost of a page view: the tenant files' growth (after the server checkpointed
    // its WAL on stop) over the stored views, visits and pages included.
    if views.ok > 0 {
        let grown = tenant_bytes(&data_dir).saturating_sub(bytes_before);
        summary["bytes_per_view"] = json!(grown as f64 / views.ok as f64);
        summary["bytes_measured_after_stop"] = json!(stopped_here);
    }
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    }
    if args.check {
        let n = |k: &str| summary[k].as_u64().unwrap_or(0);
        let mut failures = Vec::new();
        for k in [
            "lost",
            "duplicated",
            "errors",
            "views_failed",
            "reconnects_failed",
        ] {
            if n(k) > 0 {
                failures.push(format!("{k} = {}", n(k)));
            }
        }
        if args.visitors > 0
            && args.msg_rate > 0.0
            && (n("delivered") == 0 || n("replies_delivered") == 0)
        {
            failures.push("no message was delivered".into());
        }
        if idle_failed > 0 {
            failures.push(format!("idle tenants' views failed = {idle_failed}"));
        }
        if args.views_rate > 0.0 && n("views_stored") == 0 {
            failures.push("no page view was stored".into());
        }
        // What `curl /metrics` shows during the run must move with it.
        if metrics_url.is_some() {
            let m = &summary["metrics"];
            let moved = |k: &str| m[k].as_f64().is_some_and(|r| r > 0.0);
            if m["scrapes"].as_u64().unwrap_or(0) < 2 {
                failures.push("/metrics was not scraped during the run".into());
            } else {
                if args.msg_rate > 0.0 && args.visitors > 0 && !moved("messages_per_s") {
                    failures.push("kontor_messages_total did not move".into());
                }
                if args.views_rate > 0.0 && !moved("page_views_per_s") {
                    failures.push("kontor_page_views_total did not move".into());
                }
                if args.visitors > 0 && m["last"]["visitor_sockets"].as_f64() < Some(1.0) {
                    failures.push("kontor_open_sockets shows no visitor".into());
                }
            }
        }
        if !failures.is_empty() {
            eprintln!("kontor-load: check failed: {}", failures.join(", "));
            std::process::exit(1);
        }
        eprintln!("kontor-load: check passed");
    }
}
