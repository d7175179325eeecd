//! Hostile input for every parser: property tests that feed the real parsing code arbitrary
//! and half-valid input and check it never panics, stays within its bounds and answers in
//! bounded time. `docs/security-testing.md` says what each target feeds and how to run many
//! more cases (`KONTOR_HOSTILE_CASES`).

use kontor::domain::protocol::{AgentIn, MAX_FRAME_BYTES, VisitorIn, check_message};
use kontor::model::tracking as track;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Cases per target: `KONTOR_HOSTILE_CASES`, else few enough for the ordinary test run.
fn cases() -> u32 {
    std::env::var("KONTOR_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2_000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // Regressions are kept as plain tests below, with their literal input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Generous even for a debug build on a busy machine; a parser that loops or backtracks on
/// crafted input blows through it.
const PER_INPUT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// Socket frames

const TYPES: &[&str] = &[
    "start", "resume", "message", "typing", "end", "rate", "ping", "hello", "status", "accept",
    "close", "note", "transfer", "invite", "pong", "", "Message", "message ",
];

const FIELDS: &[&str] = &[
    "type",
    "consent",
    "notice_version",
    "name",
    "email",
    "lang",
    "department",
    "token",
    "last_seq",
    "epoch",
    "client_id",
    "text",
    "score",
    "comment",
    "seen",
    "status",
    "conversation_id",
    "to_agent",
    "to_department",
    "visitor_id",
    "admin",
    "__proto__",
    "$where",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        any::<String>().prop_map(Value::String),
        "[A-Za-z0-9_-]{0,70}".prop_map(Value::String),
        prop_oneof![Just("online"), Just("away"), Just("offline"), Just("busy")]
            .prop_map(|s| Value::String(s.into())),
        // Long strings: past the text and client-id limits, up to past a whole frame.
        (0usize..70_000, any::<char>()).prop_map(|(n, c)| Value::String(c.to_string().repeat(n))),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// An object shaped like a frame: a `type` (usually a known one) and known or odd fields.
fn frame_object() -> impl Strategy<Value = String> {
    (
        prop::sample::select(TYPES),
        prop::collection::vec((prop::sample::select(FIELDS), value()), 0..6),
        any::<bool>(),
    )
        .prop_map(|(t, fields, type_last)| {
            let mut m = Map::new();
            if !type_last {
                m.insert("type".into(), Value::String(t.into()));
            }
            for (k, v) in fields {
                m.insert(k.to_string(), v);
            }
            if type_last {
                m.insert("type".into(), Value::String(t.into()));
            }
            Value::Object(m).to_string()
        })
}

/// Numbers no `serde_json::Value` can hold, as raw text in a frame's number fields.
fn huge_number_frame() -> impl Strategy<Value = String> {
    (
        prop::sample::select(TYPES),
        prop::sample::select(FIELDS),
        "-?[0-9]{1,400}(\\.[0-9]{1,60})?([eE][+-]?[0-9]{1,7})?",
    )
        .prop_map(|(t, f, n)| format!(r#"{{"type":"{t}","{f}":{n},"client_id":"a","text":"x"}}"#))
}

/// Nesting past serde_json's recursion limit (128), in arrays, objects or a mix.
fn deep_frame() -> impl Strategy<Value = String> {
    (
        1usize..2_000,
        prop::sample::select(&["[", "{\"seen\":", "{\"type\":\"hello\",\"seen\":"][..]),
    )
        .prop_map(|(depth, open)| {
            let close = if open == "[" { "]" } else { "}" };
            format!("{}1{}", open.repeat(depth), close.repeat(depth))
        })
}

/// A valid frame with one byte range replaced: the shapes a broken or malicious client makes.
fn mutated_valid_frame() -> impl Strategy<Value = String> {
    let valid = prop::sample::select(
        &[
            r#"{"type":"message","client_id":"m-1","text":"hello"}"#,
            r#"{"type":"start","consent":true,"notice_version":"v1","name":"A","email":"a@b.c","lang":"de","department":2,"token":null}"#,
            r#"{"type":"resume","token":"site_00.abcdef","last_seq":12,"epoch":"e1"}"#,
            r#"{"type":"rate","score":5,"comment":"ok"}"#,
            r#"{"type":"typing","text":"dra"}"#,
            r#"{"type":"hello","seen":[[1,2],[3,4]],"epoch":null}"#,
            r#"{"type":"transfer","conversation_id":9,"to_agent":null,"to_department":3}"#,
            r#"{"type":"note","conversation_id":9,"client_id":"n_1","text":"internal"}"#,
            r#"{"type":"status","status":"away"}"#,
            r#"{"type":"invite","visitor_id":4,"text":"Hi"}"#,
        ][..],
    );
    (
        valid,
        any::<prop::sample::Index>(),
        0usize..8,
        any::<String>(),
    )
        .prop_map(|(v, at, len, with)| {
            let mut s = v.to_string();
            let start = at.index(s.len() + 1).min(s.len());
            let end = (start + len).min(s.len());
            s.replace_range(start..end, &with);
            s
        })
}

fn any_frame() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        frame_object(),
        huge_number_frame(),
        deep_frame(),
        mutated_valid_frame(),
    ]
}

/// Parses a frame both ways, as the sockets do, and runs the message checks on what parses.
fn parse_frame(frame: &str) {
    let start = Instant::now();
    if let Ok(v) = serde_json::from_str::<VisitorIn>(frame) {
        match v {
            VisitorIn::Message { client_id, text } => {
                let _ = check_message(&client_id, &text);
            }
            VisitorIn::Typing { text: Some(text) } => {
                let _ = check_message("t", &text);
            }
            _ => {}
        }
    }
    if let Ok(a) = serde_json::from_str::<AgentIn>(frame) {
        let _ = a.conversation_id();
        match a {
            AgentIn::Message {
                client_id, text, ..
            }
            | AgentIn::Note {
                client_id, text, ..
            } => {
                let _ = check_message(&client_id, &text);
            }
            _ => {}
        }
    }
    let _ = serde_json::from_slice::<VisitorIn>(frame.as_bytes());
    let took = start.elapsed();
    assert!(
        took < PER_INPUT,
        "a frame of {} bytes took {took:?} to parse",
        frame.len()
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn socket_frames(frame in any_frame()) {
        // The sessions refuse larger frames before parsing; parse them all the same.
        let _ = MAX_FRAME_BYTES;
        parse_frame(&frame);
    }
}

// ---------------------------------------------------------------------------------------
// The tracking report: page address, referrer, campaign, User-Agent, invitation rules

fn url_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(https?|HTTP|HtTpS|ftp|javascript|data)(://|:/|:)[a-zA-Z0-9@:%.\\[\\]é-]{0,30}(/[^#?]{0,30})?(\\?([a-z_%0-9A-F+é]{0,12}(=[^&#]{0,12})?&?){0,6})?(#.{0,10})?",
        "https?://(www\\.|m\\.|l\\.)?(google|bing|t|x|search\\.brave|facebook|é)\\.(de|co\\.uk|com|xn--p1ai|)(:[0-9]{0,6})?/[a-z]{0,5}\\?utm_(source|medium|campaign|term|content)=[^&#]{0,200}",
        (0usize..5_000, any::<char>())
            .prop_map(|(n, c)| format!("https://a.example/{}", c.to_string().repeat(n))),
    ]
}

fn user_agent() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (".{0,20}", ".{0,20}", ".{0,20}").prop_map(|(a, b, c)| format!(
            "Mozilla/5.0 (Windows NT {a}; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{b} Safari/{c}"
        )),
        (".{0,20}", ".{0,20}").prop_map(|(a, b)| format!(
            "Mozilla/5.0 (iPhone; CPU iPhone OS {a} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{b} Mobile/15E148 Safari/604.1"
        )),
        (".{0,20}", ".{0,20}").prop_map(|(a, b)| format!(
            "Mozilla/5.0 (Linux; Android {a}; SM-X) AppleWebKit/537.36 (KHTML, like Gecko) Firefox/{b}"
        )),
        ".{0,20}".prop_map(|a| format!("Mozilla/5.0 (compatible; MSIE {a}; Windows NT 6.1; Trident/5.0)")),
        ".{0,20}".prop_map(|a| format!("Googlebot/{a} (+http://www.google.com/bot.html)")),
        (0usize..9_000).prop_map(|n| format!("Mozilla/5.0 ({})", "(".repeat(n))),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tracking_report(
        url in url_like(),
        referrer in url_like(),
        ua in user_agent(),
        strip in prop::collection::vec(prop_oneof![Just("*".to_string()), "[a-z_]{0,8}", any::<String>()], 0..4),
        pattern in prop_oneof![any::<String>(), "[a-zé/*.:]{0,12}", url_like()],
    ) {
        let start = Instant::now();
        if let Some(clean) = track::clean_url(&url, &strip) {
            // Only pieces of the input are kept ("/" is added when there is no path).
            prop_assert!(clean.chars().count() <= track::MAX_URL);
            prop_assert!(clean.len() <= url.trim().len() + 1);
            let host = track::host_of(&clean).unwrap_or_default();
            prop_assert!(host.len() <= clean.len());
            let c = track::campaign_of(&clean);
            for v in [&c.source, &c.medium, &c.campaign, &c.term, &c.content] {
                prop_assert!(v.chars().count() <= 100);
            }
            let r = track::classify_referrer(&referrer, &host);
            prop_assert!(r.url.chars().count() <= track::MAX_URL);
            prop_assert!(r.url.len() <= referrer.len() && r.host.len() <= referrer.len());
            // An admin's rule pattern against the visitor's address (the hub checks rules on
            // every page view).
            let _ = track::glob(&pattern, &clean);
        }
        let c = track::campaign_of(&url);
        for v in [&c.source, &c.medium, &c.campaign, &c.term, &c.content] {
            prop_assert!(v.chars().count() <= 100);
        }
        let _ = track::glob(&pattern, &url);
        let _ = track::glob(&url, &pattern);
        let agent = track::parse_agent(&ua);
        // woothee's names are short constants; versions are pieces of the header.
        prop_assert!(agent.browser.len() <= ua.len() + 64, "browser {:?}", agent.browser);
        prop_assert!(agent.os.len() <= ua.len() + 64, "os {:?}", agent.os);
        prop_assert!(["desktop", "smartphone", "tablet", "other"].contains(&agent.device));
        let title = track::cut(url.trim(), track::MAX_TITLE);
        prop_assert!(title.chars().count() <= track::MAX_TITLE);
        let took = start.elapsed();
        prop_assert!(took < PER_INPUT, "took {:?}", took);
    }
}

// ---------------------------------------------------------------------------------------
// The configuration file

const CONFIG_KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "public_url",
    "trusted_proxy",
    "log",
    "tls",
    "session",
    "backup",
    "tracking",
    "chat",
    "uploads",
    "cert",
    "key",
    "idle_minutes",
    "absolute_hours",
    "dir",
    "keep",
    "unknown",
];

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "-?[0-9_]{1,40}(\\.[0-9]{0,20})?([eE][+-]?[0-9]{1,5})?",
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        "\"(https?://)?[a-z0-9.:\\[\\]/@]{0,30}\"",
        "\"(127\\.0\\.0\\.1|0\\.0\\.0\\.0|\\[::\\]|::1)?:[0-9]{0,6}\"",
        (1usize..300).prop_map(|d| format!("{}1{}", "[".repeat(d), "]".repeat(d))),
        (1usize..300).prop_map(|d| format!("{}1{}", "{a=".repeat(d), "}".repeat(d))),
        "'''.{0,30}'''",
        Just("[]".to_string()),
    ]
}

