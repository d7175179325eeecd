//! Delivery to protocol clients (issue 13): every client receives every log entry exactly
//! once, in order, after a late `hello`, a replay longer than the socket queue, a queue
//! overflow (close 1013) and a `backup restore` under live chat. The clients here are written
//! from `docs/protocol.md`: they keep what they were sent and resume from the last contiguous
//! seq, without the dashboard's de-duplication.

use crate::chat::{SHOP, setup};
use crate::common::{Browser, Kontor, Server, Ws};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;

type Sock = tungstenite::WebSocket<MaybeTlsStream<TcpStream>>;

/// How a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The condition held.
    Done,
    /// The server closed the socket (with this code).
    Closed(Option<u16>),
    /// Nothing more within the time allowed.
    TimedOut,
}

/// What a client holds of each conversation's log, as a client written from the protocol
/// keeps it: `reset` forgets a conversation, a `message` or an `ack` (of its own text) puts an
/// entry at its seq. A seq delivered twice, or reused with other content, is a problem.
#[derive(Default)]
struct View {
    log: BTreeMap<i64, BTreeMap<i64, String>>,
    /// Texts this client sent, by client id (an ack names only the client id).
    sent: HashMap<String, String>,
    problems: Vec<String>,
}

impl View {
    fn apply(&mut self, f: &Value) {
        let conv = f["conversation_id"].as_i64().unwrap_or(0);
        match f["type"].as_str() {
            Some("reset") => {
                self.log.remove(&conv);
            }
            Some("message") => {
                let text = f["text"].as_str().unwrap_or("").to_string();
                self.put(conv, f["seq"].as_i64().unwrap(), text, true);
            }
            Some("ack") => {
                let id = f["client_id"].as_str().unwrap();
                if let Some(text) = self.sent.get(id).cloned() {
                    self.put(conv, f["seq"].as_i64().unwrap(), text, false);
                }
            }
            _ => {}
        }
    }

    fn put(&mut self, conv: i64, seq: i64, text: String, delivered: bool) {
        let log = self.log.entry(conv).or_default();
        match log.get(&seq) {
            Some(old) if *old != text => self.problems.push(format!(
                "conversation {conv}: seq {seq} reused under the client: it held {:?}, now {:?}",
                short(old),
                short(&text)
            )),
            Some(_) if delivered => self
                .problems
                .push(format!("conversation {conv}: seq {seq} delivered twice")),
            Some(_) => {}
            None => {
                log.insert(seq, text);
            }
        }
    }

