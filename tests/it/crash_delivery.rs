//! Delivery across `kill -9` (issue 13): the server is killed again and again while six
//! visitors and two agents chat. Every client reconnects and resumes as `docs/protocol.md`
//! says (the widget with `resume` and its last contiguous seq, the dashboard with `hello` and
//! `seen`, both with the `epoch` they were given) and retries what was not acknowledged with
//! the same `client_id`; now and then a client also drops its socket by itself, and a
//! dashboard is slow to send `hello`. Every frame is checked as it arrives: each client
//! receives each conversation's log in order, each seq exactly once (its own messages from
//! their `ack`), with no gap, and nothing live before `hello`. At the end both sides of every
//! chat, and a fresh dashboard of each agent, hold exactly the server's log (HTTP API), and
//! that log holds every acknowledged message once, at the seq of its `ack`.
//!
//! `cargo test` (and so `.ci/run`) runs 10 cycles (a few seconds). The long run, 30 and more:
//! `KONTOR_KILL_CYCLES=40 cargo test --test it crash_delivery -- --nocapture` (about a third of
//! a second a cycle). `KONTOR_KILL_SEED` repeats a run's random choices (kill points, bursts,
//! drops); each run prints its seed, and a failure names it with the frames the client saw.

use crate::chat::{SHOP, setup, visitor, with_bob};
use crate::common::{Browser, Ws};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;

type Sock = tungstenite::WebSocket<MaybeTlsStream<TcpStream>>;

/// Chats under load; the first half is Ann's, the second Bob's (capacity 3 each).
const VISITORS: usize = 6;
/// Kill cycles of the default run (`KONTOR_KILL_CYCLES` sets another number).
const DEFAULT_CYCLES: usize = 10;
/// Messages a client may have sent and not yet seen acknowledged.
const IN_FLIGHT: usize = 6;
/// A client sends bursts of 1 to `IN_FLIGHT` messages (so that a kill finds many in flight),
/// the next this long after the last plus up to as much again: on average about 14 frames/s
/// per socket, under the server's limit of 20/s with bursts of 40.
const SEND_EVERY_MS: u64 = 170;
/// How long anything that should happen may take before the run counts as stuck.
const PATIENCE: Duration = Duration::from_secs(30);
/// Frames each client remembers for a report.
const RECENT: usize = 40;
/// Now and then a client drops its socket by itself (a network change) and resumes from a
/// server that stayed up, under live traffic: about once in this many frames it receives.
const DROP_ONE_IN: u64 = 150;
/// A dashboard that is slow to send `hello` (one connection in four) waits up to this long
/// first; the server must send it nothing live meanwhile.
const SLOW_HELLO_MS: u64 = 150;