fn toml_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        (prop::sample::select(CONFIG_KEYS), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        prop::sample::select(CONFIG_KEYS).prop_map(|k| format!("[{k}]")),
        prop::sample::select(CONFIG_KEYS).prop_map(|k| format!("[[{k}]]")),
        (
            prop::sample::select(CONFIG_KEYS),
            prop::sample::select(CONFIG_KEYS),
            toml_value()
        )
            .prop_map(|(a, b, v)| format!("{a}.{b} = {v}")),
        any::<String>(),
    ];
    prop_oneof![
        prop::collection::vec(line, 0..12).prop_map(|l| l.join("\n")),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_file(text in toml_text()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kontor.toml");
        std::fs::write(&path, &text).unwrap();
        let flags = kontor::config::Overrides {
            config: Some(path),
            ..Default::default()
        };
        let start = Instant::now();
        // Ok or a clean error; a panic fails the test.
        let _ = kontor::config::Config::load_from(&flags, &BTreeMap::new());
        prop_assert!(start.elapsed() < PER_INPUT);
    }
}

// ---------------------------------------------------------------------------------------
// Archives (tenant imports, backup restores)

fn member_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("manifest.json".to_string()),
        "tenants/[0-9a-f-]{0,36}\\.db",
        "[a-z./\\\\é]{1,20}",
    ]
}

/// A small archive as kontor writes them (GNU headers, mode 0600).
fn valid_tar(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, body) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        // A path tar refuses to write is simply not part of this archive.
        let _ = b.append_data(&mut h, path, &body[..]);
    }
    b.into_inner().unwrap_or_default()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    /// Writes an octal number into a header's size field (bytes 124..136 of a block).
    Size(prop::sample::Index, u64),
    /// Sets a header's type flag (byte 156 of a block).
    Kind(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Extend(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u64>()).prop_map(|(i, n)| Mutation::Size(i, n)),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(&b"0123456789DgGKLSVxX\0"[..])
        )
            .prop_map(|(i, b)| Mutation::Kind(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        prop::collection::vec(any::<u8>(), 0..1100).prop_map(Mutation::Extend),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let blocks = bytes.len() / 512;
    match m {
        Mutation::Flip(i, b) if !bytes.is_empty() => {
            let i = i.index(bytes.len());
            bytes[i] ^= b;
        }
        Mutation::Size(i, n) if blocks > 0 => {
            let at = i.index(blocks) * 512 + 124;
            let text = format!("{:011o}\0", n % (1 << 33));
            bytes[at..at + 12].copy_from_slice(&text.as_bytes()[..12]);
            fix_cksum(&mut bytes[at - 124..at - 124 + 512]);
        }
        Mutation::Kind(i, b) if blocks > 0 => {
            let at = i.index(blocks) * 512;
            bytes[at + 156] = *b;
            fix_cksum(&mut bytes[at..at + 512]);
        }
        Mutation::Truncate(i) => {
            let len = i.index(bytes.len() + 1);
            bytes.truncate(len);
        }
        Mutation::Extend(more) => bytes.extend_from_slice(more),
        _ => {}
    }
}

/// Recomputes a header block's checksum, so a mutation reaches past the checksum test.
fn fix_cksum(block: &mut [u8]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(text.as_bytes());
}

fn archive_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4096),
        (
            prop::collection::vec(
                (member_path(), prop::collection::vec(any::<u8>(), 0..1500)),
                0..4
            ),
            prop::collection::vec(mutation(), 0..4),
        )
            .prop_map(|(members, mutations)| {
                let mut bytes = valid_tar(&members);
                for m in &mutations {
                    mutate(&mut bytes, m);
                }
                bytes
            }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn archives(bytes in archive_bytes(), max_members in 1usize..50) {
        let start = Instant::now();
        if let Ok(members) = kontor::store::archive::read_all(&bytes, max_members) {
            // Whatever a member's header claims, what comes out fits in the archive.
            prop_assert!(members.len() <= max_members);
            let total: usize = members.iter().map(|(_, n)| n).sum();
            prop_assert!(total <= bytes.len());
            for (path, _) in &members {
                prop_assert!(!path.starts_with('/') && !path.split('/').any(|p| p == ".."));
            }
        }
        prop_assert!(start.elapsed() < PER_INPUT);
    }
}

// ---------------------------------------------------------------------------------------
// Tenant exports: the readers past the archive layer (manifest, table rows)

/// The members of a real plain export (a tenant with agents, roles, settings and an audit
/// chain), made once per test run.
fn export_members() -> &'static Vec<(String, Vec<u8>)> {
    static MEMBERS: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    MEMBERS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        kontor::store::Store::init(&data).unwrap();
        let store = kontor::store::Store::open(&data).unwrap();
        store.create_tenant("acme", "Acme GmbH").unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        db.with(|c| {
            for (email, name) in [("ann@acme.example", "Ann"), ("bob@acme.example", "Bö b")] {
                kontor::store::tenant::insert_agent(c, email, name, "admin", "x")?;
            }
            Ok(())
        })
        .unwrap();
        let file = dir.path().join("acme.tar");
        kontor::store::tenant_export::export(&store, "acme", &file, None, &mut |_| {}).unwrap();
        let bytes = std::fs::read(&file).unwrap();
        let mut out = Vec::new();
        let mut tar = tar::Archive::new(&bytes[..]);
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut body).unwrap();
            out.push((path, body));
        }
        assert!(kontor::store::tenant_export::inspect(&bytes, None).is_ok());
        out
    })
}

/// One change to an export's contents before it is packed again.
#[derive(Debug, Clone)]
enum ExportChange {
    /// A field of the manifest (by a path of keys and indexes) set to any JSON value.
    Manifest(Vec<prop::sample::Index>, Value),
    /// One line of a table replaced by these bytes.
    Line(prop::sample::Index, prop::sample::Index, Vec<u8>),
    /// One line of a table replaced by this JSON value.
    LineJson(prop::sample::Index, prop::sample::Index, Value),
    /// A member replaced by arbitrary bytes.
    Member(prop::sample::Index, Vec<u8>),
    /// A member dropped.
    Drop(prop::sample::Index),
}

fn export_change() -> impl Strategy<Value = ExportChange> {
    let idx = any::<prop::sample::Index>;
    prop_oneof![
        (prop::collection::vec(idx(), 1..4), value())
            .prop_map(|(p, v)| ExportChange::Manifest(p, v)),
        (idx(), idx(), prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(m, l, b)| ExportChange::Line(m, l, b)),
        (idx(), idx(), value()).prop_map(|(m, l, v)| ExportChange::LineJson(m, l, v)),
        (idx(), prop::collection::vec(any::<u8>(), 0..600))
            .prop_map(|(m, b)| ExportChange::Member(m, b)),
        idx().prop_map(ExportChange::Drop),
    ]
}

/// Sets the value at `path` (object keys and array items chosen by index) to `v`.
fn set_at(target: &mut Value, path: &[prop::sample::Index], v: Value) {
    let Some((first, rest)) = path.split_first() else {
        *target = v;
        return;
    };
    let next = match target {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(first.index(m.len())).cloned().unwrap();
            m.get_mut(&key)
        }
        Value::Array(a) if !a.is_empty() => {
            let i = first.index(a.len());
            a.get_mut(i)
        }
        _ => None,
    };
    match next {
        Some(n) => set_at(n, rest, v),
        None => *target = v,
    }
}

/// Replaces one line of `body` (chosen by `l`) with `new`.
fn replace_line(body: &mut Vec<u8>, l: &prop::sample::Index, new: Vec<u8>) {
    let mut lines: Vec<Vec<u8>> = body.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    let i = l.index(lines.len());
    lines[i] = new;
    *body = lines.join(&b'\n');
}

fn change_export(members: &mut Vec<(String, Vec<u8>)>, c: &ExportChange) {
    let n = members.len();
    match c {
        ExportChange::Manifest(path, v) => {
            if let Some((_, body)) = members.iter_mut().find(|(p, _)| p == "manifest.json") {
                let mut m: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                set_at(&mut m, path, v.clone());
                *body = serde_json::to_vec(&m).unwrap();
            }
        }
        ExportChange::Line(m, l, bytes) if n > 0 => {
            replace_line(&mut members[m.index(n)].1, l, bytes.clone())
        }
        ExportChange::LineJson(m, l, v) if n > 0 => {
            replace_line(
                &mut members[m.index(n)].1,
                l,
                serde_json::to_vec(v).unwrap(),
            );
        }
        ExportChange::Member(m, bytes) if n > 0 => members[m.index(n)].1 = bytes.clone(),
        ExportChange::Drop(m) if n > 0 => {
            members.remove(m.index(n));
        }
        _ => {}
    }
}

fn export_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(export_change(), 1..4).prop_map(|changes| {
            let mut members = export_members().clone();
            for c in &changes {
                change_export(&mut members, c);
            }
            valid_tar(&members)
        }),
        1 => prop::collection::vec(mutation(), 1..4).prop_map(|ms| {
            let mut bytes = valid_tar(export_members());
            for m in &ms {
                mutate(&mut bytes, m);
            }
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..2048),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tenant_exports(bytes in export_bytes()) {
        let start = Instant::now();
        if let Ok(tables) = kontor::store::tenant_export::inspect(&bytes, None) {
            // Every row is a line of the archive: none made up.
            let rows: u64 = tables.iter().map(|(_, n)| n).sum();
            prop_assert!(rows as usize <= bytes.len());
        }
        prop_assert!(start.elapsed() < PER_INPUT);
    }
}

// ---------------------------------------------------------------------------------------
// Names, origins, site keys and site settings