    /// `(seq, text)` of a conversation as the client holds it.
    fn entries(&self, conv: i64) -> Vec<(i64, String)> {
        self.log
            .get(&conv)
            .map(|l| l.iter().map(|(s, t)| (*s, t.clone())).collect())
            .unwrap_or_default()
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// A protocol client: the socket, every frame it received in order, and its view.
struct Client {
    sock: Sock,
    frames: Vec<Value>,
    view: View,
    closed: Option<Option<u16>>,
}

impl Client {
    fn new(ws: Ws) -> Client {
        Client::raw(ws.sock)
    }

    fn raw(sock: Sock) -> Client {
        Client {
            sock,
            frames: Vec::new(),
            view: View::default(),
            closed: None,
        }
    }

    fn send(&mut self, v: Value) {
        self.sock
            .send(tungstenite::Message::text(v.to_string()))
            .unwrap();
    }

    fn tcp(&self) -> &TcpStream {
        match self.sock.get_ref() {
            MaybeTlsStream::Plain(s) => s,
            _ => panic!("plain TCP expected"),
        }
    }

    /// Reads frames until `done` holds for the frames read by this call, the server closes,
    /// or `within` passes; returns how it ended and the frames read by this call.
    fn read_until(
        &mut self,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> (End, Vec<Value>) {
        self.read_since(self.frames.len(), within, done)
    }

    /// Like `read_until`, but `done` sees (and the result holds) the frames from index `start`
    /// of `frames` on, some of which may have been read before.
    fn read_since(
        &mut self,
        start: usize,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> (End, Vec<Value>) {
        let deadline = Instant::now() + within;
        if let Some(code) = self.closed {
            return (End::Closed(code), self.frames[start..].to_vec());
        }
        // `done` looks at all frames so far: it is asked after every frame of a short read,
        // after every n/16th of a long one, and whenever the socket is quiet for a moment.
        let mut unasked = usize::MAX;
        loop {
            let n = self.frames.len() - start;
            if unasked >= (n / 16).max(1) {
                unasked = 0;
                if done(&self.frames[start..]) {
                    return (End::Done, self.frames[start..].to_vec());
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let end = if done(&self.frames[start..]) {
                    End::Done
                } else {
                    End::TimedOut
                };
                return (end, self.frames[start..].to_vec());
            }
            self.tcp()
                .set_read_timeout(Some(left.min(Duration::from_millis(50))))
                .unwrap();
            let closed = match self.sock.read() {
                Ok(tungstenite::Message::Text(t)) => {
                    let f: Value = serde_json::from_str(&t).unwrap();
                    self.view.apply(&f);
                    self.frames.push(f);
                    unasked += 1;
                    continue;
                }
                Ok(tungstenite::Message::Close(c)) => c.map(|c| u16::from(c.code)),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    unasked = usize::MAX;
                    continue;
                }
                Err(_) => None,
            };
            self.closed = Some(closed);
            let end = if done(&self.frames[start..]) {
                End::Done
            } else {
                End::Closed(closed)
            };
            return (end, self.frames[start..].to_vec());
        }
    }

    /// Sends a message and waits for its ack; returns its seq.
    fn say(&mut self, conv: Option<i64>, id: &str, text: &str) -> i64 {
        let mut f = json!({"type": "message", "client_id": id, "text": text});
        if let Some(c) = conv {
            f["conversation_id"] = json!(c);
        }
        self.view.sent.insert(id.to_string(), text.to_string());
        self.send(f);
        let (end, got) = self.read_until(Duration::from_secs(10), |fs| ack_of(fs, id).is_some());
        assert_eq!(end, End::Done, "no ack for {id}: {}", brief(&got));
        ack_of(&got, id).unwrap()
    }

    /// Sends a ping and reads until its pong.
    fn ping_pong(&mut self) -> (End, Vec<Value>) {
        self.send(json!({"type": "ping"}));
        self.read_until(Duration::from_secs(10), |fs| {
            fs.iter().any(|f| f["type"] == "pong")
        })
    }
}

fn ack_of(frames: &[Value], id: &str) -> Option<i64> {
    frames
        .iter()
        .find(|f| f["type"] == "ack" && f["client_id"] == id)
        .and_then(|f| f["seq"].as_i64())
}

/// The seqs of the `message` frames of one conversation, in the order received.
fn seqs(frames: &[Value], conv: i64) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f["type"] == "message" && f["conversation_id"] == conv)
        .map(|f| f["seq"].as_i64().unwrap())
        .collect()
}

fn has_seq(frames: &[Value], conv: i64, seq: i64) -> bool {
    frames
        .iter()
        .any(|f| f["type"] == "message" && f["conversation_id"] == conv && f["seq"] == seq)
}

/// `1..=477, 571..=594` for a list of seqs (as received, so disorder shows too).
fn runs(seqs: &[i64]) -> String {
    if seqs.is_empty() {
        return "nothing".into();
    }
    let mut out = Vec::new();
    let mut from = seqs[0];
    let mut to = seqs[0];
    for &s in &seqs[1..] {
        if s == to + 1 {
            to = s;
        } else {
            out.push(if from == to {
                format!("{from}")
            } else {
                format!("{from}..={to}")
            });
            from = s;
            to = s;
        }
    }
    out.push(if from == to {
        format!("{from}")
    } else {
        format!("{from}..={to}")
    });
    if out.len() > 8 {
        let n = out.len();
        let last = out.pop().unwrap();
        out.truncate(6);
        out.push(format!("… {} runs more …", n - 7));
        out.push(last);
    }
    format!("{} ({} entries)", out.join(", "), seqs.len())
}

/// Frame types in order, runs of the same type folded: `ready, message seq 1..=1024 (1024
/// entries), pong`; a run of messages of several conversations is counted per conversation.
fn brief(frames: &[Value]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        let t = frames[i]["type"].as_str().unwrap_or("?");
        let mut j = i + 1;
        while j < frames.len() && frames[j]["type"] == t {
            j += 1;
        }
        let run = &frames[i..j];
        if t == "message" {
            let mut convs: Vec<i64> = run
                .iter()
                .map(|f| f["conversation_id"].as_i64().unwrap())
                .collect();
            convs.sort_unstable();
            convs.dedup();
            let parts: Vec<String> = convs
                .iter()
                .map(|c| format!("message seq {}", runs(&seqs(run, *c))))
                .collect();
            if convs.len() == 1 {
                out.push(parts[0].clone());
            } else {
                let each: Vec<String> = convs
                    .iter()
                    .zip(&parts)
                    .map(|(c, p)| format!("conversation {c}: {p}"))
                    .collect();
                out.push(format!("[{}]", each.join("; ")));
            }
        } else if j - i > 1 {
            out.push(format!("{t} (×{})", j - i));
        } else {
            out.push(t.to_string());
        }
        i = j;
    }
    out.join(", ")
}

/// Signs Ann in.
fn sign_in(server: &Server, pw: &str) -> Browser {
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme", "ann@acme.example", pw).status, 303);
    b
}

/// Ann's dashboard socket after `hello` and `ready` (all frames kept).
fn ann(server: &Server, pw: &str) -> (Browser, Client) {
    let b = sign_in(server, pw);
    let mut c = Client::new(Ws::agent(&b));
    c.send(json!({"type": "hello", "seen": []}));
    let (end, got) = c.read_until(Duration::from_secs(10), |fs| {
        fs.iter().any(|f| f["type"] == "ready")
    });
    assert_eq!(end, End::Done, "no ready: {}", brief(&got));
    (b, c)
}

/// A widget that opted in: the client, its conversation and token.
fn widget(server: &Server, site: &str, name: &str) -> (Client, i64, String) {
    let mut c = Client::new(Ws::visitor(&server.base, site, SHOP).unwrap());
    c.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": name}));
    let (end, got) = c.read_until(Duration::from_secs(10), |fs| {
        fs.iter().any(|f| f["type"] == "welcome")
    });
    assert_eq!(end, End::Done, "no welcome: {}", brief(&got));
    let w = got.iter().find(|f| f["type"] == "welcome").unwrap();
    let conv = w["conversation_id"].as_i64().unwrap();
    let token = w["token"].as_str().unwrap().to_string();
    (c, conv, token)
}

/// A widget socket resuming `token` after `last_seq` (no frame read yet).
fn resume(server: &Server, site: &str, token: &str, last_seq: i64) -> Client {
    let mut c = Client::new(Ws::visitor(&server.base, site, SHOP).unwrap());
    c.send(json!({"type": "resume", "token": token, "last_seq": last_seq}));
    c
}

/// Ann takes a waiting chat; reads until its `accepted` entry.
fn accept(ann: &mut Client, conv: i64) {
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    let (end, got) = ann.read_until(Duration::from_secs(10), |fs| {
        fs.iter().any(|f| {
            f["type"] == "message" && f["conversation_id"] == conv && f["text"] == "accepted"
        }) || fs.iter().any(|f| f["type"] == "error")
    });
    assert_eq!(end, End::Done, "accept {conv}: {}", brief(&got));
    assert!(
        !got.iter().any(|f| f["type"] == "error"),
        "accept {conv}: {got:?}"
    );
}

/// Appends entries `from..=to` to a conversation's log through the library's own store
/// functions, while no server runs (a server loads each conversation's last seq when its
/// hub starts). Even seqs are the visitor's, odd ones the agent's (all the visitor's without
/// an agent: a waiting chat).
fn seed(
    k: &Kontor,
    conv: i64,
    agent_id: Option<i64>,
    from: i64,
    to: i64,
    text: impl Fn(i64) -> String,
) {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    db.with(|c| {
        let tx = c.transaction()?;
        for seq in from..=to {
            let visitor = agent_id.is_none() || seq % 2 == 0;
            let body = text(seq);
            let client_id = format!("seed-{seq}");
            kontor::store::chat::insert_message(
                &tx,
                &kontor::store::chat::NewMessage {
                    conversation_id: conv,
                    seq,
                    author: if visitor { "visitor" } else { "agent" },
                    agent_id: if visitor { None } else { agent_id },
                    body: &body,
                    client_id: Some(&client_id),
                    file_id: None,
                    at,
                },
            )?;
        }
        tx.commit()?;
        Ok(())
    })
    .unwrap();
}

/// A chat Ann accepted (seq 1) whose log then grows to `n` entries ("entry SEQ") while no
/// server runs; returns the tenant, Ann's password, the site, the chat and its token.
fn long_chat(n: i64) -> (Kontor, String, String, i64, String) {
    let (k, pw, site) = setup();
    let (conv, token, agent_id) = {
        let mut server = k.server(&[]);
        let (_b, mut a) = ann(&server, &pw);
        let agent_id = a.frames.iter().find(|f| f["type"] == "ready").unwrap()["agent_id"]
            .as_i64()
            .unwrap();
        let (_v, conv, token) = widget(&server, &site, "Vera");
        accept(&mut a, conv); // seq 1
        drop(a);
        server.stop();
        (conv, token, agent_id)
    };
    seed(&k, conv, Some(agent_id), 2, n, |s| format!("entry {s}"));
    (k, pw, site, conv, token)
}

/// The epoch a `welcome` or `ready` carried, if any.
fn epoch(f: &Value) -> Option<String> {
    f["epoch"].as_str().map(str::to_string)
}

/// Where entries of `conv` are not exactly `expected`, in order, each once.
fn replay_problem(
    what: &str,
    frames: &[Value],
    end: End,
    conv: i64,
    expected: &[i64],
) -> Option<String> {
    let got = seqs(frames, conv);
    let closed = match end {
        End::Closed(code) => format!(", then the server closed the socket ({code:?})"),
        End::TimedOut => ", then nothing more".into(),
        End::Done => String::new(),
    };
    if got != expected || matches!(end, End::Closed(_)) {
        Some(format!(
            "{what}: expected seq {}, received {}{closed}; frames: {}",
            runs(expected),
            runs(&got),
            brief(frames)
        ))
    } else {
        None
    }
}

/// Defect 1: an agent socket must get nothing live before its `hello`, and each entry once.
#[test]
fn agent_socket_gets_no_live_entry_before_hello_and_each_entry_once() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (b, mut first) = ann(&server, &pw);
    let (mut v, conv, _) = widget(&server, &site, "Vera");
    assert_eq!(v.say(None, "v-1", "Hallo?"), 1);
    accept(&mut first, conv);
    assert_eq!(seqs(&first.frames, conv), [1, 2], "the agent saw 1-2");
    drop(first);