#[test]
fn every_acknowledged_entry_reaches_both_sides_once_in_order_across_kill_9() {
    let cycles: usize = std::env::var("KONTOR_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CYCLES);
    let seed: u64 = std::env::var("KONTOR_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash_delivery: {cycles} kill -9 cycles, KONTOR_KILL_SEED={seed}");
    let mut rng = Rng::new(seed);

    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let mut server = k.server(&[]);
    let mut agents: Vec<(&str, Browser)> =
        [("Ann", "ann@acme.example"), ("Bob", "bob@acme.example")]
            .into_iter()
            .map(|(name, email)| {
                let mut b = Browser::new(&server.base);
                assert_eq!(b.login("acme", email, &pw).status, 303);
                (name, b)
            })
            .collect();

    // Six chats, three accepted by each agent. The sockets of this setup are dropped: the
    // clients below start by resuming from nothing.
    let mut dashboards: Vec<Ws> = agents
        .iter()
        .map(|(_, b)| {
            let mut ws = Ws::agent(b);
            ws.send(json!({"type": "hello"}));
            ws.recv_type("ready");
            ws
        })
        .collect();
    let chats: Vec<(Ws, i64, String)> = (0..VISITORS)
        .map(|i| visitor(&server, &site, &format!("V{i}")))
        .collect();
    let owner = |i: usize| i * agents.len() / VISITORS;
    for (i, (_, conv, _)) in chats.iter().enumerate() {
        let ws = &mut dashboards[owner(i)];
        ws.send(json!({"type": "accept", "conversation_id": conv}));
        loop {
            let f = ws.recv();
            assert_ne!(f["type"], "error", "accepting {conv}: {f}");
            if f["type"] == "conversation" && f["conversation_id"] == *conv {
                assert_eq!(f["status"], "open", "{f}");
                break;
            }
        }
    }
    drop(dashboards);

    // The setup's sockets close here: the clients start by resuming from nothing.
    let chats = chats
        .into_iter()
        .map(|(_, conv, token)| (conv, token))
        .collect();
    let (clients, owned) = clients(&site, chats, &agents, owner, &mut rng);

    let shared = Arc::new(Shared::new(clients.len()));
    let _abort = AbortOnDrop(shared.clone());
    shared.up(&server.base);
    let threads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let sh = shared.clone();
            std::thread::spawn(move || c.run(i, &sh))
        })
        .collect();

    let started = Instant::now();
    let mut kills = 0;
    for cycle in 1..=cycles {
        // Kill after a random number of acknowledgements since the restart: now and then
        // while the clients are still resuming and retrying, mostly in full traffic, always
        // with messages and replays in flight.
        let after = if rng.next().is_multiple_of(4) {
            1 + rng.next() % 3
        } else {
            10 + rng.next() % 70
        };
        if !shared.wait_acks(after, &format!("before kill {cycle}")) {
            break;
        }
        shared.down();
        server.kill9();
        kills += 1;
        server = k.server(&[]);
        shared.up(&server.base);
    }

    // After the last restart: some traffic, then nothing new until everything outstanding is
    // acknowledged; then the server's log, and every client reads up to its end.
    let mut logs: BTreeMap<i64, Vec<(i64, Entry)>> = BTreeMap::new();
    if shared.wait_acks(20, "after the last restart") && shared.drain() {
        for ((_, b), convs) in agents.iter_mut().zip(&owned) {
            b.base = server.base.clone();
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
    let mut clients: Vec<Client> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // A fresh dashboard of each agent (`hello` with nothing seen) gets the whole log of each
    // of the agent's chats, once and in order, like the others.
    if shared.phase().is_some() {
        for ((name, b), convs) in agents.iter().zip(&owned) {
            let mut fresh = Client::new(
                format!("a fresh dashboard of {name}"),
                format!("fresh-{}", name.to_lowercase()),
                Kind::Agent {
                    cookie: cookie_header(b),
                    name: name.to_string(),
                },
                convs,
                rng.next(),
            );
            fresh.generation = kills as u64 + 1;
            match fresh.connect(&server.base, &shared) {
                Ok(mut sock) => {
                    fresh.chat(&mut sock, 0, &shared);
                }
                Err(Stop::Lost(why)) => shared.fail(format!("{}: {why}", fresh.name)),
                Err(_) => {}
            }
            clients.push(fresh);
        }
    }
    let (failures, notes) = {
        let c = shared.lock();
        (c.failures.clone(), c.notes.clone())
    };
    let states: Vec<String> = clients.iter().map(Client::state).collect();
    assert!(
        failures.is_empty(),
        "after {kills} kill -9 (KONTOR_KILL_SEED={seed}):\n{}\n\nclients:\n{}\n\nother disconnects: {notes:?}",
        failures.join("\n\n"),
        states.join("\n")
    );
    verify(&clients, &logs);
    let sum = |f: fn(&Client) -> usize| clients.iter().map(f).sum::<usize>();
    let entries: usize = logs.values().map(Vec::len).sum();
    eprintln!(
        "crash_delivery: {kills} kill -9 and {} dropped sockets in {:.1} s; {} acknowledged messages ({} after a retry: {} already replayed, {} replayed after the ack), {entries} entries in {} chats, all delivered once and in order to both sides; disconnects other than these: {notes:?}",
        sum(|c| c.drops),
        started.elapsed().as_secs_f64(),
        sum(|c| c.acked.len()),
        sum(|c| c.retried),
        sum(|c| c.replayed_first),
        sum(|c| c.replayed_after),
        logs.len()
    );
}

/// The final comparison: the server's log is gap-free and holds every acknowledged message
/// once, with its acknowledged seq; each side of each chat holds exactly that log.
pub(crate) fn verify(clients: &[Client], logs: &BTreeMap<i64, Vec<(i64, Entry)>>) {
    let mut problems = Vec::new();
    for c in clients {
        if !c.pending.is_empty() {
            problems.push(format!(
                "{}: never acknowledged: {:?}",
                c.name,
                c.pending.keys().collect::<Vec<_>>()
            ));
        }
    }
    for (conv, log) in logs {
        let seqs: Vec<i64> = log.iter().map(|(s, _)| *s).collect();
        let want: Vec<i64> = (1..=log.len() as i64).collect();
        if seqs != want {
            problems.push(format!(
                "conv {conv}: the server's log is not 1..n: {seqs:?}"
            ));
        }
        let by_seq: BTreeMap<i64, &Entry> = log.iter().map(|(s, e)| (*s, e)).collect();
        let mut texts = BTreeSet::new();
        for (seq, e) in log {
            if e.author == "auto" {
                // kontor's own queue message (a chat started behind others): nobody sends it.
                if *seq != 1 || !e.text.contains("Warteschlange") {
                    problems.push(format!(
                        "conv {conv}: unexpected automatic entry {seq} {e:?}"
                    ));
                }
            } else if e.author == "system" {
                if e.text != "accepted" {
                    problems.push(format!("conv {conv}: unexpected system entry {seq} {e:?}"));
                }
            } else if !texts.insert(e.text.as_str()) {
                problems.push(format!(
                    "conv {conv}: {:?} stored twice (again at {seq})",
                    e.text
                ));
            }
        }
        // Every acknowledged message is in the log at its seq; every message in the log was
        // acknowledged (nobody gives up on a message, so everything stored gets its ack).
        let mut acked: BTreeMap<i64, &Acked> = BTreeMap::new();
        for a in clients
            .iter()
            .flat_map(|c| &c.acked)
            .filter(|a| a.conv == *conv)
        {
            if let Some(other) = acked.insert(a.seq, a) {
                problems.push(format!(
                    "conv {conv}: seq {} acknowledged for {} and for {}",
                    a.seq, other.client_id, a.client_id
                ));
            }
            match by_seq.get(&a.seq) {
                Some(e) if **e == a.entry => {}
                other => problems.push(format!(
                    "conv {conv}: {} acknowledged as seq {} ({:?}), the log has {other:?}",
                    a.client_id, a.seq, a.entry.text
                )),
            }
        }
        for (seq, e) in log {
            if e.author != "system" && e.author != "auto" && !acked.contains_key(seq) {
                problems.push(format!(
                    "conv {conv}: seq {seq} {e:?} stored, never acknowledged"
                ));
            }
        }
        // Both sides hold exactly the log.
        for c in clients.iter().filter(|c| c.views.contains_key(conv)) {
            let view = &c.views[conv];
            let held: Vec<(i64, &Entry)> = view.held.iter().map(|(s, h)| (*s, &h.entry)).collect();
            let server: Vec<(i64, &Entry)> = log.iter().map(|(s, e)| (*s, e)).collect();
            if held != server {
                let first = held
                    .iter()
                    .zip(&server)
                    .position(|(a, b)| a != b)
                    .unwrap_or(held.len().min(server.len()));
                problems.push(format!(
                    "{}: conv {conv} holds {} entries, the server {}; first difference at index {first}: holds {:?}, server {:?}",
                    c.name,
                    held.len(),
                    server.len(),
                    held.get(first),
                    server.get(first)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One conversation's log as the agent HTTP API gives it.
pub(crate) fn server_log(b: &mut Browser, conv: i64) -> Vec<(i64, Entry)> {
    let res = b.get(&format!("/api/conversations/{conv}/messages"));
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["seq"].as_i64().unwrap(), Entry::of(m)))
        .collect()
}

/// The clients of a run: one per chat (its visitor, resuming with the chat's token) and one
/// per agent, holding the chats `owner` gave them (by the chat's index); and each agent's
/// chats.
pub(crate) fn clients(
    site: &str,
    chats: Vec<(i64, String)>,
    agents: &[(&str, Browser)],
    owner: impl Fn(usize) -> usize,
    rng: &mut Rng,
) -> (Vec<Client>, Vec<Vec<i64>>) {
    let mut clients = Vec::new();
    let mut owned: Vec<Vec<i64>> = vec![Vec::new(); agents.len()];
    for (i, (conv, token)) in chats.into_iter().enumerate() {
        owned[owner(i)].push(conv);
        let kind = Kind::Visitor {
            site: site.to_string(),
            token,
        };
        clients.push(Client::new(
            format!("visitor {i}"),
            format!("v{i}"),
            kind,
            &[conv],
            rng.next(),
        ));
    }
    for ((name, b), convs) in agents.iter().zip(&owned) {
        let kind = Kind::Agent {
            cookie: cookie_header(b),
            name: name.to_string(),
        };
        clients.push(Client::new(
            format!("agent {name}"),
            name.to_lowercase(),
            kind,
            convs,
            rng.next(),
        ));
    }
    (clients, owned)
}

pub(crate) fn cookie_header(b: &Browser) -> String {
    b.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// xorshift64: the kill moments and pacing, repeatable from the seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng((seed ^ 0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

// ------------------------------------------------------------------ coordination

/// What the test's threads share: the server to talk to, the phase of the run, failures.
/// (`multihost.rs` runs the same clients through a tenant's move between hosts.)
pub(crate) struct Shared {
    ctl: Mutex<Ctl>,
    cv: Condvar,
}

struct Ctl {
    /// Starts of the server so far.
    generation: u64,
    /// Where the server listens; `None` from just before a kill until the restart.
    base: Option<String>,
    /// Acknowledgements clients received since the last (re)start.
    acks: u64,
    phase: Phase,
    /// Per client: nothing left to acknowledge (in the drain phase).
    quiet: Vec<bool>,
    /// Broken guarantees (or a stuck run): the run stops.
    failures: Vec<String>,
    /// Sockets that ended while the server was up: not a delivery defect by itself.
    notes: Vec<String>,
    /// A client whose connection failed tries the same server again after a moment (as a
    /// browser does), instead of waiting for the test to name the next one.
    patient: bool,
}

#[derive(Clone)]
pub(crate) enum Phase {
    /// Send, get killed, resume, retry.
    Load,
    /// Send nothing new; get everything outstanding acknowledged.
    Drain,
    /// Read until every conversation's view reaches the server's last seq (by conversation).
    Sync(Arc<BTreeMap<i64, i64>>),
}

impl Shared {
    pub(crate) fn new(clients: usize) -> Shared {
        Shared {
            ctl: Mutex::new(Ctl {
                generation: 0,
                base: None,
                acks: 0,
                phase: Phase::Load,
                quiet: vec![false; clients],
                failures: Vec::new(),
                notes: Vec::new(),
                patient: false,
            }),
            cv: Condvar::new(),
        }
    }

    /// Clients retry a failed connection to the same server every 200 ms.
    pub(crate) fn patient(self) -> Shared {
        self.lock().patient = true;
        self
    }

    /// Broken guarantees so far.
    pub(crate) fn failures(&self) -> Vec<String> {
        self.lock().failures.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Ctl> {
        self.ctl.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn up(&self, base: &str) {
        let mut c = self.lock();
        c.generation += 1;
        c.base = Some(base.to_string());
        c.acks = 0;
        self.cv.notify_all();
    }

    fn down(&self) {
        self.lock().base = None;
    }

    pub(crate) fn fail(&self, why: String) {
        self.lock().failures.push(why);
        self.cv.notify_all();
    }

    fn acked(&self) {
        self.lock().acks += 1;
        self.cv.notify_all();
    }

    /// The server to connect to: the current one, or, when connecting to generation
    /// `failed` failed, the next one. `None` once the run is over.
    fn server(&self, failed: Option<u64>) -> Option<(u64, String)> {
        let mut c = self.lock();
        if failed.is_some() && c.patient {
            drop(c);
            std::thread::sleep(Duration::from_millis(200));
            c = self.lock();
        }
        loop {
            if !c.failures.is_empty() {
                return None;
            }
            if let Some(base) = &c.base
                && (c.patient || failed.is_none_or(|g| c.generation > g))
            {
                return Some((c.generation, base.clone()));
            }
            c = self.cv.wait(c).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The phase; `None` once the run failed.
    pub(crate) fn phase(&self) -> Option<Phase> {
        let c = self.lock();
        c.failures.is_empty().then(|| c.phase.clone())
    }

    /// A socket ended that the test did not end: kept for the report.
    fn note(&self, generation: u64, what: String) {
        let mut c = self.lock();
        if c.generation == generation && c.base.is_some() {
            c.notes.push(what);
        }
    }

    /// Waits for `n` acknowledgements since the last start; false when the run failed.
    pub(crate) fn wait_acks(&self, n: u64, when: &str) -> bool {
        let deadline = Instant::now() + PATIENCE;
        let mut c = self.lock();
        while c.acks < n && c.failures.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                let got = c.acks;
                drop(c);
                self.fail(format!(
                    "stuck {when}: {got} acknowledgements in {PATIENCE:?} since the server started"
                ));
                return false;
            }
            c = self.cv.wait_timeout(c, deadline - now).unwrap().0;
        }
        c.failures.is_empty()
    }

    /// No new messages; waits until every client has all of its acknowledged.
    pub(crate) fn drain(&self) -> bool {
        let deadline = Instant::now() + PATIENCE;
        let mut c = self.lock();
        c.phase = Phase::Drain;
        self.cv.notify_all();
        while c.failures.is_empty() && !c.quiet.iter().all(|q| *q) {
            let now = Instant::now();
            if now >= deadline {
                let waiting: Vec<usize> = (0..c.quiet.len()).filter(|i| !c.quiet[*i]).collect();
                drop(c);
                self.fail(format!(
                    "clients {waiting:?} still wait for acknowledgements after {PATIENCE:?}"
                ));
                return false;
            }
            c = self.cv.wait_timeout(c, deadline - now).unwrap().0;
        }
        c.failures.is_empty()
    }

    fn quiet(&self, client: usize) {
        let mut c = self.lock();
        if !c.quiet[client] {
            c.quiet[client] = true;
            self.cv.notify_all();
        }
    }

    pub(crate) fn sync(&self, last: BTreeMap<i64, i64>) {
        self.lock().phase = Phase::Sync(Arc::new(last));
        self.cv.notify_all();
    }
}

/// Stops the client threads if the test ends early (a panic of its own).
pub(crate) struct AbortOnDrop(pub(crate) Arc<Shared>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let mut c = self.0.lock();
        if c.failures.is_empty() && !matches!(c.phase, Phase::Sync(_)) {
            c.failures.push("the test ended early".into());
        }
        self.0.cv.notify_all();
    }
}

// ------------------------------------------------------------------ one client

/// One log entry as a client shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    author: String,
    author_name: Option<String>,
    text: String,
}

impl Entry {
    fn of(f: &Value) -> Entry {
        Entry {
            author: f["author"].as_str().unwrap_or("?").to_string(),
            author_name: f["author_name"].as_str().map(str::to_string),
            text: f["text"].as_str().unwrap_or("?").to_string(),
        }
    }
}

/// An entry a client holds, and how it learnt it.
#[derive(Debug)]
struct Held {
    entry: Entry,
    /// From the `ack` of the client's own message: its client id, and whether the message
    /// was first sent on an earlier connection (then it may have been stored before, and a
    /// replay may bring it as a `message` too: the widget keeps one copy).
    ack: Option<(String, bool)>,
    /// `message` frames that brought it, over all connections.
    messages: u32,
}

/// A client's view of one conversation's log.
#[derive(Debug, Default)]
struct View {
    held: BTreeMap<i64, Held>,
    /// Every seq up to here is held: what the client resumes from.
    last: i64,
    /// The highest seq a `message` frame brought on the current socket.
    last_message: i64,
}

impl View {
    fn advance(&mut self) {
        while self.held.contains_key(&(self.last + 1)) {
            self.last += 1;
        }
    }
}

pub(crate) enum Kind {
    Visitor { site: String, token: String },
    Agent { cookie: String, name: String },
}

/// A message sent and not yet acknowledged.
struct Pending {
    conv: i64,
    text: String,
    /// The connection it was first sent on.
    first: u64,
}

/// A message the server acknowledged.
struct Acked {
    conv: i64,
    seq: i64,
    client_id: String,
    entry: Entry,
}

/// Why a connection ended.
enum Stop {
    /// The socket is gone (the kill): reconnect.
    Lost(String),
    /// The client dropped it: reconnect.
    Dropped,
    /// A guarantee was broken (recorded), or the run is over: stop.
    Over,
}

pub(crate) struct Client {
    pub(crate) name: String,
    /// Prefix of this client's message ids.
    tag: String,
    kind: Kind,
    views: BTreeMap<i64, View>,
    epoch: Option<String>,
    pending: BTreeMap<String, Pending>,
    acked: Vec<Acked>,
    sent: usize,
    /// Sockets this client dropped by itself.
    drops: usize,
    /// Acknowledgements of messages retried after a reconnect; of those, the ones whose
    /// entry a replay had brought before the ack, and the ones a replay brought after.
    retried: usize,
    replayed_first: usize,
    replayed_after: usize,
    /// Connections opened so far (the current one's number).
    connection: u64,
    generation: u64,
    next_send: Instant,
    rng: Rng,
    /// The latest frames and events, for a report.
    recent: VecDeque<String>,
    /// When the server last welcomed this client (`welcome` or `ready`).
    pub(crate) last_welcome: Option<Instant>,
}

impl Client {
    pub(crate) fn new(name: String, tag: String, kind: Kind, convs: &[i64], seed: u64) -> Client {
        Client {
            name,
            tag,
            kind,
            views: convs.iter().map(|c| (*c, View::default())).collect(),
            epoch: None,
            pending: BTreeMap::new(),
            acked: Vec::new(),
            sent: 0,
            drops: 0,
            retried: 0,
            replayed_first: 0,
            replayed_after: 0,
            connection: 0,
            generation: 0,
            next_send: Instant::now(),
            rng: Rng::new(seed),
            recent: VecDeque::new(),
            last_welcome: None,
        }
    }

    /// Connects, resumes, chats; reconnects after every kill; returns when the run is over.
    pub(crate) fn run(mut self, index: usize, sh: &Shared) -> Client {
        let mut failed = None;
        loop {
            let Some((generation, base)) = sh.server(failed) else {
                return self;
            };
            self.generation = generation;
            let ended = match self.connect(&base, sh) {
                Ok(mut sock) => {
                    failed = None;
                    self.chat(&mut sock, index, sh)
                }
                Err(Stop::Lost(why)) => {
                    self.remember(format!("-- connect to server {generation} failed: {why}"));
                    failed = Some(generation);
                    continue;
                }
                Err(Stop::Dropped) => continue,
                Err(Stop::Over) => return self,
            };
            match ended {
                Stop::Lost(why) => {
                    self.remember(format!("-- connection lost: {why}"));
                    sh.note(generation, format!("{}: {why}", self.name));
                }
                Stop::Dropped => self.drops += 1,
                Stop::Over => return self,
            }
        }
    }

    /// Opens a socket, resumes (`resume` or `hello`), and retries everything pending.
    fn connect(&mut self, base: &str, sh: &Shared) -> Result<Sock, Stop> {
        self.connection += 1;
        for v in self.views.values_mut() {
            v.last_message = 0;
        }
        let (path, origin, cookie) = match &self.kind {
            Kind::Visitor { site, .. } => (format!("/ws/visitor?site={site}"), SHOP, None),
            Kind::Agent { cookie, .. } => ("/ws/agent".to_string(), base, Some(cookie.clone())),
        };
        let mut sock = open(base, &path, origin, cookie.as_deref()).map_err(|e| match e {
            // 503: busy, or the tenant moves to another host; a client tries again.
            Open::Refused(503) => Stop::Lost("upgrade refused with 503".into()),
            Open::Refused(status) => self.violation(sh, format!("upgrade refused with {status}")),
            Open::Failed(why) => Stop::Lost(why),
        })?;
        let mut hello = match &self.kind {
            Kind::Visitor { token, .. } => {
                let last = self.views.values().next().unwrap().last;
                json!({"type": "resume", "token": token, "last_seq": last})
            }
            Kind::Agent { .. } => {
                let seen: Vec<Value> = self
                    .views
                    .iter()
                    .filter(|(_, v)| v.last > 0)
                    .map(|(c, v)| json!([c, v.last]))
                    .collect();
                json!({"type": "hello", "seen": seen})
            }
        };
        // Only a server that gave an epoch knows the field.
        if let Some(e) = &self.epoch {
            hello["epoch"] = json!(e);
        }
        self.remember(format!(
            "-- connection {} to server {}",
            self.connection, self.generation
        ));
        if let Kind::Agent { .. } = self.kind
            && self.rng.next().is_multiple_of(4)
        {
            // A slow dashboard: nothing but presence and the like may come before `hello`
            // (issue 13, defect 1: live entries arrived here, then again in the replay).
            let until = Instant::now() + Duration::from_millis(self.rng.next() % SLOW_HELLO_MS);
            self.remember("-- waiting before hello".into());
            loop {
                let wait = until.saturating_duration_since(Instant::now());
                if wait.is_zero() {
                    break;
                }
                match read(&mut sock, wait) {
                    Read::Frame(f) if matches!(f["type"].as_str(), Some("message" | "ack")) => {
                        self.remember(summary(&f));
                        return Err(self.violation(sh, format!("before hello: {f}")));
                    }
                    Read::Frame(f) => self.remember(summary(&f)),
                    Read::Quiet => {}
                    Read::Lost(why) => return Err(Stop::Lost(why)),
                }
            }
        }
        self.send(&mut sock, &hello)?;
        let answer = match self.kind {
            Kind::Visitor { .. } => "welcome",
            Kind::Agent { .. } => "ready",
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return Err(self.violation(sh, format!("no {answer} within 10 s")));
            }
            match read(&mut sock, wait) {
                Read::Frame(f) if f["type"] == answer => {
                    self.remember(summary(&f));
                    self.welcomed(&f, sh)?;
                    self.last_welcome = Some(Instant::now());
                    break;
                }
                Read::Frame(f) => self.on_frame(f, sh)?,
                Read::Quiet => {}
                Read::Lost(why) => return Err(Stop::Lost(why)),
            }
        }
        // What is not acknowledged goes again, with the same client id.
        let ids: Vec<String> = self.pending.keys().cloned().collect();
        for id in ids {
            self.send_message(&mut sock, &id)?;
        }
        Ok(sock)
    }

    /// `welcome` or `ready`: the chat is still open and still ours, the epoch unchanged.
    fn welcomed(&mut self, f: &Value, sh: &Shared) -> Result<(), Stop> {
        match &self.kind {
            Kind::Visitor { .. } => {
                let conv = *self.views.keys().next().unwrap();
                if f["conversation_id"] != conv || f["status"] != "open" {
                    return Err(self.violation(sh, format!("expected conv {conv} open: {f}")));
                }
            }
            Kind::Agent { .. } => {
                let listed: BTreeSet<i64> = f["conversations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["conversation_id"].as_i64())
                    .collect();
                let mine: BTreeSet<i64> = self.views.keys().copied().collect();
                if listed != mine {
                    return Err(self.violation(sh, format!("ready lists {listed:?}, not {mine:?}")));
                }
            }
        }
        if let Some(epoch) = f["epoch"].as_str() {
            if let Some(old) = &self.epoch
                && old != epoch
            {
                return Err(self.violation(
                    sh,
                    format!("the epoch changed from {old} to {epoch} (no restore happened)"),
                ));
            }
            self.epoch = Some(epoch.to_string());
        }
        Ok(())
    }

    /// Chats on an open, resumed socket until it is lost or the run is over.
    fn chat(&mut self, sock: &mut Sock, index: usize, sh: &Shared) -> Stop {
        let mut sync_deadline = None;
        loop {
            let Some(phase) = sh.phase() else {
                return Stop::Over;
            };
            let mut wait = Duration::from_millis(100);
            match &phase {
                Phase::Load => {
                    if self.pending.len() < IN_FLIGHT && Instant::now() >= self.next_send {
                        let burst = 1 + self.rng.next() as usize % IN_FLIGHT;
                        for _ in 0..burst.min(IN_FLIGHT - self.pending.len()) {
                            if let Err(stop) = self.send_new(sock) {
                                return stop;
                            }
                        }
                        self.next_send = Instant::now()
                            + Duration::from_millis(
                                SEND_EVERY_MS + self.rng.next() % SEND_EVERY_MS,
                            );
                    }
                    wait = wait.min(self.next_send.saturating_duration_since(Instant::now()));
                }
                Phase::Drain => {
                    if self.pending.is_empty() {
                        sh.quiet(index);
                    }
                }
                Phase::Sync(last) => {
                    let behind: Vec<(i64, i64, i64)> = self
                        .views
                        .iter()
                        .filter(|(c, v)| v.last < last.get(c).copied().unwrap_or(0))
                        .map(|(c, v)| (*c, v.last, last[c]))
                        .collect();
                    if behind.is_empty() {
                        return Stop::Over;
                    }
                    let deadline = *sync_deadline.get_or_insert(Instant::now() + PATIENCE);
                    if Instant::now() >= deadline {
                        return self.violation(
                            sh,
                            format!(
                                "never received the rest of the log: (conv, holds up to, server's last) {behind:?}"
                            ),
                        );
                    }
                }
            }
            match read(sock, wait) {
                Read::Frame(f) => {
                    if let Err(stop) = self.on_frame(f, sh) {
                        return stop;
                    }
                    if matches!(phase, Phase::Load) && self.rng.next().is_multiple_of(DROP_ONE_IN) {
                        self.remember("-- dropping the socket".into());
                        return Stop::Dropped;
                    }
                }
                Read::Quiet => {}
                Read::Lost(why) => return Stop::Lost(why),
            }
        }
    }

    fn send_new(&mut self, sock: &mut Sock) -> Result<(), Stop> {
        self.sent += 1;
        let n = self.sent;
        let convs: Vec<i64> = self.views.keys().copied().collect();
        let conv = convs[n % convs.len()];
        let id = format!("{}-{n}", self.tag);
        let text = format!("{} #{n} in {conv}", self.name);
        self.pending.insert(
            id.clone(),
            Pending {
                conv,
                text,
                first: self.connection,
            },
        );
        self.send_message(sock, &id)
    }

    fn send_message(&mut self, sock: &mut Sock, id: &str) -> Result<(), Stop> {
        let p = &self.pending[id];
        let mut f = json!({"type": "message", "client_id": id, "text": p.text});
        if let Kind::Agent { .. } = self.kind {
            f["conversation_id"] = json!(p.conv);
        }
        self.send(sock, &f)
    }

    fn send(&mut self, sock: &mut Sock, f: &Value) -> Result<(), Stop> {
        self.remember(format!("> {}", summary(f)));
        sock.send(tungstenite::Message::text(f.to_string()))
            .map_err(|e| Stop::Lost(e.to_string()))
    }

    /// The entry a message of this client's own makes.
    fn own(&self, text: &str) -> Entry {
        match &self.kind {
            Kind::Visitor { .. } => Entry {
                author: "visitor".into(),
                author_name: None,
                text: text.into(),
            },
            Kind::Agent { name, .. } => Entry {
                author: "agent".into(),
                author_name: Some(name.clone()),
                text: text.into(),
            },
        }
    }

    fn on_frame(&mut self, f: Value, sh: &Shared) -> Result<(), Stop> {
        self.remember(summary(&f));
        match f["type"].as_str().unwrap_or("") {
            "message" => self.on_message(&f, sh),
            "ack" => self.on_ack(&f, sh),
            "reset" => Err(self.violation(sh, format!("{f} although no restore happened"))),
            // The hub is gone (a move stopped it) or full: what is pending goes again, with
            // the same client ids, on a new socket.
            "error" if f["code"] == "busy" => Err(Stop::Lost(format!("{f}"))),
            "error" => Err(self.violation(sh, format!("unexpected error: {f}"))),
            "conversation" if f["status"] != "open" => {
                Err(self.violation(sh, format!("unexpected: {f}")))
            }
            "welcome" | "ready" => Err(self.violation(sh, format!("unasked for: {f}"))),
            _ => Ok(()),
        }
    }

    /// A `message`: the next seq of its conversation after everything held, or the replayed
    /// copy of this client's own retried message it already knows from the ack.
    fn on_message(&mut self, f: &Value, sh: &Shared) -> Result<(), Stop> {
        let (Some(conv), Some(seq)) = (f["conversation_id"].as_i64(), f["seq"].as_i64()) else {
            return Err(self.violation(sh, format!("malformed: {f}")));
        };
        let entry = Entry::of(f);
        let Some(view) = self.views.get_mut(&conv) else {
            return Err(self.violation(sh, format!("a message of conv {conv}, not ours: {f}")));
        };
        let problem = if seq <= view.last_message {
            Some(format!(
                "conv {conv}: message seq {seq} after seq {} on the same socket",
                view.last_message
            ))
        } else if let Some(h) = view.held.get_mut(&seq) {
            match &h.ack {
                Some((_, true)) if h.messages == 0 && h.entry == entry && seq <= view.last => {
                    h.messages = 1;
                    self.replayed_after += 1;
                    None
                }
                _ => Some(format!(
                    "conv {conv}: seq {seq} delivered again; held: {h:?}"
                )),
            }
        } else if seq != view.last + 1 {
            Some(format!(
                "conv {conv}: message seq {seq}, but the client holds every entry only up to {} (missing {}..={})",
                view.last,
                view.last + 1,
                seq - 1
            ))
        } else {
            view.held.insert(
                seq,
                Held {
                    entry,
                    ack: None,
                    messages: 1,
                },
            );
            None
        };
        view.last_message = seq;
        view.advance();
        match problem {
            Some(p) => Err(self.violation(sh, p)),
            None => Ok(()),
        }
    }

    /// An `ack`: of a message sent on this connection, it is the next seq after everything
    /// held; of one retried after a reconnect, it may name an entry the replay brought (or
    /// will bring), which must then be this very message.
    fn on_ack(&mut self, f: &Value, sh: &Shared) -> Result<(), Stop> {
        let (Some(id), Some(conv), Some(seq)) = (
            f["client_id"].as_str(),
            f["conversation_id"].as_i64(),
            f["seq"].as_i64(),
        ) else {
            return Err(self.violation(sh, format!("malformed: {f}")));
        };
        let Some(p) = self.pending.remove(id) else {
            return Err(self.violation(sh, format!("an ack for nothing pending: {f}")));
        };
        if p.conv != conv {
            return Err(self.violation(sh, format!("{id} was sent to conv {}: {f}", p.conv)));
        }
        let retried = p.first < self.connection;
        let entry = self.own(&p.text);
        let view = self.views.get_mut(&conv).unwrap();
        let problem = match view.held.get_mut(&seq) {
            Some(h) if retried && h.ack.is_none() && h.entry == entry => {
                h.ack = Some((id.to_string(), true));
                self.replayed_first += 1;
                None
            }
            Some(h) => Some(format!(
                "conv {conv}: {id} acknowledged as seq {seq}, which holds {h:?}"
            )),
            None if !retried && seq != view.last + 1 => Some(format!(
                "conv {conv}: {id} (sent on this connection) acknowledged as seq {seq}, but the client holds every entry only up to {}",
                view.last
            )),
            None => {
                view.held.insert(
                    seq,
                    Held {
                        entry: entry.clone(),
                        ack: Some((id.to_string(), retried)),
                        messages: 0,
                    },
                );
                None
            }
        };
        view.advance();
        if let Some(p) = problem {
            return Err(self.violation(sh, p));
        }
        self.retried += usize::from(retried);
        self.acked.push(Acked {
            conv,
            seq,
            client_id: id.to_string(),
            entry,
        });
        sh.acked();
        Ok(())
    }

    /// Records a broken guarantee with what this client saw last; the run stops.
    fn violation(&mut self, sh: &Shared, what: String) -> Stop {
        sh.fail(format!(
            "{} (connection {}, server {}): {what}\n  {} saw last:\n    {}",
            self.name,
            self.connection,
            self.generation,
            self.name,
            self.recent
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n    ")
        ));
        Stop::Over
    }

    fn remember(&mut self, line: String) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(line);
    }

    /// One line for a report.
    pub(crate) fn state(&self) -> String {
        let views: Vec<String> = self
            .views
            .iter()
            .map(|(c, v)| format!("conv {c} up to {} ({} held)", v.last, v.held.len()))
            .collect();
        format!(
            "  {}: {} connections ({} dropped by itself), {} acknowledged, {} pending, {}",
            self.name,
            self.connection,
            self.drops,
            self.acked.len(),
            self.pending.len(),
            views.join(", ")
        )
    }
}

// ------------------------------------------------------------------ sockets

enum Open {
    Refused(u16),
    Failed(String),
}

fn open(base: &str, path: &str, origin: &str, cookie: Option<&str>) -> Result<Sock, Open> {
    use tungstenite::client::IntoClientRequest;
    let url = format!("{}{}", base.replacen("http", "ws", 1), path);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Origin", origin.parse().unwrap());
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse().unwrap());
    }
    match tungstenite::connect(req) {
        Ok((sock, _)) => Ok(sock),
        Err(tungstenite::Error::Http(res)) => Err(Open::Refused(res.status().as_u16())),
        Err(e) => Err(Open::Failed(e.to_string())),
    }
}

enum Read {
    Frame(Value),
    /// Nothing within the wait.
    Quiet,
    Lost(String),
}

fn read(sock: &mut Sock, wait: Duration) -> Read {
    if let MaybeTlsStream::Plain(s) = sock.get_ref() {
        let _ = s.set_read_timeout(Some(wait.max(Duration::from_millis(1))));
    }
    loop {
        match sock.read() {
            Ok(tungstenite::Message::Text(t)) => match serde_json::from_str(&t) {
                Ok(v) => return Read::Frame(v),
                Err(_) => return Read::Frame(json!({"type": "not json", "text": t.as_str()})),
            },
            Ok(tungstenite::Message::Close(c)) => {
                return Read::Lost(format!("closed by the server: {c:?}"));
            }
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Read::Quiet;
            }
            Err(e) => return Read::Lost(e.to_string()),
        }
    }
}

/// A frame in a line for a report.
fn summary(f: &Value) -> String {
    let s = |k: &str| f[k].as_str().unwrap_or("?").to_string();
    match f["type"].as_str().unwrap_or("?") {
        "message" => match f.get("seq") {
            Some(seq) => format!(
                "message conv {} seq {seq} {} {:?}",
                f["conversation_id"],
                s("author"),
                s("text")
            ),
            None => format!("message {} {:?}", s("client_id"), s("text")),
        },
        "ack" => format!(
            "ack conv {} seq {} {}",
            f["conversation_id"],
            f["seq"],
            s("client_id")
        ),
        t @ ("queue" | "queue_update" | "agents" | "agents_update" | "visitors" | "visitor"
        | "visitor_left" | "visitors_more") => t.to_string(),
        _ => {
            let mut t = f.to_string();
            t.truncate(300);
            t
        }
    }
}