proptest! {
    #![proptest_config(config())]

    #[test]
    fn validators(
        s in prop_oneof![any::<String>(), "(https?|HTTPS|ftp)://[a-zA-Z0-9.:\\[\\]@/é-]{0,30}/?", ".{0,3}"],
        list in prop::collection::vec(any::<String>(), 0..4),
        max in 0usize..300,
    ) {
        if let Ok(name) = kontor::model::tenants::clean_name("name", &s, max) {
            prop_assert!(!name.is_empty() && name.chars().count() <= max);
        }
        if let Ok(origin) = kontor::config::normalize_origin(&s) {
            // A normal form is its own normal form.
            let again = kontor::config::normalize_origin(&origin);
            prop_assert_eq!(again.ok(), Some(origin));
        }
        let _ = kontor::model::tenants::validate_slug(&s);
        let _ = kontor::model::tenants::canonical_uuid(&s);
        let _ = kontor::model::sites::check_site_key(&s);
        let _ = kontor::model::sites::clean_tracking(Some(&s), Some(&list));
        let _ = kontor::model::sites::clean_look(Some(&s), Some(&s), Some(&s), Some(&s));
    }
}

// ---------------------------------------------------------------------------------------
// Uploads: the type sniffer and the names a file is stored and offered under

/// Magic numbers, whole and cut short.
const UPLOAD_MAGIC: &[&[u8]] = &[
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"RIFF",
    b"WEBP",
    b"%PDF-",
    b"\x89PNG",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn uploads(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            (
                prop::sample::select(UPLOAD_MAGIC),
                prop::collection::vec(any::<u8>(), 0..16),
                any::<bool>(),
            )
                .prop_map(|(m, rest, riff)| {
                    let mut b = m.to_vec();
                    b.extend(rest);
                    if riff && b.len() >= 12 {
                        b[..4].copy_from_slice(b"RIFF");
                        b[8..12].copy_from_slice(b"WEBP");
                    }
                    b
                }),
        ],
        name in prop_oneof![
            any::<String>(),
            "[a-zA-Z0-9 ._/\\\\-]{0,20}(\\.[a-zA-Z0-9]{0,10})?",
            "[\\x00-\\x1f\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}\\u{200e}\\u{200f}./\\\\é a-z]{0,30}",
            (0usize..500, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
        ],
        mime in prop_oneof![
            prop::sample::select(&["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/html", ""][..]).prop_map(str::to_string),
            any::<String>(),
        ],
    ) {
        use kontor::domain::files;
        let start = Instant::now();
        if let Ok(m) = files::sniff(&bytes) {
            let magic: &[&[u8]] = &[b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"%PDF-"];
            prop_assert!(magic.iter().any(|p| bytes.starts_with(p)), "{:?} sniffed as {}", bytes, m);
        }
        let clean = files::clean_name(&name);
        prop_assert!(!clean.is_empty() && clean.chars().count() <= 100);
        prop_assert!(!clean.contains(['/', '\\']) && !clean.starts_with('.'), "{:?}", clean);
        prop_assert!(!clean.chars().any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')), "{:?}", clean);
        for m in [mime.as_str(), files::sniff(&bytes).unwrap_or("")] {
            let offered = files::download_name(&clean, m);
            let ext = match m {
                "image/png" => Some(&["png"][..]),
                "image/jpeg" => Some(&["jpg", "jpeg"][..]),
                "image/gif" => Some(&["gif"][..]),
                "image/webp" => Some(&["webp"][..]),
                "application/pdf" => Some(&["pdf"][..]),
                _ => None,
            };
            match ext {
                // The offered name ends in an extension of the stored type.
                Some(ext) => {
                    let last = offered.rsplit_once('.').map(|(_, l)| l.to_ascii_lowercase());
                    prop_assert!(last.is_some_and(|l| ext.contains(&l.as_str())), "{:?} for {}", offered, m);
                }
                None => prop_assert_eq!(&offered, &clean),
            }
            let cd = files::content_disposition(&offered);
            // A header value, ASCII only, with one quoted name that nothing breaks out of.
            prop_assert!(actix_web::http::header::HeaderValue::from_str(&cd).is_ok(), "{:?}", cd);
            prop_assert!(cd.is_ascii() && cd.matches('"').count() == 2, "{:?}", cd);
            prop_assert!(!cd.contains([';', '\r', '\n']) || cd.matches(';').count() == 2, "{:?}", cd);
        }
        prop_assert!(start.elapsed() < PER_INPUT);
    }
}

// ---------------------------------------------------------------------------------------
// The admin socket: the JSON line the CLI sends to the server

const ADMIN_CMDS: &[&str] = &[
    "ping",
    "agent_add",
    "agent_disable",
    "agent_list",
    "agent_logout",
    "agent_passwd",
    "agent_sessions",
    "agent_set",
    "agent_unlock",
    "audit_list",
    "audit_verify",
    "backup_create",
    "backup_restore",
    "department_add",
    "department_list",
    "retention_purge",
    "retention_set",
    "retention_show",
    "site_add",
    "site_list",
    "site_tracking",
    "tenant_create",
    "tenant_delete",
    "tenant_export",
    "tenant_import",
    "tenant_list",
    "tenant_rekey",
    "tenant_show",
    "gdpr_find",
    "gdpr_export",
    "gdpr_erase",
    "stats",
    "",
    "Ping",
    "tenant_create ",
];

const ADMIN_FIELDS: &[&str] = &[
    "cmd",
    "action",
    "audit",
    "backup_key",
    "by",
    "capacity",
    "chat",
    "chats",
    "color",
    "departments",
    "dir",
    "email",
    "file",
    "files",
    "from",
    "head",
    "json",
    "lang",
    "limit",
    "mode",
    "name",
    "new_email",
    "new_name",
    "no_departments",
    "offline",
    "origins",
    "out",
    "page_views",
    "passphrase",
    "password",
    "plain",
    "position",
    "privacy_url",
    "role",
    "site_key",
    "slug",
    "strip",
    "tenant",
    "to",
    "tracking",
    "value",
    "visitor",
    "visitors",
    "yes",
    "kind",
    "__proto__",
];

fn admin_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(ADMIN_FIELDS), inner), 0..5).prop_map(
                |kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            ),
        ]
    })
}

fn admin_line() -> impl Strategy<Value = Vec<u8>> {
    let object = (
        prop::sample::select(ADMIN_CMDS),
        prop::collection::vec((prop::sample::select(ADMIN_FIELDS), admin_value()), 0..8),
    )
        .prop_map(|(cmd, fields)| {
            let mut m = Map::new();
            m.insert("cmd".into(), Value::String(cmd.into()));
            for (k, v) in fields {
                m.insert(k.to_string(), v);
            }
            Value::Object(m).to_string().into_bytes()
        })
        .boxed();
    prop_oneof![
        6 => object.clone(),
        1 => any::<String>().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => (1usize..3_000).prop_map(|d| format!("{}1{}", "[".repeat(d), "]".repeat(d)).into_bytes()),
        // Past the 64 KiB the server reads of a line.
        1 => (60_000usize..70_000).prop_map(|n| format!(r#"{{"cmd":"tenant_create","slug":"{}"}}"#, "a".repeat(n)).into_bytes()),
        2 => (object, any::<prop::sample::Index>(), 0usize..6, prop::collection::vec(any::<u8>(), 0..6))
            .prop_map(|(mut b, at, len, with)| {
                let start = at.index(b.len() + 1).min(b.len());
                let end = (start + len).min(b.len());
                b.splice(start..end, with);
                b
            }),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// What the socket does with a line before it runs a command: read at most 64 KiB up to
    /// a newline (as `tokio`'s `read_line` on `take(64 KiB)`), parse it as a `Request`, name it
    /// for the log. Commands are not run: the caller is already the operator.
    #[test]
    fn admin_socket(bytes in admin_line()) {
        use kontor::admin::Request;
        let start = Instant::now();
        let cut = &bytes[..bytes.len().min(64 * 1024)];
        let line = match cut.iter().position(|&b| b == b'\n') {
            Some(i) => &cut[..=i],
            None => cut,
        };
        // read_line refuses a line that is not UTF-8 before the parse.
        if let Ok(line) = std::str::from_utf8(line)
            && let Ok(req) = serde_json::from_str::<Request>(line)
        {
            let name = req.name();
            prop_assert!(!name.is_empty() || matches!(req, Request::Server(_)), "{:?}", req);
            // Its wire form reads back as itself.
            let wire = serde_json::to_string(&req).unwrap();
            let back: Request = serde_json::from_str(&wire).unwrap();
            prop_assert_eq!(back.name(), name);
        }
        prop_assert!(start.elapsed() < PER_INPUT);
    }
}

// ---------------------------------------------------------------------------------------
// Request headers we read ourselves: forwarded address and scheme from the trusted proxy,
// Host and Origin, Accept-Language and the language cookie, session cookies, `next`

fn header_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..64),
        "[ -~]{0,60}".prop_map(String::into_bytes),
        // Forwarded chains: addresses, ports, brackets, junk between commas.
        prop::collection::vec(
            prop_oneof![
                any::<std::net::IpAddr>().prop_map(|ip| ip.to_string()),
                any::<std::net::SocketAddr>().prop_map(|a| a.to_string()),
                "\\[?[0-9a-fA-F:.%a-z]{0,40}\\]?",
                " *(unknown|_hidden|HTTPS|https|http|hTtPs) *",
            ],
            0..6
        )
        .prop_map(|v| v.join(",").into_bytes()),
        // Accept-Language: tags, weights, wildcards.
        prop::collection::vec(
            "([a-zA-Z]{0,9}(-[a-zA-Z0-9]{0,9}){0,3}|\\*)(;q=[0-9.e-]{0,6})?",
            0..8
        )
        .prop_map(|v| v.join(", ").into_bytes()),
        // Hosts with ports, IPv6, user info.
        "([a-z0-9@:.\\[\\]-]|é){0,40}".prop_map(String::into_bytes),
        (0usize..9_000).prop_map(|n| "de,".repeat(n).into_bytes()),
    ]
}