    // The dashboard reconnects but has not sent hello yet.
    let mut again = Client::new(Ws::agent(&b));
    // A ping answered by the hub shows the hub knows this socket (a pre-hello error counts too).
    again.send(json!({"type": "ping"}));
    again.read_until(Duration::from_secs(3), |fs| {
        fs.iter()
            .any(|f| f["type"] == "pong" || f["type"] == "error")
    });
    // The visitor writes meanwhile; the ack comes after the entry's fan-out.
    assert_eq!(v.say(None, "v-2", "noch da?"), 3);
    again.send(json!({"type": "hello", "seen": [[conv, 2]]}));
    let (end, got) = again.read_until(Duration::from_secs(10), |fs| {
        fs.iter()
            .position(|f| f["type"] == "ready")
            .is_some_and(|r| has_seq(&fs[r..], conv, 3))
    });
    assert_eq!(end, End::Done, "ready and then seq 3: {}", brief(&got));
    // Anything still on its way shows up before this pong.
    let (end, _) = again.ping_pong();
    assert_eq!(end, End::Done);

    let all = &again.frames;
    let ready = all.iter().position(|f| f["type"] == "ready").unwrap();
    let early = seqs(&all[..ready], conv);
    assert!(
        early.is_empty(),
        "before its hello was answered the socket got live entries: message seq {early:?}; \
         frames: {}",
        brief(all)
    );
    assert_eq!(
        seqs(all, conv),
        [3],
        "seq 3 exactly once, after ready; frames: {}",
        brief(all)
    );
    assert!(again.view.problems.is_empty(), "{:?}", again.view.problems);
}

