//! Criterion benches of the hot paths, in process and on the real code: frame parsing and
//! encoding, a tenant hub persisting chat messages with group commit (encrypted SQLCipher,
//! WAL, `synchronous=FULL`), page-view ingest through the hub, and one visitor's change fanned
//! out to 200 agent sockets, and opening a tenant. `cargo bench --bench hot_paths`; under `cargo test` each runs
//! once as a smoke test.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kontor::config::SessionConfig;
use kontor::model::tracking::{self, Campaign};
use kontor::realtime::hub::{
    self, Command, Frame, HubHandle, Outgoing, PageView, Peer, TrackEvent, TrackKind, TrackReply,
};
use kontor::realtime::protocol::{AgentIn, MessageOut, Out, VisitorIn};
use kontor::store::Store;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A data dir with one tenant and its hub.
struct Tenant {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    uuid: String,
    hub: HubHandle,
}

fn tenant() -> Tenant {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    Store::init(&data).unwrap();
    let store = Arc::new(Store::open(&data).unwrap());
    let t = store.create_tenant("bench", "Bench").unwrap();
    let db = store.tenant_db(&t.uuid).unwrap();
    let hub = spawn_hub(db);
    Tenant {
        _dir: dir,
        store,
        uuid: t.uuid,
        hub,
    }
}

/// A tenant's hub as the server starts it (no waiting limit, no forms, no senders).
fn spawn_hub(db: Arc<kontor::store::TenantDb>) -> HubHandle {
    hub::spawn(
        db,
        SessionConfig::default(),
        Duration::from_secs(60),
        kontor::clock::Clock::system(),
        0,
        Default::default(),
        Arc::new(|_: &str| Ok(Default::default())),
    )
}

fn join(hub: &HubHandle, conn: u64, peer: Peer) -> mpsc::Receiver<Outgoing> {
    let (tx, rx) = mpsc::channel(hub::OUTBOX);
    assert!(hub.send(Command::Join {
        conn,
        peer,
        out: tx
    }));
    rx
}

/// Receives frames until one contains `needle`.
fn until(rx: &mut mpsc::Receiver<Outgoing>, needle: &str) -> Frame {
    loop {
        if let Outgoing::Frame(f) = rx.blocking_recv().expect("hub closed the socket")
            && f.contains(needle)
        {
            return f;
        }
    }
}

fn frames(c: &mut Criterion) {
    let raw = r#"{"type":"message","conversation_id":4711,"client_id":"c-8f3a2b","text":"Guten Tag, wann kommt meine Bestellung an? Die Nummer ist 123456."}"#;
    c.bench_function("frame/parse agent message", |b| {
        b.iter(|| black_box(serde_json::from_str::<AgentIn>(black_box(raw)).unwrap()))
    });
    let out = Out::Message(Box::new(MessageOut {
        conversation_id: 4711,
        seq: 42,
        author: "agent".into(),
        author_name: Some("Ann".into()),
        text: "Ihre Bestellung kommt morgen an.".into(),
        file: None,
        at: 1_764_220_000,
    }));
    c.bench_function("frame/encode message", |b| {
        b.iter(|| black_box(black_box(&out).encode()))
    });
}

/// 100 visitor messages queued at once, the time until all 100 acks are back: each ack is
/// sent only after the batch's COMMIT.
fn persist(c: &mut Criterion) {
    let t = tenant();
    let mut rx = join(&t.hub, 1, visitor_peer());
    t.hub.send(Command::Visitor(1, start()));
    until(&mut rx, "\"welcome\"");
    let mut n = 0u64;
    let mut g = c.benchmark_group("hub");
    g.throughput(Throughput::Elements(100));
    g.bench_function(
        "persist 100 messages (group commit, ack after COMMIT)",
        |b| {
            b.iter(|| {
                for _ in 0..100 {
                    n += 1;
                    assert!(t.hub.send(Command::Visitor(
                        1,
                        VisitorIn::Message {
                            client_id: format!("m{n}"),
                            text: "Wann kommt meine Bestellung?".into(),
                        },
                    )));
                }
                let mut acks = 0;
                while acks < 100 {
                    if let Outgoing::Frame(f) = rx.blocking_recv().unwrap()
                        && f.contains("\"ack\"")
                    {
                        acks += 1;
                    }
                }
            })
        },
    );
    g.finish();
    t.hub.send(Command::Stop);
    let _ = &t.store;
}

fn view(n: u64) -> TrackEvent {
    TrackEvent {
        site_key: "site".into(),
        consented_site: false,
        key: {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&(n / 5).to_be_bytes());
            k
        },
        vid: None,
        pv: format!("{n:016x}"),
        at: 1_764_220_000 + (n / 5) as i64,
        kind: TrackKind::View(Box::new(PageView {
            url: format!("https://shop.example/p{}", n % 5),
            title: format!("Page {}", n % 5),
            referrer: tracking::classify_referrer("https://www.google.de/", "shop.example"),
            campaign: Campaign::default(),
            agent: tracking::parse_agent(
                "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            ),
            lang: "de-DE".into(),
            ui_lang: "de".into(),
            screen: "1920x1080".into(),
            ip: "203.0.113.0".into(),
            country: None,
        })),
    }
}

/// 100 page views (20 visitors reading 5 pages each) handed to the hub at once, until every
/// one is answered after its COMMIT.
fn ingest(c: &mut Criterion) {
    let t = tenant();
    let mut n = 0u64;
    let mut g = c.benchmark_group("hub");
    g.throughput(Throughput::Elements(100));
    g.bench_function("ingest 100 page views (durable answer)", |b| {
        b.iter(|| {
            let replies: Vec<_> = (0..100)
                .map(|_| {
                    n += 1;
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    assert!(t.hub.send(Command::Track(view(n), tx)));
                    rx
                })
                .collect();
            for r in replies {
                assert!(matches!(r.blocking_recv(), Ok(TrackReply::Stored(_))));
            }
        })
    });
    g.finish();
    t.hub.send(Command::Stop);
}