fn cookie_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.[0-9a-zA-Z_-]{60,68}",
        "(\\{|urn:uuid:)?[0-9a-fA-F-]{32,36}\\}?\\.[ -~]{64}",
        "@TENANT@\\.[ -~]{0,70}",
        "[ -~]{0,80}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn request_headers(
        headers in prop::collection::vec(
            (prop::sample::select(&["x-forwarded-for", "x-forwarded-proto", "host", "origin", "accept-language", "sec-fetch-site", "cookie"][..]), header_text()),
            0..8
        ),
        from_proxy in any::<bool>(),
        public_url in any::<bool>(),
        query in "(lang=[a-zA-Z-]{0,8}&?|[a-z=&%0-9]{0,8}){0,3}",
        session in cookie_value(),
        next in prop_oneof![any::<String>(), "[/\\\\a-z:.\\t\\n -]{0,20}"],
    ) {
        use kontor::http::{client::Client, lang, login::safe_next};
        let fx = header_fixture();
        let start = Instant::now();
        let proxy: std::net::SocketAddr = "10.0.0.9:443".parse().unwrap();
        let peer = if from_proxy { proxy } else { "192.0.2.7:5000".parse().unwrap() };
        let mut req = actix_web::test::TestRequest::default()
            .uri(&format!("/login?{query}"))
            .peer_addr(peer);
        let mut sent = Vec::new();
        for (name, value) in &headers {
            if let Ok(v) = actix_web::http::header::HeaderValue::from_bytes(value) {
                req = req.append_header((*name, v));
                sent.push((*name, value.clone()));
            }
        }
        let req = req.to_http_request();
        let state = if public_url { &fx.with_public_url } else { &fx.without };
        let client = Client::of(&req, state);
        if !from_proxy {
            prop_assert_eq!(client.ip, peer.ip());
            prop_assert_eq!(client.scheme, "http");
        }
        if public_url {
            prop_assert_eq!(client.origin.as_str(), OUR_ORIGIN);
        } else if !client.origin.is_empty() {
            // What is compared with Origin is a normal form.
            let again = kontor::config::normalize_origin(&client.origin).ok();
            prop_assert_eq!(again.as_deref(), Some(client.origin.as_str()));
        }
        let _ = client.same_origin(&req);
        let _ = client.shown_ip();
        let _ = lang::pick(&req);
        for (name, value) in &sent {
            if *name == "accept-language" {
                let _ = kontor::i18n::Lang::from_accept_language(&String::from_utf8_lossy(value));
            }
        }
        // A session cookie of any shape, against the fixture's tenant.
        let cookie = session.replace("@TENANT@", &fx.tenant_uuid);
        let found = kontor::domain::auth::authenticate(&state.store, &state.config.session, &state.clock, &cookie);
        prop_assert!(found.is_err(), "{:?} opened a session", cookie);
        let shown = safe_next(&next);
        prop_assert!(shown == "/app/chats" || shown == next);
        prop_assert!(shown.starts_with('/') && !shown.starts_with("//") && !shown.contains('\\'));
        prop_assert!(!shown.chars().any(|c| c.is_control() || c.is_whitespace()));
        prop_assert!(start.elapsed() < PER_INPUT);
    }
}

/// App states over one data directory (with a tenant): one behind a trusted proxy without a
/// public URL, so the origin comes from `Host`, one with a public URL.
struct HeaderFixture {
    _fx: HttpFixture,
    without: kontor::http::AppState,
    with_public_url: kontor::http::AppState,
    tenant_uuid: String,
}

fn header_fixture() -> &'static HeaderFixture {
    static FX: std::sync::OnceLock<HeaderFixture> = std::sync::OnceLock::new();
    FX.get_or_init(|| {
        let fx = http_fixture();
        let state = |public: bool| {
            let s = &fx.data;
            let mut config = s.config.clone();
            config.trusted_proxy = Some("10.0.0.9".parse().unwrap());
            config.public_url = public.then(|| OUR_ORIGIN.to_string());
            kontor::http::AppState {
                store: s.store.clone(),
                config,
                throttle: s.throttle.clone(),
                clock: s.clock.clone(),
                demo: false,
                realtime: s.realtime.clone(),
                backups: s.backups.clone(),
                tracking: s.tracking.clone(),
                uploads: kontor::http::files::AddressLimits::new(&s.config.uploads),
                audit_checked: Default::default(),
                mail: None,
                mail_status: Default::default(),
                read_log: s.read_log.clone(),
                api_limits: Default::default(),
                metrics_token: None,
                status_cache: Default::default(),
                hooks: s.hooks.clone(),
                lookups: s.lookups.clone(),
            }
        };
        let tenant_uuid = fx.cookie.split('.').next().unwrap().to_string();
        HeaderFixture {
            without: state(false),
            with_public_url: state(true),
            tenant_uuid,
            _fx: fx,
        }
    })
}

// ---------------------------------------------------------------------------------------
// The operator's offline GeoIP database (`tracking.geoip_db`, a MaxMind `.mmdb`)

/// MaxMind DB data-section encoding: a control byte (type, size), extended types after it.
fn mm_ctrl(ty: u8, size: usize) -> Vec<u8> {
    let (t, ext) = if ty > 7 {
        (0u8, Some(ty - 7))
    } else {
        (ty, None)
    };
    let mut out = Vec::new();
    let mut push_size = |first: u8| out.push((t << 5) | first);
    if size < 29 {
        push_size(size as u8);
    } else if size < 29 + 256 {
        push_size(29);
    } else if size < 285 + 65_536 {
        push_size(30);
    } else {
        push_size(31);
    }
    if let Some(e) = ext {
        out.push(e);
    }
    if (29..285).contains(&size) {
        out.push((size - 29) as u8);
    } else if (285..285 + 65_536).contains(&size) {
        out.extend_from_slice(&((size - 285) as u16).to_be_bytes());
    } else if size >= 285 + 65_536 {
        let n = size - 65_821;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    out
}

fn mm_str(s: &str) -> Vec<u8> {
    let mut b = mm_ctrl(2, s.len());
    b.extend_from_slice(s.as_bytes());
    b
}

fn mm_uint(ty: u8, v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let mut b = mm_ctrl(ty, 8 - skip);
    b.extend_from_slice(&bytes[skip..]);
    b
}

fn mm_map(pairs: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = mm_ctrl(7, pairs.len());
    for (k, v) in pairs {
        b.extend(mm_str(k));
        b.extend_from_slice(v);
    }
    b
}

#[derive(Debug, Clone)]
struct Mmdb {
    node_count: u32,
    record_size: u16,
    ip_version: u16,
    major: u16,
    /// A node's records, before they are packed (the tree is `node_count` of these).
    records: Vec<u32>,
    /// The data section (after the 16 zero bytes).
    data: Vec<u8>,
    /// The metadata map as written, or replaced by any bytes.
    raw_meta: Option<Vec<u8>>,
    flips: Vec<(prop::sample::Index, u8)>,
    cut: Option<prop::sample::Index>,
}

fn mm_bytes(m: &Mmdb) -> Vec<u8> {
    let mut out = Vec::new();
    let n = m.node_count as usize;
    let rs = m.record_size as usize;
    // The tree, as far as it can be written (a huge node count stays a lie in the metadata).
    for i in 0..n.min(256) {
        let l = m
            .records
            .get(2 * i % m.records.len().max(1))
            .copied()
            .unwrap_or(0);
        let r = m
            .records
            .get((2 * i + 1) % m.records.len().max(1))
            .copied()
            .unwrap_or(0);
        match rs {
            24 => {
                out.extend_from_slice(&l.to_be_bytes()[1..]);
                out.extend_from_slice(&r.to_be_bytes()[1..]);
            }
            28 => {
                out.extend_from_slice(&l.to_be_bytes()[1..]);
                out.push((((l >> 24) & 0x0f) << 4) as u8 | ((r >> 24) & 0x0f) as u8);
                out.extend_from_slice(&r.to_be_bytes()[1..]);
            }
            _ => {
                out.extend_from_slice(&l.to_be_bytes());
                out.extend_from_slice(&r.to_be_bytes());
            }
        }
    }
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&m.data);
    out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
    match &m.raw_meta {
        Some(raw) => out.extend_from_slice(raw),
        None => out.extend(mm_map(&[
            ("node_count", mm_uint(6, m.node_count.into())),
            ("record_size", mm_uint(5, m.record_size.into())),
            ("ip_version", mm_uint(5, m.ip_version.into())),
            ("database_type", mm_str("GeoLite2-Country")),
            ("languages", {
                let mut b = mm_ctrl(11, 1);
                b.extend(mm_str("en"));
                b
            }),
            ("binary_format_major_version", mm_uint(5, m.major.into())),
            ("binary_format_minor_version", mm_uint(5, 0)),
            ("build_epoch", mm_uint(9, 1_700_000_000)),
            ("description", mm_map(&[("en", mm_str("test"))])),
        ])),
    }
    for (i, b) in &m.flips {
        if !out.is_empty() {
            let i = i.index(out.len());
            out[i] ^= b;
        }
    }
    if let Some(c) = m.cut {
        out.truncate(c.index(out.len() + 1));
    }
    out
}

/// A data-section value: the country record the server reads, or other shapes of it.
fn mm_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[A-Za-z]{0,3}|.{0,4}"
            .prop_map(|code| mm_map(&[("country", mm_map(&[("iso_code", mm_str(&code))]))])),
        any::<u32>()
            .prop_map(|v| mm_map(&[("country", mm_map(&[("iso_code", mm_uint(6, v.into()))]))])),
        // A pointer (type 1) anywhere, a map claiming many entries, any bytes.
        (any::<u8>(), any::<u16>()).prop_map(|(a, b)| {
            let mut v = mm_map(&[("country", vec![0x20 | (a & 0x1f), (b >> 8) as u8, b as u8])]);
            v.extend(mm_map(&[("iso_code", mm_str("DE"))]));
            v
        }),
        (0usize..100_000).prop_map(|n| mm_ctrl(7, n)),
        (0usize..100_000).prop_map(|n| mm_ctrl(11, n)),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn mmdb() -> impl Strategy<Value = Vec<u8>> {
    let built = (
        prop_oneof![4 => 1u32..8, 1 => any::<u32>()],
        prop_oneof![4 => prop::sample::select(&[24u16, 28, 32][..]), 1 => any::<u16>()],
        prop_oneof![4 => prop::sample::select(&[4u16, 6][..]), 1 => any::<u16>()],
        prop_oneof![4 => Just(2u16), 1 => any::<u16>()],
        prop::collection::vec(prop_oneof![3 => 0u32..32, 1 => any::<u32>()], 1..16),
        mm_data(),
        prop::option::weighted(0.1, prop::collection::vec(any::<u8>(), 0..128)),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        prop::option::weighted(0.1, any::<prop::sample::Index>()),
    )
        .prop_map(
            |(node_count, record_size, ip_version, major, records, data, raw_meta, flips, cut)| {
                mm_bytes(&Mmdb {
                    node_count,
                    record_size,
                    ip_version,
                    major,
                    records,
                    data,
                    raw_meta,
                    flips,
                    cut,
                })
            },
        );
    prop_oneof![
        6 => built,
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
            b.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
            b
        }),
    ]
}

