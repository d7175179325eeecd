//! Anonymised test copies (`kontor tenant clone SRC --anonymize NEW`): a tenant filled through
//! the real server (agents, a chat with pre-chat form values, messages, a note, a file, a
//! rating and a block, an offline message, visitors with their pages, sign-ins and a GDPR
//! request) is cloned. The clone's database, decrypted page by page, holds none of the
//! source's personal strings; every table has the source's rows; the source is unchanged;
//! both audit trails record the clone; and the clone serves: its agent signs in after a reset
//! link, with none of the production keys, passwords or sessions.

use crate::chat::{SHOP, agent, setup};
use crate::common::{Browser, Kontor, Ws, hidden_field};
use crate::retention::decrypted_file;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// What the production tenant holds about people: none of it may reach the copy.
const PERSONAL: &[&str] = &[
    // Agents.
    "ann@acme.example",
    "Zoltan Quimbyhorst",
    "zoltan.quimbyhorst@acme.example",
    // The chatting visitor, her form values, words, file and rating.
    "Wilhelmina",
    "Quackenbush",
    "wilhelmina.q@private-mail.example",
    "QZ-8841",
    "151 99887766",
    "Hauptstrasse 77",
    "KD-99887766",
    "Personalausweis",
    "PASSPORT-NR-C01X00T47",
    "Wartezeit war zu lang",
    "VIP-Kundin",
    "Beleidigt den Support",
    // The offline visitor.
    "Bartholomew",
    "Fitzgerald-Pike",
    "bart.fitzpike@private-mail.example",
    "0171 2233445",
    // Her pages and where she came from.
    "Kundenkonto Wilhelmina",
    "customer=wilhelmina",
    "social.example/wilhelmina",
    // Client addresses (as stored: truncated).
    "203.0.113.0",
    "127.0.0.0",
    // The business's inbox, and what someone typed at a failed sign-in.
    "owner.hildegard@acme-owner.example",
    "intruder.guess@private-mail.example",
];

/// An order number, an address, a phone, a topic and a free-text field.
fn form() -> Value {
    json!({"fields": [
        {"name": "order", "kind": "text", "label_en": "Order"},
        {"name": "mail", "kind": "email", "label_en": "Email"},
        {"name": "phone", "kind": "phone", "label_en": "Phone"},
        {"name": "topic", "kind": "select", "label_en": "Topic",
         "options": [{"value": "billing", "label_en": "Billing"}]},
        {"name": "note", "kind": "textarea", "label_en": "Anything else?"}
    ]})
}