/// One page view, until the `visitor` frame has reached each of 200 agent sockets.
fn fanout(c: &mut Criterion) {
    let t = tenant();
    let db = t.store.tenant_db(&t.uuid).unwrap();
    let agent_id = db
        .with(|c| {
            Ok(kontor::store::tenant::insert_agent(c, "a@bench.example", "Ann", "agent", "x")?.id)
        })
        .unwrap();
    let mut agents = Vec::new();
    for i in 0..200u64 {
        let token_hash = kontor::crypto::token_hash(&format!("session-{i}"));
        db.with(|c| {
            kontor::store::tenant::insert_session(
                c,
                &token_hash,
                agent_id,
                kontor::clock::now(),
                &Default::default(),
            )
        })
        .unwrap();
        let mut rx = join(
            &t.hub,
            100 + i,
            Peer::Agent {
                agent_id,
                name: "Ann".into(),
                token_hash,
                permissions: kontor::model::rights::Permissions::all(),
            },
        );
        t.hub.send(Command::Agent(
            100 + i,
            AgentIn::Hello {
                seen: Vec::new(),
                epoch: None,
            },
        ));
        until(&mut rx, "\"visitors\"");
        agents.push(rx);
    }
    let mut n = 0u64;
    let mut g = c.benchmark_group("hub");
    g.bench_function("fan out one visitor change to 200 agents", |b| {
        b.iter(|| {
            n += 1;
            let (tx, rx) = tokio::sync::oneshot::channel();
            assert!(t.hub.send(Command::Track(view(n * 5), tx)));
            let _ = rx.blocking_recv();
            for a in agents.iter_mut() {
                until(a, "\"visitor\"");
            }
        })
    });
    g.finish();
    t.hub.send(Command::Stop);
}

/// Opening a tenant that is not open: unwrap its key, open the SQLCipher file with the raw
/// key, check the schema version.
fn open_tenant(c: &mut Criterion) {
    let t = tenant();
    t.hub.send(Command::Stop);
    c.bench_function("store/open a tenant (cold)", |b| {
        b.iter(|| {
            t.store.evict(&t.uuid);
            black_box(t.store.tenant_db(&t.uuid).unwrap());
        })
    });
}

/// A visitor socket on the bench site.
fn visitor_peer() -> Peer {
    Peer::Visitor {
        address: "192.0.2.0".into(),
        greeting: Default::default(),
        site_key: "site".into(),
        visitor_key: None,
        notice_current: 1,
    }
}

/// A visitor's `start` of a chat.
fn start() -> VisitorIn {
    VisitorIn::Start {
        consent: true,
        notice_version: "1".into(),
        name: "Vera".into(),
        email: String::new(),
        lang: "de".into(),
        department: None,
        fields: Default::default(),
        token: None,
        after_faq: false,
    }
}

/// A visitor's first chat on a tenant, with its hub running and with the tenant closed for
/// idleness (database and hub): the difference is what reopening costs the first visitor.
/// Each chat is ended afterwards, so every reopen loads the same (empty) live state.
fn reopen_tenant(c: &mut Criterion) {
    let t = tenant();
    let mut conn = 0u64;
    let mut chat = |hub: &HubHandle| {
        conn += 1;
        let mut rx = join(hub, conn, visitor_peer());
        hub.send(Command::Visitor(conn, start()));
        until(&mut rx, "\"welcome\"");
        hub.send(Command::Visitor(conn, VisitorIn::End {}));
        until(&mut rx, "\"closed\"");
        hub.send(Command::Leave(conn));
    };
    let mut g = c.benchmark_group("tenant");
    g.bench_function("first chat, hub running (start to welcome)", |b| {
        b.iter(|| chat(&t.hub))
    });
    t.hub.send(Command::Stop);
    g.bench_function(
        "first chat, hub restarted (database kept open, start hub, start to welcome)",
        |b| {
            b.iter(|| {
                let hub = spawn_hub(t.store.tenant_db(&t.uuid).unwrap());
                chat(&hub);
                hub.send(Command::Stop);
            })
        },
    );
    // The reopen alone: the previous round's hub and database are gone (closed, WAL
    // checkpointed, as an idle close leaves them) before the clock starts.
    let last: std::cell::RefCell<Option<(HubHandle, std::sync::Weak<kontor::store::TenantDb>)>> =
        Default::default();
    g.bench_function(
        "first chat, tenant reopened (open database, start hub, start to welcome)",
        |b| {
            b.iter_batched(
                || {
                    if let Some((hub, db)) = last.borrow_mut().take() {
                        hub.send(Command::Stop);
                        drop(hub);
                        while db.strong_count() > 0 {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                        // The last reference is gone once its drop began; the close (the
                        // checkpoint and its syncs) still runs on the hub's thread. An open
                        // during it waits on SQLite's lock with millisecond sleeps, which an
                        // idle close (minutes before the next visitor) never causes.
                        std::thread::sleep(Duration::from_millis(20));
                    }
                },
                |()| {
                    let db = t.store.tenant_db(&t.uuid).unwrap();
                    let weak = Arc::downgrade(&db);
                    let hub = spawn_hub(db);
                    t.store.evict(&t.uuid);
                    chat(&hub);
                    *last.borrow_mut() = Some((hub, weak));
                },
                criterion::BatchSize::PerIteration,
            )
        },
    );
    g.finish();
}

criterion_group!(
    benches,
    frames,
    persist,
    ingest,
    fanout,
    open_tenant,
    reopen_tenant
);
criterion_main!(benches);