/// The generator's databases are real ones: unchanged, the server opens one and finds the
/// country in it (so the mutated ones reach the lookups).
#[test]
fn geoip_db_built_unchanged_answers() {
    let bytes = mm_bytes(&Mmdb {
        node_count: 1,
        record_size: 24,
        ip_version: 4,
        major: 2,
        // Left (first bit 0): the data at offset 0; right: nothing.
        records: vec![1 + 16, 1],
        data: mm_map(&[("country", mm_map(&[("iso_code", mm_str("de"))]))]),
        raw_meta: None,
        flips: Vec::new(),
        cut: None,
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("country.mmdb");
    std::fs::write(&path, &bytes).unwrap();
    let cfg = kontor::config::TrackingConfig {
        geoip_db: Some(path),
        ..Default::default()
    };
    let t = kontor::http::track::Tracking::new(&cfg).unwrap();
    assert_eq!(t.country("1.2.3.4".parse().unwrap()).as_deref(), Some("DE"));
    assert_eq!(t.country("200.2.3.4".parse().unwrap()), None);
}

proptest! {
    #![proptest_config(config())]

    /// The file as the server opens it at start (`Tracking::new`), then country lookups as
    /// every page view makes them: a clean error or an answer, never a panic.
    #[test]
    fn geoip_db(bytes in mmdb(), ips in prop::collection::vec(any::<std::net::IpAddr>(), 1..6)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("country.mmdb");
        std::fs::write(&path, &bytes).unwrap();
        let cfg = kontor::config::TrackingConfig {
            geoip_db: Some(path),
            ..Default::default()
        };
        let start = Instant::now();
        if let Ok(t) = kontor::http::track::Tracking::new(&cfg) {
            let fixed: [std::net::IpAddr; 4] = ["0.0.0.0".parse().unwrap(), "1.2.3.4".parse().unwrap(), "255.255.255.255".parse().unwrap(), "::1".parse().unwrap()];
            for ip in ips.iter().chain(fixed.iter()) {
                if let Some(c) = t.country(*ip) {
                    prop_assert!(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()), "{:?}", c);
                }
            }
        }
        prop_assert!(start.elapsed() < PER_INPUT);
    }
}

// ---------------------------------------------------------------------------------------
// Regressions: inputs the targets above found, kept literally.

/// A rule or goal pattern ending in text checked against an address ending in a multi-byte
/// character sliced inside that character and panicked (the hub checks these on every page
/// view, so one report stopped the tenant's hub).
#[test]
fn glob_on_an_address_ending_in_a_multibyte_character() {
    assert!(!track::glob("*a::aa", "https://a.example/𐀀𐀀"));
    assert!(!track::glob("*a", "é"));
    assert!(!track::glob("*/danke", "https://shop.example/ü"));
    assert!(track::glob("*/ü", "https://shop.example/ü"));
    let url = track::clean_url("https://a.example/𐀀𐀀", &[]).unwrap();
    assert!(!track::glob("*/thanks", &url));
}

/// Dots and spaces before a name left a name starting with a dot: ". ." was ".", and
/// ". .bashrc" the hidden name ".bashrc" (one dot and the spaces around it were trimmed once).
#[test]
fn upload_name_of_dots_and_spaces() {
    use kontor::domain::files::clean_name;
    assert_eq!(clean_name(". ."), "file");
    assert_eq!(clean_name(". .bashrc"), "bashrc");
    assert_eq!(clean_name(" . . report.pdf"), "report.pdf");
}

/// The error an in-process request to the app gets: status, code.
fn app_error(method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let sys = actix_web::rt::System::new();
    let fx = http_fixture();
    let app = sys.block_on(actix_web::test::init_service(kontor::http::app(
        fx.data.clone(),
    )));
    let uri = uri.replace("@SITE@", &fx.site);
    let req = actix_web::test::TestRequest::default()
        .method(actix_web::http::Method::from_bytes(method.as_bytes()).unwrap())
        .uri(&uri)
        .insert_header(("cookie", format!("kontor_session={}", fx.cookie)))
        .insert_header(("x-csrf-token", fx.csrf.as_str()))
        .insert_header((
            "origin",
            if uri.starts_with("/api/track") {
                SHOP_ORIGIN
            } else {
                OUR_ORIGIN
            },
        ))
        .insert_header(("content-type", content_type))
        .set_payload(body)
        .to_request();
    let (status, body) = sys.block_on(async {
        let res = actix_web::test::call_service(&app, req).await;
        let status = res.status().as_u16();
        (status, actix_web::test::read_body(res).await)
    });
    fx.data.realtime.stop_all();
    let v: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("{status}: not JSON: {}", String::from_utf8_lossy(&body)));
    (
        status,
        v["error"]["code"].as_str().unwrap_or_default().to_string(),
    )
}

/// A path id past i64 (or no number) was answered by actix's plain-text 404 ("can not parse
/// ... to a i64"), not the JSON error every other answer is.
#[test]
fn path_id_that_is_no_number_is_a_json_not_found() {
    for id in ["9223372036854775808", "abc"] {
        let uri = format!("/api/goals/{id}");
        let got = app_error("PUT", &uri, "application/json", br#"{"name":"g"}"#.to_vec());
        assert_eq!(got, (404, "not_found".into()), "{uri}");
    }
}

/// A page-view report past 64 KiB was answered by actix's plain-text 413 ("payload reached
/// size limit") instead of the report's own `too_large`; uploads past their limit the same.
#[test]
fn body_past_the_limit_is_the_json_error() {
    let report = format!(r#"{{"t":"leave","pv":"{}"}}"#, "a".repeat(70_000)).into_bytes();
    let got = app_error("POST", "/api/track?site=@SITE@", "application/json", report);
    assert_eq!(got, (413, "too_large".into()));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(kontor::domain::files::MAX_BYTES + 2, 0);
    let got = app_error(
        "POST",
        "/api/files?conversation_id=1&name=a.png&client_id=c1",
        "image/png",
        png,
    );
    assert_eq!(got, (413, "file_too_large".into()));
}

// ---------------------------------------------------------------------------------------
// CSV cells of the statistics export

/// Reads one cell back as a spreadsheet would (RFC 4180 quoting), or `None` if it does not
/// stay one cell.
fn read_cell(c: &str) -> Option<String> {
    match c.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(inner) => {
            let without = inner.replace("\"\"", "");
            (!without.contains('"')).then(|| inner.replace("\"\"", "\""))
        }
        None => (!c.contains([',', '"', '\n', '\r'])).then(|| c.to_string()),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn csv_cells(s in prop_oneof![
        any::<String>(),
        "[=+@\\t\\r\"-]{0,3}[a-zA-Z0-9(),\" \\n.]{0,12}",
        "[+-]?(inf|infinity|nan|[0-9]{1,5}(\\.[0-9]{0,3})?(e[+-]?[0-9]{1,3})?)",
    ]) {
        let out = kontor::http::stats::cell(&s);
        let back = read_cell(&out);
        prop_assert!(back.is_some(), "{:?} is not one cell", out);
        let back = back.unwrap();
        // The text survives, at most behind the apostrophe that stops a formula.
        prop_assert!(back == s || back == format!("'{s}"), "{:?} read back as {:?}", s, back);
        if back.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            prop_assert!(s.parse::<f64>().is_ok(), "{:?} stays a formula", s);
        }
    }
}

// ---------------------------------------------------------------------------------------
// HTTP: every JSON body, form and query string, sent to the real app in-process

/// What type an endpoint's field has, so that some bodies get past deserialising into the
/// handler's own checks.
#[derive(Debug, Clone, Copy)]
enum Ty {
    S,
    I,
    F,
    B,
    /// A list of strings.
    L,
    /// A rule's conditions.
    Cond,
    /// A string the handler accepts only from this set.
    One(&'static [&'static str]),
}

/// How a request carries its input.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Carrier {
    Json,
    Form,
    /// A GET with a query string.
    Query,
    /// A query string and a body of raw bytes (uploads, the page-view report).
    QueryBytes,
}

/// One endpoint: method, path (`@ID@` is replaced by a generated path segment), how the input
/// is carried, and its fields. In paths, bodies and query strings `@SITE@` and `@OTHER@` become
/// the fixture's site keys and `@PRELOGIN@` the sign-in form's token (see `fill_bytes`).
#[derive(Debug)]
struct Endpoint {
    method: &'static str,
    path: &'static str,
    carrier: Carrier,
    fields: &'static [(&'static str, Ty)],
}

use Carrier::{Form, Json, Query, QueryBytes};
use Ty::{B, Cond, F, I, L, One, S};

const CAMPAIGN: &[(&str, Ty)] = &[
    ("id", I),
    ("name", S),
    ("channel", S),
    ("utm_source", S),
    ("utm_medium", S),
    ("utm_campaign", S),
    ("starts_on", S),
    ("ends_on", S),
    ("cost", F),
    ("cost_per_visit", F),
];
const GOAL: &[(&str, Ty)] = &[("id", I), ("name", S), ("url_pattern", S), ("value", F)];
const RULE: &[(&str, Ty)] = &[
    ("id", I),
    ("site_key", SITE),
    ("name", S),
    ("enabled", B),
    ("text", S),
    ("delay_seconds", I),
    ("once_per_visit", B),
    ("conditions", Cond),
];
const CONDITIONS: &[(&str, Ty)] = &[
    ("url", S),
    ("min_seconds_on_page", I),
    ("min_pages", I),
    ("referrer", S),
    ("campaign", S),
    ("min_visits", I),
];
const ROLE: &[(&str, Ty)] = &[("name", S), ("permissions", L)];
/// A site key: the fixture's (placeholders filled in when sent), or anything.
const SITE: Ty = One(&["@SITE@", "@OTHER@"]);
const BY: Ty = One(&["email", "name", "visitor", "chat", "conversation"]);
const SUBJECT: &[(&str, Ty)] = &[("by", BY), ("value", S)];
const PERIOD: &[(&str, Ty)] = &[
    ("from", S),
    ("to", S),
    (
        "table",
        One(&[
            "agents",
            "browsers",
            "campaigns",
            "pages",
            "sources",
            "goals",
            "days",
        ]),
    ),
];
const SITE_QUERY: &[(&str, Ty)] = &[("site", SITE), ("lang", S)];
const UPLOAD: &[(&str, Ty)] = &[
    ("site", SITE),
    ("conversation_id", I),
    ("name", S),
    ("client_id", S),
];
const TOKEN: &[(&str, Ty)] = &[("token", S)];
const WEBHOOK: &[(&str, Ty)] = &[
    (
        "url",
        One(&[
            "https://127.0.0.1/",
            "https://[::ffff:7f00:1]/",
            "http://10.0.0.1/",
            "",
        ]),
    ),
    ("events", L),
    ("enabled", B),
    ("description", S),
];