/// Defect 2: a replay longer than the socket queue arrives whole to a client that reads.
#[test]
fn replay_of_3000_entries_arrives_whole_to_a_reading_client() {
    const N: i64 = 3000;
    let (k, pw, site, conv, token) = long_chat(N);
    let server = k.server(&[]);
    let expected: Vec<i64> = (1..=N).collect();
    let complete = |fs: &[Value]| has_seq(fs, conv, N) && fs.iter().any(|f| f["type"] == "pong");
    let mut problems = Vec::new();

    // A fresh dashboard: hello with nothing seen, then a ping.
    let b = sign_in(&server, &pw);
    let mut dash = Client::new(Ws::agent(&b));
    dash.send(json!({"type": "hello", "seen": []}));
    dash.send(json!({"type": "ping"}));
    let (end, got) = dash.read_until(Duration::from_secs(20), complete);
    problems.extend(replay_problem(
        "agent hello seen=[]",
        &got,
        end,
        conv,
        &expected,
    ));
    if end == End::Done && !got.iter().any(|f| f["type"] == "pong") {
        problems.push("agent hello: no pong".into());
    }
    problems.extend(dash.view.problems.iter().cloned());
    // The queue comes after the replay: the dashboard takes what follows it as live.
    let (end, _) = dash.read_since(0, Duration::from_secs(10), |fs| {
        fs.iter().any(|f| f["type"] == "queue")
    });
    let at = |pred: &dyn Fn(&Value) -> bool| dash.frames.iter().position(pred);
    let last_entry = at(&|f| f["type"] == "message" && f["seq"] == N);
    let queue = at(&|f| f["type"] == "queue");
    if end != End::Done || queue < last_entry {
        problems.push(format!(
            "agent hello: the queue (frame {queue:?}) came before the end of the replay (frame {last_entry:?})"
        ));
    }

    // The widget, resuming from nothing.
    let mut w = resume(&server, &site, &token, 0);
    w.send(json!({"type": "ping"}));
    let (end, got) = w.read_until(Duration::from_secs(20), complete);
    problems.extend(replay_problem(
        "widget resume last_seq=0",
        &got,
        end,
        conv,
        &expected,
    ));
    problems.extend(w.view.problems.iter().cloned());

    // Whatever arrived is the log as stored.
    for c in [&dash, &w] {
        for (seq, text) in c.view.entries(conv) {
            let want = if seq == 1 {
                "accepted".to_string()
            } else {
                format!("entry {seq}")
            };
            if text != want {
                problems.push(format!("seq {seq}: {text:?} instead of {want:?}"));
                break;
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a replay of {N} entries to a reading client:\n{}",
        problems.join("\n")
    );
    // Both sockets stay usable.
    assert_eq!(dash.ping_pong().0, End::Done);
    assert_eq!(w.ping_pong().0, End::Done);
}

/// A client that sends while its replay is still coming gets its `ack` at the entry's place
/// in the replay, once, not before the entries ahead of it and not again as a `message`.
#[test]
fn an_ack_during_a_long_replay_comes_at_its_place_once() {
    const N: i64 = 600;
    let (k, _pw, site, conv, token) = long_chat(N);
    let server = k.server(&[]);
    // The widget resumes from nothing and sends at once, as it does with what is pending.
    let mut w = resume(&server, &site, &token, 0);
    w.send(json!({"type": "message", "client_id": "fresh", "text": "sent during the replay"}));
    let (end, got) = w.read_until(Duration::from_secs(20), |fs| {
        ack_of(fs, "fresh").is_some() && has_seq(fs, conv, N)
    });
    assert_eq!(end, End::Done, "{}", brief(&got));
    // Every seq-bearing frame, in order: entries as `message`, the widget's own as `ack`.
    let order: Vec<i64> = got
        .iter()
        .filter(|f| (f["type"] == "message" || f["type"] == "ack") && f["conversation_id"] == conv)
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (1..=N + 1).collect();
    assert!(
        order == expected,
        "seq-bearing frames in this order: {} ({})",
        runs(&order),
        brief(&got)
    );
    assert_eq!(ack_of(&got, "fresh"), Some(N + 1));
    assert!(w.view.problems.is_empty(), "{:?}", w.view.problems);
}

/// Defect 3: sockets that stop reading are closed with 1013, what each received is a
/// contiguous prefix of every conversation (nothing after a refused frame), and resuming from
/// there brings exactly the rest.
///
/// Ann has a few dashboard sockets open, all of which stop reading. One of them accepts a
/// waiting chat with a long history, which is replayed to all of them; then the visitors of
/// her other chats write long texts as fast as they may: more than the sockets' queues (1,024
/// frames) and the TCP buffers behind them hold.
#[test]
fn a_client_that_stops_reading_is_closed_and_resumes_without_a_hole() {
    /// Ann's sockets, her open chats (whose visitors write), and the long waiting chat.
    const SOCKETS: usize = 4;
    const SMALL: usize = 24;
    const PER_SMALL: usize = 80;
    const PER_BIG: usize = 20;
    const BIG: i64 = 3000;
    let (k, pw, site) = setup();
    // Twenty-five visitors, all from this one test address: more than the limits for one
    // address allow, which are not what this test is about.
    let limits = "[chat]\nsockets_per_address = 0\nstarts_per_address_per_minute = 0\n";
    std::fs::write(k.config_file(), limits).unwrap();
    k.ok(&[
        "agent",
        "set",
        "acme",
        "ann@acme.example",
        "--capacity",
        "40",
    ]);
    let (chats, big, big_token) = {
        let mut server = k.server(&[]);
        let (_b, mut a) = ann(&server, &pw);
        let mut chats = Vec::new();
        let mut widgets = Vec::new();
        for i in 0..SMALL {
            let (w, conv, token) = widget(&server, &site, &format!("V{i}"));
            widgets.push(w);
            accept(&mut a, conv); // seq 1
            chats.push((conv, token));
        }
        let (w, big, big_token) = widget(&server, &site, "Long");
        drop((a, w, widgets));
        server.stop();
        (chats, big, big_token)
    };
    // The waiting chat's visitor wrote a lot.
    seed(&k, big, None, 1, BIG, |s| format!("b{s}"));
    let server = k.server(&[]);
    let b = sign_in(&server, &pw);

    // Ann's sockets say hello (nothing to replay) and then stop reading.
    let seen: BTreeMap<i64, i64> = chats
        .iter()
        .map(|(c, _)| (*c, 1))
        .chain([(big, 0)])
        .collect();
    let small_seen: Vec<[i64; 2]> = chats.iter().map(|(c, _)| [*c, 1]).collect();
    let mut stuck: Vec<Client> = (0..SOCKETS)
        .map(|_| {
            let mut c = Client::new(Ws::agent(&b));
            c.send(json!({"type": "hello", "seen": small_seen}));
            let (end, got) = c.read_until(Duration::from_secs(10), |fs| {
                fs.iter().any(|f| f["type"] == "ready")
            });
            assert_eq!(end, End::Done, "{}", brief(&got));
            assert_eq!(c.ping_pong().0, End::Done);
            c
        })
        .collect();
    let epoch = stuck[0]
        .frames
        .iter()
        .find(|f| f["type"] == "ready")
        .and_then(epoch);
    // From here on none of them reads. One takes the long chat: its history goes to all of them.
    stuck[0].send(json!({"type": "accept", "conversation_id": big}));

    // The visitors write long texts, as fast as the rate limit lets them.
    let writers: Vec<(i64, String, usize, i64)> = chats
        .iter()
        .map(|(c, t)| (*c, t.clone(), PER_SMALL, 1))
        .chain([(big, big_token.clone(), PER_BIG, BIG)])
        .collect();
    let senders: Vec<_> = writers
        .into_iter()
        .map(|(conv, token, n, last_seq)| {
            let mut w = resume(&server, &site, &token, last_seq);
            std::thread::spawn(move || {
                let t0 = Instant::now();
                for i in 0..n {
                    if i >= 38 {
                        // 20 frames/s after a burst of 40 (resume was one of them).
                        let due = t0 + Duration::from_millis(55 * (i as u64 - 37));
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    let id = format!("c{conv}-{i}");
                    // 4000 characters of 4 bytes each: about 16 KB a frame, so that a few
                    // MB of socket buffers hold few frames and the queue limit is soon reached.
                    let text = format!("{conv}/{i} {}", "🙂".repeat(3980));
                    w.view.sent.insert(id.clone(), text.clone());
                    w.send(json!({"type": "message", "client_id": id, "text": text}));
                }
                let (end, got) = w.read_until(Duration::from_secs(20), |fs| {
                    fs.iter().filter(|f| f["type"] == "ack").count() == n
                });
                let errors: Vec<&Value> = got.iter().filter(|f| f["type"] == "error").collect();
                assert!(errors.is_empty(), "{errors:?}");
                assert_eq!(end, End::Done, "acks of {conv}: {}", brief(&got));
                (conv, seqs_of_acks(&got))
            })
        })
        .collect();
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    for h in senders {
        let (conv, acked) = h.join().unwrap();
        last.insert(conv, acked.into_iter().max().unwrap());
    }

    // Everything is stored and fanned out. Now each socket reads what it was sent.
    let mut problems = Vec::new();
    let mut resume_from = Vec::new();
    for (n, c) in stuck.iter_mut().enumerate() {
        let from = c.frames.len();
        let (end, _) = c.read_until(Duration::from_secs(10), |_| false);
        let got = &c.frames[from..];
        if end != End::Closed(Some(1013)) {
            problems.push(format!(
                "socket {n}, which did not read, ended with {end:?}, not close 1013; frames: {}",
                brief(got)
            ));
        }
        let mut contiguous: BTreeMap<i64, i64> = BTreeMap::new();
        for (conv, after) in &seen {
            let s = seqs(got, *conv);
            let prefix: Vec<i64> = (after + 1..).take(s.len()).collect();
            if s != prefix {
                problems.push(format!(
                    "socket {n}, conversation {conv}: after seq {after} it received {} before \
                     the close, not a contiguous prefix",
                    runs(&s)
                ));
            }
            let mut upto = *after;
            while s.contains(&(upto + 1)) {
                upto += 1;
            }
            contiguous.insert(*conv, upto);
        }
        resume_from.push(contiguous);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Each resumes from its last contiguous seqs and gets exactly the rest, each once, in order.
    for (n, contiguous) in resume_from.iter().enumerate() {
        let mut back = Client::new(Ws::agent(&b));
        let seen_list: Vec<[i64; 2]> = contiguous.iter().map(|(c, s)| [*c, *s]).collect();
        let mut hello = json!({"type": "hello", "seen": seen_list});
        if let Some(e) = &epoch {
            hello["epoch"] = json!(e);
        }
        back.send(hello);
        let everything = |fs: &[Value]| {
            last.iter()
                .all(|(c, l)| contiguous[c] >= *l || has_seq(fs, *c, *l))
        };
        let (end, mut frames) = back.read_until(Duration::from_secs(20), everything);
        if end == End::Done {
            let (end, more) = back.ping_pong();
            assert_eq!(end, End::Done, "pong after the replay");
            frames.extend(more);
        }
        let mut wrong = Vec::new();
        for (conv, l) in &last {
            let expected: Vec<i64> = (contiguous[conv] + 1..=*l).collect();
            let got = seqs(&frames, *conv);
            if got != expected {
                wrong.push(format!(
                    "conversation {conv}: expected {}, received {}",
                    runs(&expected),
                    runs(&got)
                ));
            }
        }
        if end != End::Done || !wrong.is_empty() {
            problems.push(format!(
                "socket {n} resuming: {end:?}; {}; frames: {}",
                wrong.join("; "),
                brief(&frames)
            ));
        }
        problems.extend(back.view.problems.iter().cloned());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn seqs_of_acks(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f["type"] == "ack")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect()
}

/// How many chat entries `backup restore --json` says it dropped for `slug`.
fn dropped_entries(out: &Value, slug: &str) -> Option<i64> {
    out["tenants"]
        .as_array()?
        .iter()
        .find(|t| t["slug"] == slug)
        .and_then(|t| t["dropped_entries"].as_i64())
}

/// Defect 4: after `backup restore` on a running server no seq a client holds is reused with
/// other content: clients whose log was replaced get `reset` and the restored log.
#[test]
fn restore_under_live_chat_resets_clients_and_reuses_no_seq() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (mut b, mut a) = ann(&server, &pw);
    let (mut v, conv, token) = widget(&server, &site, "Vera");
    let site_epoch = v
        .frames
        .iter()
        .find(|f| f["type"] == "welcome")
        .and_then(epoch);
    let dash_epoch = a
        .frames
        .iter()
        .find(|f| f["type"] == "ready")
        .and_then(epoch);
    accept(&mut a, conv); // seq 1
    assert_eq!(v.say(None, "v-1", "before the backup"), 2);
    let (end, got) = a.read_until(Duration::from_secs(10), |fs| has_seq(fs, conv, 2));
    assert_eq!(end, End::Done, "{}", brief(&got));
    let file = k.json(&["backup", "create"])["file"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(v.say(None, "v-2", "after the backup"), 3);
    assert_eq!(a.say(Some(conv), "a-1", "agent after the backup"), 4);
    let (end, got) = v.read_until(Duration::from_secs(10), |fs| has_seq(fs, conv, 4));
    assert_eq!(end, End::Done, "{}", brief(&got));
    let before = vec![
        (1, "accepted".to_string()),
        (2, "before the backup".to_string()),
        (3, "after the backup".to_string()),
        (4, "agent after the backup".to_string()),
    ];
    assert_eq!(v.view.entries(conv), before);
    assert_eq!(a.view.entries(conv), before);

    let restored = k.json(&["backup", "restore", &file, "--yes"]);
    // The tenant's sockets are let go; the clients reconnect.
    for c in [&mut v, &mut a] {
        let (end, _) = c.read_until(Duration::from_secs(10), |_| false);
        assert_eq!(
            end,
            End::Closed(Some(1013)),
            "sockets closed by the restore"
        );
    }

    // Everything that goes wrong from here is collected, so one run shows all of it.
    let mut problems: Vec<String> = Vec::new();
    let replayed = |fs: &[Value]| {
        fs.iter()
            .position(|f| f["type"] == "reset" && f["conversation_id"] == conv)
            .is_some_and(|r| has_seq(&fs[r..], conv, 2))
            && fs.iter().any(|f| f["type"] == "pong")
    };

    // The widget resumes with what it holds: last_seq 4 and its epoch.
    let mut v2 = Client::new(Ws::visitor(&server.base, &site, SHOP).unwrap());
    v2.view = std::mem::take(&mut v.view);
    let mut frame = json!({"type": "resume", "token": token, "last_seq": 4});
    if let Some(e) = &site_epoch {
        frame["epoch"] = json!(e);
    }
    v2.send(frame);
    v2.send(json!({"type": "ping"}));
    let (end, got) = v2.read_until(Duration::from_secs(3), replayed);
    problems.extend(reset_problem(
        "widget resuming with last_seq 4",
        &got,
        end,
        conv,
    ));
    let welcome_epoch = got.iter().find(|f| f["type"] == "welcome").and_then(epoch);
    match (&site_epoch, &welcome_epoch) {
        (_, None) => problems.push("welcome carries no epoch".into()),
        (Some(old), Some(new)) if old == new => {
            problems.push("the restore left the log's epoch unchanged".into())
        }
        _ => {}
    }

    // The dashboard likewise, through hello.
    let mut a2 = Client::new(match Ws::agent_from(&b, &server.base) {
        Ok(ws) => ws,
        // A session newer than the backup is gone with the restore.
        Err(401) => {
            assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
            Ws::agent(&b)
        }
        Err(status) => panic!("dashboard socket refused: {status}"),
    });
    a2.view = std::mem::take(&mut a.view);
    let mut hello = json!({"type": "hello", "seen": [[conv, 4]]});
    if let Some(e) = &dash_epoch {
        hello["epoch"] = json!(e);
    }
    a2.send(hello);
    a2.send(json!({"type": "ping"}));
    let (end, got) = a2.read_until(Duration::from_secs(3), replayed);
    problems.extend(reset_problem(
        &format!("dashboard hello with seen [[{conv}, 4]]"),
        &got,
        end,
        conv,
    ));
    let ready_epoch = got.iter().find(|f| f["type"] == "ready").and_then(epoch);
    if ready_epoch.is_none() {
        problems.push("ready carries no epoch".into());
    } else if ready_epoch != welcome_epoch {
        problems.push(format!(
            "ready's epoch {ready_epoch:?} differs from welcome's {welcome_epoch:?}"
        ));
    }

    // The chat goes on: new entries take seq 3 and 4 again, now with other content, and
    // every client's view is the restored log plus what followed, no seq reused under it.
    let (v_mark, a_mark) = (v2.frames.len(), a2.frames.len());
    assert_eq!(v2.say(None, "v-3", "after the restore"), 3);
    assert_eq!(a2.say(Some(conv), "a-2", "agent after the restore"), 4);
    let (end, got) = v2.read_since(v_mark, Duration::from_secs(10), |fs| has_seq(fs, conv, 4));
    assert_eq!(end, End::Done, "{}", brief(&got));
    let (end, got) = a2.read_since(a_mark, Duration::from_secs(10), |fs| has_seq(fs, conv, 3));
    assert_eq!(end, End::Done, "{}", brief(&got));
    for c in [&mut v2, &mut a2] {
        assert_eq!(c.ping_pong().0, End::Done);
    }
    let after = vec![
        (1, "accepted".to_string()),
        (2, "before the backup".to_string()),
        (3, "after the restore".to_string()),
        (4, "agent after the restore".to_string()),
    ];
    for (who, c) in [("widget", &v2), ("dashboard", &a2)] {
        problems.extend(c.view.problems.iter().map(|p| format!("{who}: {p}")));
        let held = c.view.entries(conv);
        if held != after {
            problems.push(format!(
                "{who} holds {held:?}, not the restored log plus what followed {after:?}"
            ));
        }
    }

    // The operator is told what the restore dropped: the 2 entries acknowledged after the backup.
    if dropped_entries(&restored, "acme") != Some(2) {
        problems.push(format!(
            "`backup restore --json` does not state the 2 dropped entries: {restored}"
        ));
    }
    assert!(
        problems.is_empty(),
        "a restore under live chat:\n{}",
        problems.join("\n")
    );
}

/// Where a client whose log was replaced did not get `reset` and then exactly seq 1..=2.
fn reset_problem(what: &str, frames: &[Value], end: End, conv: i64) -> Option<String> {
    let Some(reset) = frames
        .iter()
        .position(|f| f["type"] == "reset" && f["conversation_id"] == conv)
    else {
        return Some(format!(
            "{what} after a restore to seq 2: no reset ({end:?}); got: {}",
            brief(frames)
        ));
    };
    let before = seqs(&frames[..reset], conv);
    let after = seqs(&frames[reset..], conv);
    (!before.is_empty() || after != [1, 2]).then(|| {
        format!(
            "{what}: expected reset then seq 1..=2; got: {}",
            brief(frames)
        )
    })
}