/// Fills `acme` through the running server and the CLI.
fn fill(k: &Kontor, pw: &str, site: &str) {
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            "zoltan.quimbyhorst@acme.example",
            "--name",
            "Zoltan Quimbyhorst",
            "--password-stdin",
        ],
        pw,
    );
    let path = k.data_dir().join("../form.json");
    std::fs::write(&path, form().to_string()).unwrap();
    k.json(&[
        "site",
        "form",
        "acme",
        site,
        "--file",
        path.to_str().unwrap(),
    ]);
    // The site keeps query parameters other than a session id in the pages it reports.
    k.json(&["site", "tracking", "acme", site, "--strip", "sessionid"]);
    k.ok(&[
        "tenant",
        "mail",
        "acme",
        "--inbox",
        "owner.hildegard@acme-owner.example",
    ]);
    // Reports come through a proxy we trust, from a public address.
    std::fs::write(k.config_file(), "trusted_proxy = \"127.0.0.1\"\n").unwrap();
    let server = k.server(&[]);
    let (_ab, mut ann) = agent(&server, pw);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", pw);

    // Her pages, with a personal query, title and referrer.
    for (pv, url, title) in [
        ("f000000000000001", "https://shop.example/", "Home"),
        (
            "f000000000000002",
            "https://shop.example/account?customer=wilhelmina.q@private-mail.example",
            "Kundenkonto Wilhelmina Quackenbush",
        ),
    ] {
        let r = Browser::new(&server.base).post_bytes(
            &format!("/api/track?site={site}"),
            &[
                ("Origin", SHOP),
                ("User-Agent", CHROME),
                ("X-Forwarded-For", "203.0.113.77"),
            ],
            json!({"t": "view", "pv": pv, "url": url, "title": title,
                   "ref": "https://social.example/wilhelmina.quackenbush", "lang": "de-DE"})
            .to_string()
            .as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }

    // Her chat.
    let mut v = Ws::visitor_as(&server.base, site, SHOP, CHROME).unwrap();
    v.send(
        json!({"type": "start", "consent": true, "notice_version": "1",
                  "name": "Wilhelmina Quackenbush", "email": "wilhelmina.q@private-mail.example",
                  "lang": "de", "fields": {
                      "order": "QZ-8841", "mail": "wilhelmina.q@private-mail.example",
                      "phone": "+49 151 99887766", "topic": "billing",
                      "note": "Bitte Rueckruf, ich wohne Hauptstrasse 77"}}),
    );
    let w = v.recv_type("welcome");
    let conv = w["conversation_id"].as_i64().unwrap();
    let token = w["token"].as_str().unwrap().to_string();
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    ann.recv_type("conversation");
    crate::chat::say(
        &mut v,
        None,
        "v1",
        "Meine Kundennummer lautet KD-99887766, bitte um Hilfe",
    );
    crate::chat::say(
        &mut ann,
        Some(conv),
        "a1",
        "Guten Tag Frau Quackenbush, ich sehe nach",
    );
    ann.send(
        json!({"type": "note", "conversation_id": conv, "client_id": "n1",
                    "text": "VIP-Kundin, sehr freundlich"}),
    );
    ann.recv_type("noted");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(b"PASSPORT-NR-C01X00T47 scanned");
    let r = Browser::new(&server.base).post_bytes(
        &format!("/api/widget/files?site={site}&name=Personalausweis.png&client_id=f1"),
        &[("Origin", &server.base), ("X-Kontor-Token", &token)],
        &png,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    v.send(json!({"type": "rate", "score": 2, "comment": "Die Wartezeit war zu lang"}));
    v.recv_type("rated");
    // An offline message (before the block below: every visitor here has the same address).
    let mut b = Browser::new(&server.base);
    b.headers.push(("Origin".into(), SHOP.into()));
    let r = b.post_json(
        "/api/widget/offline",
        &json!({"site": site, "name": "Bartholomew Fitzgerald-Pike",
                "email": "bart.fitzpike@private-mail.example",
                "message": "Rufen Sie mich an: 0171 2233445", "consent": true, "lang": "de"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);

    let r = admin.post_json(
        "/api/blocks",
        &json!({"conversation_id": conv, "address": true, "period": "1d",
                "reason": "Beleidigt den Support"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    v.send(json!({"type": "end"}));
    drop(v);

    // Someone guesses at the sign-in.
    let r = Browser::new(&server.base).login(
        "acme",
        "intruder.guess@private-mail.example",
        "not the password",
    );
    assert_eq!(r.status, 401);
    crate::common::wait_until(
        "the chat closed",
        std::time::Duration::from_secs(10),
        || {
            crate::chat::db_count(
                k,
                "SELECT count(*) FROM conversations WHERE status = 'closed'",
            ) == 1
        },
    );
    drop(server);
    // A data-subject request lands in the audit trail (as a pseudonym).
    k.json(&[
        "gdpr",
        "find",
        "acme",
        "--email",
        "wilhelmina.q@private-mail.example",
    ]);
}

/// Every text and blob value of every table of a tenant, and its rows per table.
fn values_and_counts(k: &Kontor, slug: &str) -> (String, BTreeMap<String, i64>) {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug(slug).unwrap();
    db.with(|c| {
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut all = String::new();
        let mut counts = BTreeMap::new();
        for t in tables {
            let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\""))?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            let mut count = 0;
            while let Some(r) = rows.next()? {
                count += 1;
                for i in 0..n {
                    match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Text(s) | rusqlite::types::ValueRef::Blob(s) => {
                            all.push_str(&String::from_utf8_lossy(s));
                            all.push('\n');
                        }
                        _ => {}
                    }
                }
            }
            counts.insert(t, count);
        }
        Ok((all, counts))
    })
    .unwrap()
}

fn checksums(k: &Kontor, slug: &str) -> BTreeMap<String, String> {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug(slug).unwrap();
    db.with(|c| kontor::store::backup::table_checksums(c))
        .unwrap()
        .into_iter()
        .filter(|(t, _)| !t.starts_with("audit_"))
        .collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn an_anonymised_clone_holds_no_personal_string_has_every_row_and_serves() {
    let (k, pw, site) = setup();
    fill(&k, &pw, &site);
    let (source_values, _) = values_and_counts(&k, "acme");
    for p in PERSONAL {
        assert!(source_values.contains(p), "the source holds {p:?}");
    }
    let before = checksums(&k, "acme");

    let out = k.run(&["tenant", "clone", "acme", "--anonymize", "acme-test"]);
    crate::common::assert_success(&out, &["tenant", "clone"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("anonymised copy of acme"), "{stdout}");
    assert!(stderr.contains("messages: "), "progress: {stderr}");
    assert!(stderr.contains("sessions: left out"), "progress: {stderr}");
    for p in PERSONAL {
        assert!(!stdout.contains(p), "the report shows {p:?}: {stdout}");
    }

    // The file itself, every page decrypted (free pages too), and every value in it.
    let file = decrypted_file(&k, "acme-test");
    let (values, counts) = values_and_counts(&k, "acme-test");
    for p in PERSONAL {
        assert!(!contains(&file, p), "the clone's file holds {p:?}");
        assert!(!values.contains(p), "the clone's rows hold {p:?}");
    }
    // The same tables and volumes; sign-ins and their secrets stay behind.
    let (_, source_counts) = values_and_counts(&k, "acme");
    assert_eq!(
        counts.keys().collect::<Vec<_>>(),
        source_counts.keys().collect::<Vec<_>>()
    );
    for (table, n) in &source_counts {
        let dropped = [
            "sessions",
            "sign_in_challenges",
            "totp_pending",
            "agent_totp",
            "recovery_codes",
            "agent_links",
        ]
        .contains(&table.as_str());
        let expected = if dropped { 0 } else { *n };
        assert_eq!(counts[table], expected, "rows of {table}");
    }
    for table in [
        "conversations",
        "messages",
        "notes",
        "files",
        "conversation_fields",
        "offline_messages",
        "visits",
        "page_views",
        "pages",
        "blocks",
        "agents",
        "settings",
    ] {
        assert!(counts[table] > 0, "the fixture filled {table}");
    }
    assert!(source_counts["sessions"] > 0, "the source had sign-ins");
    // The source was only read: its data is as it was (its trail gained the record).
    assert_eq!(checksums(&k, "acme"), before);

    // Consistent fakes: the visitor's address is one fake wherever it was; the file keeps
    // its size and type; queued nothing; site keys are new.
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme-test").unwrap();
    let (chat_email, field_email, size, data, name): (String, String, i64, Vec<u8>, String) = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT c.visitor_email, f.value, fl.size, fl.data, fl.name
                 FROM conversations c JOIN conversation_fields f ON f.conversation_id = c.id
                 JOIN files fl ON fl.conversation_id = c.id WHERE f.name = 'mail'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?)
        })
        .unwrap();
    assert_eq!(chat_email, field_email);
    assert!(chat_email.ends_with("@example.invalid"), "{chat_email}");
    assert_eq!(data.len() as i64, size);
    assert!(data.starts_with(b"\x89PNG"));
    assert!(
        name.starts_with("file-") && name.ends_with(".png"),
        "{name}"
    );
    drop(db);
    drop(store);
    let sites = k.json(&["site", "list", "acme-test"]);
    let clone_site = sites["sites"][0]["site_key"].as_str().unwrap().to_string();
    assert_ne!(clone_site, site);
    assert_eq!(sites["sites"][0]["origins"], json!([SHOP]));

    // Both trails record it; the clone's chain is whole.
    let trail = |slug: &str| k.json(&["audit", "list", slug, "--limit", "500"]);
    assert_eq!(trail("acme")[0]["action"], "tenant.clone");
    assert_eq!(trail("acme-test")[0]["action"], "tenant.clone");
    assert_eq!(k.json(&["audit", "verify", "acme-test"])["intact"], true);

    // The clone serves: production credentials open nothing; a reset link does.
    let agents = k.json(&["agent", "list", "acme-test"]);
    let admin = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "admin")
        .unwrap()["email"]
        .as_str()
        .unwrap()
        .to_string();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme-test", "ann@acme.example", &pw).status, 401);
    assert_eq!(b.login("acme-test", &admin, &pw).status, 401);
    let out = k.ok(&["agent", "reset-link", "acme-test", &admin]);
    let url = out.lines().find(|l| l.contains("/setup/")).unwrap().trim();
    let path = &url[url.find("/setup/").unwrap()..];
    let mut setup_b = Browser::new(&server.base);
    let page = setup_b.get(path);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden_field(&page.body, "csrf");
    let good = "violet tugboat marmalade 42";
    let r = setup_b.post_form(
        path,
        &[("password", good), ("confirm", good), ("csrf", &csrf)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme-test", &admin, good).status, 303);
    let history = b.get("/api/conversations").json();
    assert_eq!(history["conversations"].as_array().unwrap().len(), 1);
    // The clone's widget answers on its own key only.
    let config = |key: &str| {
        let mut w = Browser::new(&server.base);
        w.headers.push(("Origin".into(), SHOP.into()));
        w.get(&format!("/api/widget/config?site={key}")).status
    };
    assert_eq!(config(&clone_site), 200);
}

#[test]
fn a_clone_is_refused_into_an_existing_slug_from_an_unknown_tenant_or_with_an_unknown_column() {
    let (k, _pw, _site) = setup();
    let err = k.fails(&["tenant", "clone", "acme", "--anonymize", "acme"]);
    assert!(err.contains("exists already"), "{err}");
    let err = k.fails(&["tenant", "clone", "nobody", "--anonymize", "acme-test"]);
    assert!(err.contains("not found"), "{err}");
    // A column nobody classified (as a migration without its classification would add)
    // stops the clone half-way, and the half-built copy goes with it.
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        c.execute_batch("ALTER TABLE agents ADD COLUMN home_address TEXT NOT NULL DEFAULT ''")?;
        Ok(())
    })
    .unwrap();
    drop(db);
    drop(store);
    let err = k.fails(&["tenant", "clone", "acme", "--anonymize", "acme-test"]);
    assert!(
        err.contains("agents.home_address is not classified"),
        "{err}"
    );

    let tenants = k.json(&["tenant", "list"]);
    assert_eq!(tenants["tenants"].as_array().unwrap().len(), 1);
    let files: Vec<_> = std::fs::read_dir(k.data_dir().join("tenants"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // One database and its kept log files; nothing of a clone.
    let dbs: Vec<_> = files.iter().filter(|n| n.ends_with(".db")).collect();
    assert_eq!(dbs.len(), 1, "{files:?}");
    assert!(
        files.iter().all(|n| n.starts_with(dbs[0].as_str())),
        "{files:?}"
    );
    assert_eq!(
        k.json(&["site", "list", "acme"])["sites"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