/// Every handler that takes `web::Json`, `web::Form` or `web::Query` (and the page-view
/// report and the uploads, which read their bytes themselves), with the fields of its type.
const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "POST",
        path: "/api/canned",
        carrier: Json,
        fields: &[("shortcut", S), ("text", S), ("shared", B)],
    },
    Endpoint {
        method: "PUT",
        path: "/api/settings",
        carrier: Json,
        fields: &[
            ("typing_preview", B),
            ("accept_message_de", S),
            ("accept_message_en", S),
        ],
    },
    Endpoint {
        method: "POST",
        path: "/api/campaigns",
        carrier: Json,
        fields: CAMPAIGN,
    },
    Endpoint {
        method: "PUT",
        path: "/api/campaigns/@ID@",
        carrier: Json,
        fields: CAMPAIGN,
    },
    Endpoint {
        method: "POST",
        path: "/api/goals",
        carrier: Json,
        fields: GOAL,
    },
    Endpoint {
        method: "PUT",
        path: "/api/goals/@ID@",
        carrier: Json,
        fields: GOAL,
    },
    Endpoint {
        method: "POST",
        path: "/api/rules",
        carrier: Json,
        fields: RULE,
    },
    Endpoint {
        method: "PUT",
        path: "/api/rules/@ID@",
        carrier: Json,
        fields: RULE,
    },
    Endpoint {
        method: "PUT",
        path: "/api/agents/@ID@",
        carrier: Json,
        fields: &[("display_name", S), ("role_id", I), ("disabled", B)],
    },
    Endpoint {
        method: "POST",
        path: "/api/roles",
        carrier: Json,
        fields: ROLE,
    },
    Endpoint {
        method: "PUT",
        path: "/api/roles/@ID@",
        carrier: Json,
        fields: ROLE,
    },
    Endpoint {
        method: "POST",
        path: "/api/sites/@SITE@/notices",
        carrier: Json,
        fields: &[("text_de", S), ("text_en", S)],
    },
    Endpoint {
        method: "PUT",
        path: "/api/sites/@OTHER@/tracking",
        carrier: Json,
        fields: &[
            ("tracking", One(&["off", "anonymous", "consented"])),
            ("strip", L),
        ],
    },
    Endpoint {
        method: "PUT",
        path: "/api/retention",
        carrier: Json,
        fields: &[
            ("chats_days", I),
            ("files_days", I),
            ("offline_days", I),
            ("page_views_days", I),
            ("visitors_days", I),
            ("audit_days", I),
        ],
    },
    Endpoint {
        method: "POST",
        path: "/api/gdpr/rectify",
        carrier: Json,
        fields: &[("by", BY), ("value", S), ("name", S), ("email", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/gdpr/erase",
        carrier: Json,
        fields: &[("by", BY), ("value", S), ("confirm", B)],
    },
    Endpoint {
        method: "POST",
        path: "/api/gdpr/restrict",
        carrier: Json,
        fields: &[("by", BY), ("value", S), ("reason", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/widget/files/@ID@",
        carrier: Json,
        fields: TOKEN,
    },
    Endpoint {
        method: "POST",
        path: "/api/widget/transcript",
        carrier: Json,
        fields: TOKEN,
    },
    Endpoint {
        method: "POST",
        path: "/api/widget/offline",
        carrier: Json,
        fields: &[
            ("site", SITE),
            ("name", S),
            ("email", S),
            ("message", S),
            ("consent", B),
            ("lang", S),
        ],
    },
    Endpoint {
        method: "POST",
        path: "/api/widget/offline-from-chat",
        carrier: Json,
        fields: &[("token", S), ("email", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/widget/transcript-email",
        carrier: Json,
        fields: &[("token", S), ("email", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/blocks",
        carrier: Json,
        fields: &[
            ("conversation_id", I),
            ("visitor_id", I),
            ("address", B),
            ("period", One(&["1h", "1d", "30d", "2h", ""])),
            ("reason", S),
        ],
    },
    Endpoint {
        method: "PUT",
        path: "/api/sites/@SITE@/form",
        carrier: Json,
        fields: &[("fields", L), ("departments", L)],
    },
    Endpoint {
        method: "PUT",
        path: "/api/hours",
        carrier: Json,
        fields: &[("hours", S)],
    },
    Endpoint {
        method: "PUT",
        path: "/api/departments/@ID@/hours",
        carrier: Json,
        fields: &[("hours", S)],
    },
    Endpoint {
        method: "PUT",
        path: "/api/email/addresses",
        carrier: Json,
        fields: &[
            ("inbox", L),
            ("alerts", L),
            ("lang", One(&["de", "en", "fr", ""])),
        ],
    },
    Endpoint {
        method: "POST",
        path: "/api/webhooks",
        carrier: Json,
        fields: WEBHOOK,
    },
    Endpoint {
        method: "PUT",
        path: "/api/webhooks/@ID@",
        carrier: Json,
        fields: WEBHOOK,
    },
    Endpoint {
        method: "GET",
        path: "/api/webhooks/deliveries",
        carrier: Query,
        fields: &[("endpoint", I)],
    },
    Endpoint {
        method: "POST",
        path: "/api/offline/@ID@/reply",
        carrier: Json,
        fields: &[("text", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/conversations/@ID@/reply",
        carrier: Json,
        fields: &[("text", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/track",
        carrier: QueryBytes,
        fields: &[
            ("t", One(&["view", "ping", "leave", "invite", "goal"])),
            ("pv", S),
            ("url", S),
            ("title", S),
            ("ref", S),
            ("lang", S),
            ("screen", S),
            ("vid", S),
            ("id", I),
            ("result", One(&["shown", "accepted", "dismissed"])),
            ("name", S),
            ("value", F),
        ],
    },
    Endpoint {
        method: "POST",
        path: "/api/files",
        carrier: QueryBytes,
        fields: UPLOAD,
    },
    Endpoint {
        method: "POST",
        path: "/api/widget/files",
        carrier: QueryBytes,
        fields: UPLOAD,
    },
    Endpoint {
        method: "POST",
        path: "/login",
        carrier: Form,
        fields: &[
            ("tenant", S),
            ("email", S),
            ("password", S),
            ("csrf", One(&["@PRELOGIN@"])),
            ("next", S),
        ],
    },
    Endpoint {
        method: "POST",
        path: "/logout",
        carrier: Form,
        fields: &[("csrf", S)],
    },
    Endpoint {
        method: "POST",
        path: "/login/code",
        carrier: Form,
        fields: &[("code", S), ("csrf", One(&["@PRELOGIN@"])), ("next", S)],
    },
    Endpoint {
        method: "POST",
        path: "/login/enrol",
        carrier: Form,
        fields: &[("code", S), ("csrf", One(&["@PRELOGIN@"])), ("next", S)],
    },
    Endpoint {
        method: "GET",
        path: "/login/code",
        carrier: Query,
        fields: &[("next", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/two-factor/confirm",
        carrier: Json,
        fields: &[("code", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/two-factor/recovery-codes",
        carrier: Json,
        fields: &[("code", S)],
    },
    Endpoint {
        method: "POST",
        path: "/api/two-factor/disable",
        carrier: Json,
        fields: &[("code", S)],
    },
    Endpoint {
        method: "PUT",
        path: "/api/roles/@ID@/two-factor",
        carrier: Json,
        fields: &[("required", B)],
    },
    Endpoint {
        method: "GET",
        path: "/api/audit/reads",
        carrier: Query,
        fields: &[
            ("since", I),
            ("until", I),
            ("actor", S),
            ("what", S),
            ("object", S),
            ("before_id", I),
            ("limit", I),
        ],
    },
    Endpoint {
        method: "GET",
        path: "/login",
        carrier: Query,
        fields: &[("next", S), ("lang", S)],
    },
    Endpoint {
        method: "GET",
        path: "/api/audit",
        carrier: Query,
        fields: &[
            ("since", I),
            ("until", I),
            ("actor", S),
            ("action", S),
            ("result", S),
            ("before_id", I),
            ("limit", I),
        ],
    },
    Endpoint {
        method: "GET",
        path: "/api/conversations",
        carrier: Query,
        fields: &[("q", S), ("from", S), ("to", S)],
    },
    Endpoint {
        method: "GET",
        path: "/api/gdpr/find",
        carrier: Query,
        fields: SUBJECT,
    },
    Endpoint {
        method: "GET",
        path: "/api/gdpr/export",
        carrier: Query,
        fields: SUBJECT,
    },
    Endpoint {
        method: "GET",
        path: "/api/stats",
        carrier: Query,
        fields: PERIOD,
    },
    Endpoint {
        method: "GET",
        path: "/api/stats.csv",
        carrier: Query,
        fields: PERIOD,
    },
    Endpoint {
        method: "GET",
        path: "/api/widget/config",
        carrier: Query,
        fields: SITE_QUERY,
    },
    Endpoint {
        method: "GET",
        path: "/widget/frame",
        carrier: Query,
        fields: SITE_QUERY,
    },
    Endpoint {
        method: "GET",
        path: "/ws/visitor",
        carrier: Query,
        fields: &[("site", SITE)],
    },
];

/// Strings the handlers look for, so that generated input often gets past the first check.
const WORDS: &[&str] = &[
    "",
    "a",
    " ",
    "@SITE@",
    "@OTHER@",
    "ann@acme.example",
    "x@y.z",
    "acme",
    "email",
    "name",
    "visitor_id",
    "conversation",
    "token",
    "2026-01-01",
    "2026-12-31",
    "2026-02-30",
    "9999-99-99",
    "-0001-01-01",
    "off",
    "anonymous",
    "consented",
    "admin",
    "visitors.view",
    "chat",
    "chats.all",
    "stats.view",
    "campaigns.manage",
    "agents.manage",
    "sites.manage",
    "settings.manage",
    "gdpr.handle",
    "audit.read",
    "view",
    "ping",
    "leave",
    "invite",
    "goal",
    "shown",
    "accepted",
    "dismissed",
    "https://shop.example/a?utm_source=x&utm_campaign=y",
    "https://shop.example/ü",
    "*",
    "*/danke",
    "de",
    "en",
    "de-DE,en;q=0.5",
    "campaigns",
    "pages",
    "sources",
    "1920x1080",
    "0123456789abcdef0123456789abcdef",
    "m-1",
    "/app/chats",
    "//evil.example",
    "=cmd|' /C calc'!A0",
    "'; DROP TABLE agents; --",
    "<script>alert(1)</script>",
    "\u{202e}gnp.exe",
    "\0",
];

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS).prop_map(str::to_string)
}

/// A hostile string: known words, any Unicode, control and bidirectional characters, up to
/// past the body limit (64 KiB).
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => word(),
        6 => any::<String>(),
        4 => "[ -~]{0,40}",
        2 => "[\\x00-\\x1f\\u{7f}\\u{85}\\u{200e}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}\\u{feff}a]{0,20}",
        2 => (0usize..5_000, word()).prop_map(|(n, w)| w.repeat(n.min(5_000 / w.len().max(1)))),
        1 => (0usize..70_000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

fn hostile_int() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-3i64..40).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(
            &[
                i64::MIN,
                i64::MAX,
                i32::MAX as i64 + 1,
                u32::MAX as i64 + 1,
                -1
            ][..]
        )
        .prop_map(Value::from),
    ]
}

fn hostile_float() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        prop::sample::select(
            &[
                0.0,
                -0.0,
                1e308,
                -1e308,
                5e-324,
                1e9,
                1e9 + 0.01,
                0.005,
                9007199254740993.0
            ][..]
        )
        .prop_map(Value::from),
        hostile_int(),
    ]
}

/// A value of the field's own type (with hostile content), or of any other.
fn typed(ty: Ty) -> BoxedStrategy<Value> {
    let right: BoxedStrategy<Value> = match ty {
        S => hostile_string().prop_map(Value::String).boxed(),
        I => hostile_int().boxed(),
        F => hostile_float().boxed(),
        B => any::<bool>().prop_map(Value::Bool).boxed(),
        L => prop::collection::vec(hostile_string().prop_map(Value::String), 0..12)
            .prop_map(Value::Array)
            .boxed(),
        Cond => typed_object(CONDITIONS).boxed(),
        One(set) => prop_oneof![
            8 => prop::sample::select(set).prop_map(|s| Value::String(s.into())),
            1 => hostile_string().prop_map(Value::String),
        ]
        .boxed(),
    };
    prop_oneof![20 => right, 1 => json_value(CONDITIONS)].boxed()
}

/// An object with the type's fields (each present or not) holding values of their type.
fn typed_object(fields: &'static [(&'static str, Ty)]) -> impl Strategy<Value = Value> {
    let each: Vec<_> = fields
        .iter()
        .map(|(name, ty)| {
            prop::option::weighted(0.85, typed(*ty)).prop_map(move |v| v.map(|v| (*name, v)))
        })
        .collect();
    (
        each,
        prop::option::weighted(0.1, (prop::sample::select(FIELDS), json_leaf())),
    )
        .prop_map(|(each, odd)| {
            let mut m = Map::new();
            for (name, v) in each.into_iter().flatten() {
                m.insert(name.to_string(), v);
            }
            // Now and then a field the type does not have (most refuse unknown fields).
            if let Some((k, v)) = odd {
                m.insert(k.to_string(), v);
            }
            Value::Object(m)
        })
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        hostile_int(),
        hostile_float(),
        hostile_string().prop_map(Value::String),
    ]
}

/// Any JSON value, its object keys drawn from the endpoint's fields.
fn json_value(fields: &'static [(&'static str, Ty)]) -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(5, 40, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(fields), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|((k, _), v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// A JSON body: typed objects, any JSON, numbers no `Value` holds, deep nesting, valid bodies
/// with bytes replaced (invalid UTF-8), and arbitrary bytes.
fn json_body(ep: &'static Endpoint) -> impl Strategy<Value = Vec<u8>> {
    let fields = ep.fields;
    let typed_bytes = typed_object(fields)
        .prop_map(|v| v.to_string().into_bytes())
        .boxed();
    prop_oneof![
        6 => typed_bytes.clone(),
        2 => json_value(fields).prop_map(|v| v.to_string().into_bytes()),
        1 => (
            prop::sample::select(fields),
            "-?[0-9]{1,400}(\\.[0-9]{1,60})?([eE][+-]?[0-9]{1,7})?"
        )
            .prop_map(|((f, _), n)| format!(r#"{{"{f}":{n}}}"#).into_bytes()),
        1 => (1usize..3_000, prop::sample::select(&["[", "{\"a\":", "{\"conditions\":"][..]))
            .prop_map(|(d, open)| {
                let close = if open == "[" { "]" } else { "}" };
                format!("{}1{}", open.repeat(d), close.repeat(d)).into_bytes()
            }),
        2 => (typed_bytes, any::<prop::sample::Index>(), 0usize..6, prop::collection::vec(any::<u8>(), 0..6))
            .prop_map(|(mut b, at, len, with)| {
                let start = at.index(b.len() + 1).min(b.len());
                let end = (start + len).min(b.len());
                b.splice(start..end, with);
                b
            }),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

/// Percent-encodes every byte outside the unreserved set.
fn pct(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// A value as a query string carries it: encoded text, raw bytes (invalid UTF-8), broken
/// escapes, `+` and `=` and `&` where they do not belong.
fn query_value(ty: Ty) -> BoxedStrategy<String> {
    let typed_text = typed(ty)
        .prop_map(|v| match v {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .prop_map(|s| pct(s.as_bytes()));
    prop_oneof![
        4 => typed_text,
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| pct(&b)),
        1 => "[A-Za-z0-9%+=&;._~!$'()*,:@/?-]{0,40}",
        1 => "-?[0-9]{1,40}",
    ]
    .boxed()
}

fn query_string(ep: &'static Endpoint) -> impl Strategy<Value = String> {
    // Each field once or not at all, as a form or a script sends them.
    let each: Vec<_> = ep
        .fields
        .iter()
        .map(|(name, ty)| {
            prop::option::weighted(
                0.8,
                query_value(*ty).prop_map(move |v| format!("{name}={v}")),
            )
        })
        .collect();
    let typed = each.prop_map(|p| p.into_iter().flatten().collect::<Vec<_>>().join("&"));
    // Fields twice, without a value, unknown, or no pair at all.
    let pair = prop_oneof![
        6 => prop::sample::select(ep.fields).prop_flat_map(|(name, ty)| {
            query_value(ty).prop_map(move |v| format!("{name}={v}"))
        }),
        1 => (query_value(S), query_value(S)).prop_map(|(k, v)| format!("{k}={v}")),
        1 => prop::sample::select(ep.fields).prop_map(|(name, _)| name.to_string()),
        1 => "[A-Za-z0-9%+=&;._~-]{0,20}",
    ];
    prop_oneof![
        6 => typed,
        2 => prop::collection::vec(pair, 0..6).prop_map(|p| p.join("&")),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| pct(&b)),
        1 => (1usize..2_000).prop_map(|n| "site=a&".repeat(n)),
    ]
}

/// A form body (`application/x-www-form-urlencoded`): the same shapes as a query string.
fn form_body(ep: &'static Endpoint) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => query_string(ep).prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => (1usize..20_000).prop_map(|n| format!("email={}", "a".repeat(n)).into_bytes()),
    ]
}

/// An upload's or report's bytes: known magic numbers with anything after them, or anything.
fn raw_body(ep: &'static Endpoint) -> impl Strategy<Value = Vec<u8>> {
    const MAGIC: &[&[u8]] = &[
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBP",
        b"%PDF-",
        b"<svg",
        b"",
    ];
    let magic = prop::sample::select(MAGIC);
    prop_oneof![
        3 => json_body(ep),
        2 => (magic, prop::collection::vec(any::<u8>(), 0..2048)).prop_map(|(m, rest)| {
            let mut b = m.to_vec();
            b.extend(rest);
            b
        }),
        // Past the report's limit.
        1 => (4_090usize..5_000).prop_map(|n| format!("{{\"t\":\"leave\",\"pv\":\"{}\"}}", "a".repeat(n)).into_bytes()),
    ]
}

/// A path segment where the route has `{id}`.
fn path_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0i64..8).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => prop::sample::select(&["999999", "-1", "9223372036854775808", "1.5", "abc", "%C3%A9", "%00", "1e3", "+1", "0x10"][..])
            .prop_map(str::to_string),
    ]
}

/// The content types a body is sent with: mostly the right one.
fn content_type(carrier: Carrier) -> impl Strategy<Value = Option<String>> {
    let right = match carrier {
        Form => "application/x-www-form-urlencoded",
        Json | QueryBytes => "application/json",
        Query => "text/plain",
    };
    prop_oneof![
        8 => Just(Some(right.to_string())),
        1 => Just(None),
        1 => prop::sample::select(&[
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json",
            "application/json; charset=latin1",
            "application/merge-patch+json",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
            "image/png",
            "*/*",
            "application/json;;;",
        ][..])
        .prop_map(|s| Some(s.to_string())),
    ]
}

/// One generated request.
#[derive(Debug, Clone)]
struct HttpCase {
    endpoint: usize,
    id: String,
    query: String,
    body: Vec<u8>,
    content_type: Option<String>,
    /// Sent with the admin's session, our Origin and the CSRF token (else without one of them).
    signed_in: bool,
    peer: [u8; 2],
}

fn http_case() -> impl Strategy<Value = HttpCase> {
    (0..ENDPOINTS.len()).prop_flat_map(|i| {
        let ep = &ENDPOINTS[i];
        let body: BoxedStrategy<Vec<u8>> = match ep.carrier {
            Json => json_body(ep).boxed(),
            Form => form_body(ep).boxed(),
            Query => Just(Vec::new()).boxed(),
            QueryBytes => raw_body(ep).boxed(),
        };
        let query: BoxedStrategy<String> = match ep.carrier {
            Query | QueryBytes => query_string(ep).boxed(),
            _ => Just(String::new()).boxed(),
        };
        (
            Just(i),
            path_id(),
            query,
            body,
            content_type(ep.carrier),
            prop::bool::weighted(0.95),
            any::<[u8; 2]>(),
        )
            .prop_map(
                |(endpoint, id, query, body, content_type, signed_in, peer)| HttpCase {
                    endpoint,
                    id,
                    query,
                    body,
                    content_type,
                    signed_in,
                    peer,
                },
            )
    })
}

/// A data directory with tenant `acme`, its admin (signed in), a second agent, and two sites
/// for `https://shop.example`; and the app's state over it, as `kontor serve` builds it.
struct HttpFixture {
    _dir: tempfile::TempDir,
    data: actix_web::web::Data<kontor::http::AppState>,
    cookie: String,
    csrf: String,
    site: String,
    other_site: String,
    admin_id: i64,
    other_agent: i64,
}

const OUR_ORIGIN: &str = "http://kontor.test";
/// The sign-in form's double-submit token, in its cookie and (`@PRELOGIN@`) in the form.
const PRELOGIN_TOKEN: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
const SHOP_ORIGIN: &str = "https://shop.example";

fn http_fixture() -> HttpFixture {
    use kontor::admin::commands::{agent::AgentRequest, site::SiteRequest, tenant::TenantRequest};
    use kontor::admin::{Request, Response};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // Email on (no sender runs: mails are only queued), so the mail paths see the input too.
    std::fs::write(
        dir.path().join("kontor.toml"),
        "[smtp]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"none\"\n\
         from = \"support@acme.example\"\nfrom_name = \"Acme\"\n",
    )
    .unwrap();
    let flags = kontor::config::Overrides {
        config: Some(dir.path().join("kontor.toml")),
        data_dir: Some(data_dir.clone()),
        ..Default::default()
    };
    let mut config = kontor::config::Config::load_from(&flags, &BTreeMap::new()).unwrap();
    config.public_url = Some(OUR_ORIGIN.into());
    // Reports are limited per address; the cases come from few addresses.
    config.tracking.reports_per_minute = 0;
    kontor::store::Store::init(&data_dir).unwrap();
    let store = Arc::new(kontor::store::Store::open(&data_dir).unwrap());
    let clock = kontor::clock::Clock::system();
    let base = config.base_url();
    let run = |req| kontor::admin::execute(&store, &clock, &base, req).unwrap();
    run(Request::Tenant(TenantRequest::Create {
        slug: "acme".into(),
        name: Some("Acme".into()),
    }));
    let password = "correct horse battery";
    let mut ids = Vec::new();
    for (email, role) in [("ann@acme.example", "admin"), ("bob@acme.example", "agent")] {
        let Response::Agent { agent, .. } = run(Request::Agent(AgentRequest::Add {
            tenant: "acme".into(),
            email: email.into(),
            name: email.into(),
            role: role.into(),
            password: Some(password.into()),
        })) else {
            panic!("no agent")
        };
        ids.push(agent.id);
    }
    let mut keys = Vec::new();
    for _ in 0..2 {
        let Response::Site(site) = run(Request::Site(SiteRequest::Add {
            tenant: "acme".into(),
            origins: vec![SHOP_ORIGIN.into()],
            position: None,
            color: None,
            privacy_url: None,
            lang: None,
            tracking: Some("consented".into()),
            strip: None,
        })) else {
            panic!("no site")
        };
        keys.push(site.site_key);
    }
    let throttle = Arc::new(kontor::model::throttle::Throttle::default());
    let session = kontor::domain::auth::login(
        &store,
        &throttle,
        &clock,
        &kontor::domain::auth::LoginAttempt {
            tenant: "acme",
            email: "ann@acme.example",
            password,
            ip: "10.0.0.1".parse().unwrap(),
            request_id: "hostile",
            user_agent: "hostile",
        },
    )
    .unwrap();
    let kontor::domain::auth::Step::Done(session) = session else {
        panic!("the fixture's admin has no second factor")
    };
    let csrf = kontor::domain::auth::authenticate(&store, &config.session, &clock, &session.cookie)
        .unwrap()
        .csrf;
    let mail = config
        .smtp
        .clone()
        .map(|s| Arc::new(kontor::domain::email::Mail::new(s, OUR_ORIGIN)));
    let realtime = Arc::new(
        kontor::realtime::Realtime::new(
            store.clone(),
            config.session.clone(),
            Duration::from_secs(config.tracking.grace_secs),
            clock.clone(),
            &config.chat,
        )
        .with_mail(mail.clone()),
    );
    let read_log = kontor::domain::read_log::ReadLog::start(store.clone());
    let state = kontor::http::AppState {
        store,
        throttle,
        clock,
        demo: false,
        realtime,
        backups: Default::default(),
        tracking: Arc::new(kontor::http::track::Tracking::new(&config.tracking).unwrap()),
        uploads: kontor::http::files::AddressLimits::new(&config.uploads),
        audit_checked: Default::default(),
        mail,
        mail_status: Default::default(),
        read_log,
        api_limits: Default::default(),
        metrics_token: None,
        status_cache: Default::default(),
        hooks: Arc::new(kontor::domain::webhooks::Hooks::new(
            config.webhooks.clone(),
        )),
        lookups: Arc::new(kontor::domain::lookup::Lookups::new(
            &config.webhooks,
            kontor::clock::Clock::system(),
        )),
        config,
    };
    HttpFixture {
        _dir: dir,
        data: actix_web::web::Data::new(state),
        cookie: session.cookie,
        csrf,
        site: keys[0].clone(),
        other_site: keys[1].clone(),
        admin_id: ids[0],
        other_agent: ids[1],
    }
}

/// Checks one answer: below 500 (503 only as the JSON `busy`/`retry` answer), and every
/// error is the JSON error shape with a registered code whose status it has. The sign-in
/// page answers its form's errors as HTML.
fn check_answer(
    ep: &Endpoint,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), TestCaseError> {
    if status < 400 {
        return Ok(());
    }
    if ep.path.starts_with("/login") && content_type.starts_with("text/html") && status < 500 {
        return Ok(());
    }
    let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        TestCaseError::fail(format!("{status} answered with a non-JSON body {shown:?}"))
    })?;
    let code = v["error"]["code"]
        .as_str()
        .and_then(kontor::error::Code::parse);
    prop_assert!(code.is_some(), "{} answered {}", status, shown);
    prop_assert!(
        v["error"]["message"].is_string(),
        "{} answered {}",
        status,
        shown
    );
    let code = code.unwrap();
    prop_assert_eq!(code.status().as_u16(), status, "{}", shown);
    prop_assert!(
        status < 500 || matches!(code.as_str(), "busy" | "retry"),
        "{} answered {}",
        status,
        shown
    );
    Ok(())
}

/// Replaces `@NAME@` (and `%40NAME%40`, as query strings and forms carry it) with its value,
/// leaving every other byte as it is.
fn fill_bytes(bytes: &[u8], placeholders: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    'outer: while let Some((&first, tail)) = rest.split_first() {
        if first == b'@' || first == b'%' {
            for (name, value) in placeholders {
                for pat in [format!("@{name}@"), format!("%40{name}%40")] {
                    if rest.starts_with(pat.as_bytes()) {
                        out.extend_from_slice(value.as_bytes());
                        rest = &rest[pat.len()..];
                        continue 'outer;
                    }
                }
            }
        }
        out.push(first);
        rest = tail;
    }
    out
}

async fn send_case<S, B>(app: &S, fx: &HttpFixture, case: &HttpCase) -> Result<(), TestCaseError>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let ep = &ENDPOINTS[case.endpoint];
    // Never the admin's own account: a disabled admin would end the run's session.
    // As the router reads it: "+1" is the admin too.
    let names_admin = case.id.parse::<i64>().ok() == Some(fx.admin_id);
    let id = if ep.path.starts_with("/api/agents/") && names_admin {
        fx.other_agent.to_string()
    } else {
        case.id.clone()
    };
    let placeholders = [
        ("SITE", fx.site.as_str()),
        ("OTHER", fx.other_site.as_str()),
        ("PRELOGIN", PRELOGIN_TOKEN),
    ];
    let fill = |s: &str| String::from_utf8(fill_bytes(s.as_bytes(), &placeholders)).unwrap();
    let mut uri = fill(&ep.path.replace("@ID@", &id));
    if ep.carrier == QueryBytes && ep.path == "/api/track" {
        uri.push_str(&format!("?site={}&", fx.site));
    } else if !case.query.is_empty() {
        uri.push('?');
    }
    uri.push_str(&fill(&case.query));
    if actix_web::http::Uri::try_from(uri.as_str()).is_err() {
        // Not a request line a client can send; the HTTP parser refuses it before us.
        return Ok(());
    }
    // Filled in byte by byte: what is not UTF-8 stays as it is.
    let body = fill_bytes(&case.body, &placeholders);
    let visitor = ep.path.starts_with("/api/widget")
        || ep.path.starts_with("/api/track")
        || ep.path == "/ws/visitor";
    let sign_in = ep.path == "/login";
    // Sign-in attempts come from few addresses, so that the throttle answers most of them
    // (each one it lets through verifies a password hash).
    let peer = if sign_in && ep.method == "POST" {
        [10, 9, 0, case.peer[1] % 4]
    } else {
        [10, 9, case.peer[0], case.peer[1]]
    };
    let method = actix_web::http::Method::from_bytes(ep.method.as_bytes()).unwrap();
    let mut req = actix_web::test::TestRequest::default()
        .method(method)
        .uri(&uri)
        .peer_addr(std::net::SocketAddr::from((peer, 40_000)))
        .insert_header((
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        ));
    if let Some(ct) = &case.content_type {
        req = req.insert_header(("content-type", ct.as_str()));
    }
    // The sign-in page is sent its pre-sign-in cookie, and the session only half the time (a
    // session sends it on to the dashboard).
    let session = case.signed_in && !(sign_in && case.peer[0] % 2 == 1);
    if case.signed_in && sign_in {
        let mut cookie = format!("kontor_prelogin={PRELOGIN_TOKEN}");
        if session {
            cookie.push_str(&format!("; kontor_session={}", fx.cookie));
        }
        req = req
            .insert_header(("cookie", cookie))
            .insert_header(("origin", OUR_ORIGIN));
    } else if session {
        req = req
            .insert_header(("cookie", format!("kontor_session={}", fx.cookie)))
            .insert_header(("x-csrf-token", fx.csrf.as_str()))
            .insert_header(("origin", if visitor { SHOP_ORIGIN } else { OUR_ORIGIN }));
    } else {
        req = req.insert_header(("origin", "https://evil.example"));
    }
    let req = req.set_payload(body).to_request();
    let start = Instant::now();
    let res = app
        .call(req)
        .await
        .map_err(|e| TestCaseError::fail(format!("the service failed: {e}")))?;
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = actix_web::body::to_bytes(res.into_body())
        .await
        .map_err(|_| TestCaseError::fail("the answer's body failed"))?;
    let took = start.elapsed();
    check_answer(ep, status, &ctype, &bytes)
        .map_err(|e| TestCaseError::fail(format!("{} {}: {e}", ep.method, ep.path)))?;
    prop_assert!(
        took < PER_INPUT,
        "{} {} took {:?}",
        ep.method,
        ep.path,
        took
    );
    Ok(())
}

/// Whether the app still answers, and the admin's session still holds.
async fn still_answers<S, B>(app: &S, fx: &HttpFixture) -> bool
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let req = actix_web::test::TestRequest::get()
        .uri("/api/session")
        .insert_header(("cookie", format!("kontor_session={}", fx.cookie)))
        .to_request();
    match app.call(req).await {
        Ok(r) if r.status() == 200 => true,
        Ok(r) => {
            eprintln!("the session answered {}", r.status());
            false
        }
        Err(e) => {
            eprintln!("the session failed: {e}");
            false
        }
    }
}

/// Every JSON body, form and query string, through the real app with its middleware: one
/// endpoint per case.
#[test]
fn http_api() {
    let sys = actix_web::rt::System::new();
    let fx = http_fixture();
    let app = sys.block_on(actix_web::test::init_service(kontor::http::app(
        fx.data.clone(),
    )));
    assert!(
        sys.block_on(still_answers(&app, &fx)),
        "the fixture's session"
    );
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let result = runner.run(&http_case(), |case| {
        sys.block_on(async {
            send_case(&app, &fx, &case).await?;
            prop_assert!(still_answers(&app, &fx).await, "no answer after {:?}", case);
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    fx.data.realtime.stop_all();
}
