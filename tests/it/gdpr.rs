//! Data-subject requests: the export holds every row that refers to the person (and nothing
//! of anyone else), rectification changes their name and email everywhere, erasure leaves
//! nothing that refers to them (not even in the file's free pages), produces a deletion
//! protocol, and a restore of a backup taken before the erasure does not bring them back.

use crate::common::{Browser, Kontor};
use crate::retention::decrypted_file;
use rusqlite::params;
use serde_json::json;
use std::collections::BTreeSet;

/// Two days ago: long enough that nobody is "on the site now", recent enough that the
/// server's retention purge keeps everything.
fn two_days_ago() -> i64 {
    kontor::clock::now() - 2 * 86_400
}

/// Erika (found by email, with a second chat without email from the same visitor record) and
/// Max, who must stay untouched.
pub fn fill(k: &Kontor) {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    #[allow(non_snake_case)]
    let T = two_days_ago();
    db.with(|c| {
        c.execute_batch(&format!(
            "INSERT INTO pages (id, url, title) VALUES (1, 'https://s.example/', 'Home');
             INSERT INTO goals (id, name, created_at) VALUES (1, 'order', 0);
             INSERT INTO visitors (id, site_key, mode, first_seen, last_seen) VALUES
               (10, 's', 'consented', {t}, {t}), (11, 's', 'consented', {t}, {t});
             INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen, referrer) VALUES
               (100, 10, 's', {t}, {t}, 'https://erika-ref.example/'), (101, 10, 's', {t}, {t}, ''),
               (102, 11, 's', {t}, {t}, 'https://max-ref.example/');
             INSERT INTO page_views (visit_id, page_id, at) VALUES (100, 1, {t}), (100, 1, {t}),
               (101, 1, {t}), (102, 1, {t});
             INSERT INTO conversions (visit_id, goal_id, value_cents, at) VALUES (100, 1, 500, {t});
             INSERT INTO invitations (visit_id, text, created_at) VALUES (101, 'Hello?', {t});",
            t = T
        ))?;
        let chat = |id: i64, name: &str, email: &str, visitor: i64, text: &str| {
            c.execute(
                "INSERT INTO conversations (id, site_key, status, visitor_token_hash, consent_at,
                     consent_version, created_at, closed_at, visitor_name, visitor_email,
                     visitor_id)
                 VALUES (?1, 's', 'closed', randomblob(32), ?2, 'v1', ?2, ?2 + 60, ?3, ?4, ?5)",
                params![id, T, name, email, visitor],
            )?;
            c.execute(
                "INSERT INTO messages (conversation_id, seq, author, body, created_at)
                 VALUES (?1, 1, 'visitor', ?2, ?3), (?1, 2, 'agent', 'How can I help?', ?3)",
                params![id, text, T],
            )
        };
        chat(1, "Erika Mustermann", "Erika@Example.org", 10, "ERIKA-SECRET-1 <b>hi</b>")?;
        chat(2, "", "", 10, "ERIKA-SECRET-2")?;
        chat(3, "Max", "max@example.org", 11, "MAX-KEEP-1")?;
        c.execute_batch(&format!(
            "INSERT INTO notes (conversation_id, agent_id, body, created_at)
               VALUES (1, 1, 'ERIKA-NOTE', {T});
             INSERT INTO files (id, conversation_id, name, mime, size, data, created_at)
               VALUES (1, 1, '../invoice.pdf', 'application/pdf', 10, CAST('ERIKA-FILE' AS BLOB), {T});
             INSERT INTO offline_messages (id, site_key, name, email, message, consent_at, created_at)
               VALUES (1, 's', 'Erika', 'erika@example.org', 'ERIKA-OFFLINE', {T}, {T}),
                      (2, 's', 'Max', 'max@example.org', 'MAX-KEEP-2', {T}, {T});"
        ))?;
        Ok(())
    })
    .unwrap();
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn erika_counts() -> serde_json::Value {
    json!({"conversations": 2, "messages": 4, "notes": 1, "files": 1, "offline_messages": 1,
           "visitors": 1, "visits": 2, "page_views": 3, "conversions": 1, "invitations": 1,
           "mails": 0})
}

#[test]
fn export_is_complete_and_erasure_leaves_nothing_even_after_a_restore() {
    let (k, _) = Kontor::with_tenant();
    fill(&k);
    let found = k.json(&["gdpr", "find", "acme", "--email", "ERIKA@example.org"]);
    assert_eq!(found["counts"], erika_counts(), "{found}");
    // The same person by chat id and by visitor id.
    for (flag, v) in [("--chat", "2"), ("--visitor", "10")] {
        let f = k.json(&["gdpr", "find", "acme", flag, v]);
        assert_eq!(f["counts"], erika_counts(), "{flag} {v}");
    }
    assert!(
        k.fails(&["gdpr", "find", "acme", "--chat", "1 OR 1=1"])
            .contains("give the number")
    );

    // Export: every row that refers to her, none of Max's.
    let out = k.ok(&["gdpr", "export", "acme", "--email", "erika@example.org"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids = |v: &serde_json::Value| -> BTreeSet<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&doc["conversations"]), BTreeSet::from([1, 2]));
    assert_eq!(ids(&doc["offline_messages"]), BTreeSet::from([1]));
    assert_eq!(ids(&doc["visitors"]), BTreeSet::from([10]));
    assert_eq!(
        ids(&doc["visitors"][0]["visits"]),
        BTreeSet::from([100, 101])
    );
    let visits = doc["visitors"][0]["visits"].as_array().unwrap();
    let views: usize = visits
        .iter()
        .map(|v| v["page_views"].as_array().unwrap().len())
        .sum();
    assert_eq!(views, 3);
    assert_eq!(
        doc["conversations"][0]["messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(doc["conversations"][0]["notes"][0]["body"], "ERIKA-NOTE");
    for needle in [
        "ERIKA-SECRET-1",
        "ERIKA-SECRET-2",
        "ERIKA-OFFLINE",
        "erika-ref.example",
        "Hello?",
    ] {
        assert!(out.contains(needle), "{needle} exported");
    }
    assert!(
        !out.contains("MAX-KEEP") && !out.contains("max@example.org"),
        "nobody else"
    );
    assert!(!out.contains("visitor_token_hash"), "no security hashes");

    // The archive: JSON, an HTML transcript with the text escaped, the file.
    let tar_path = k.data_dir().join("../erika.tar");
    k.ok(&[
        "gdpr",
        "export",
        "acme",
        "--email",
        "erika@example.org",
        "--out",
        tar_path.to_str().unwrap(),
    ]);
    let mut names = BTreeSet::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&tar_path).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().to_string();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut e, &mut body).unwrap();
        if name == "transcripts/chat-1.html" {
            assert!(
                body.contains("ERIKA-SECRET-1 &lt;b&gt;hi&lt;/b&gt;"),
                "{body}"
            );
        }
        if name.starts_with("files/") {
            assert_eq!(body, "ERIKA-FILE");
        }
        names.insert(name);
    }
    assert_eq!(
        names,
        BTreeSet::from([
            "README.txt".to_string(),
            "subject.json".into(),
            "transcripts/chat-1.html".into(),
            "transcripts/chat-2.html".into(),
            "files/1-_invoice.pdf".into(),
        ])
    );

    // A backup from before the erasure.
    let backup = k.json(&["backup", "create"])["file"]
        .as_str()
        .unwrap()
        .to_string();

    assert!(
        k.fails(&["gdpr", "erase", "acme", "--email", "erika@example.org"])
            .contains("--yes")
    );
    let protocol = k.json(&[
        "gdpr",
        "erase",
        "acme",
        "--email",
        "erika@example.org",
        "--yes",
    ]);
    assert_eq!(protocol["deleted"], erika_counts(), "{protocol}");
    assert_eq!(protocol["by"], "operator");
    let gone = |k: &Kontor| {
        for (flag, v) in [
            ("--email", "erika@example.org"),
            ("--chat", "1"),
            ("--visitor", "10"),
            ("--name", "erika mustermann"),
        ] {
            let f = k.json(&["gdpr", "find", "acme", flag, v]);
            assert!(
                f["counts"].as_object().unwrap().values().all(|n| n == 0),
                "{flag}: {f}"
            );
        }
        let file = decrypted_file(k, "acme");
        for needle in [
            "ERIKA-SECRET-1",
            "ERIKA-SECRET-2",
            "ERIKA-NOTE",
            "ERIKA-FILE",
            "ERIKA-OFFLINE",
            "rika@example.org",
            "erika-ref.example",
        ] {
            assert!(!contains(&file, needle), "{needle} is still in the file");
        }
        for needle in ["MAX-KEEP-1", "MAX-KEEP-2", "max-ref.example"] {
            assert!(contains(&file, needle), "{needle} must stay");
        }
    };
    gone(&k);
    assert!(
        k.fails(&[
            "gdpr",
            "erase",
            "acme",
            "--email",
            "erika@example.org",
            "--yes"
        ])
        .contains("nothing stored")
    );

    let actions = |k: &Kontor| -> (Vec<String>, String) {
        let trail = k.json(&["audit", "list", "acme", "--action", "gdpr"]);
        let list = trail
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect();
        (list, trail.to_string())
    };
    let (list, all) = actions(&k);
    assert!(
        list.contains(&"gdpr.erase".to_string()) && list.contains(&"gdpr.export".to_string()),
        "{list:?}"
    );
    assert!(
        !all.contains("erika") && !all.contains("Erika"),
        "the trail names no one: {all}"
    );

    // Restoring the older backup brings her back only until the ledger is replayed, which
    // the restore does itself (and records: the restored trail predates the erasure).
    k.ok(&["backup", "restore", &backup, "--yes"]);
    gone(&k);
    let (list, _) = actions(&k);
    assert!(list.contains(&"gdpr.replay".to_string()), "{list:?}");
    assert_eq!(k.json(&["audit", "verify", "acme"])["intact"], true);
}

#[test]
fn the_dashboard_api_finds_rectifies_and_erases_for_admins_only() {
    let (k, pw) = Kontor::with_tenant();
    fill(&k);
    crate::chat::with_bob(&k, &pw);
    // Olga's chat is still waiting; Otto is on the site right now.
    {
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        let now = kontor::clock::now();
        db.with(|c| {
            c.execute_batch(&format!(
                "INSERT INTO conversations (id, site_key, status, visitor_token_hash, consent_at,
                     consent_version, created_at, visitor_email)
                 VALUES (7, 's', 'waiting', randomblob(32), {now}, '1', {now}, 'olga@example.org');
                 INSERT INTO visitors (id, site_key, mode, first_seen, last_seen)
                 VALUES (12, 's', 'consented', {now}, {now});"
            ))?;
            Ok(())
        })
        .unwrap();
    }
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.get("/api/gdpr/find?by=email&value=erika%40example.org");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["counts"], erika_counts());
    assert_eq!(
        admin
            .get("/api/gdpr/find?by=chat&value=1%20OR%201%3D1")
            .status,
        400
    );
    assert_eq!(admin.get("/api/gdpr/find?by=phone&value=1").status, 400);
    let r = admin.get("/api/gdpr/export?by=chat&value=1");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-tar"));
    assert!(r.body.contains("ERIKA-SECRET-1") && !r.body.contains("MAX-KEEP"));

    let r = admin.post_json(
        "/api/gdpr/rectify",
        &json!({"by": "email", "value": "erika@example.org", "name": "Erika Musterfrau", "email": "e.m@example.org"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["updated"],
        json!({"conversations": 2, "offline_messages": 1, "form_fields": 0})
    );
    let f = admin
        .get("/api/gdpr/find?by=email&value=e.m%40example.org")
        .json();
    assert_eq!(f["counts"], erika_counts());
    assert_eq!(f["conversations"][0]["visitor_name"], "Erika Musterfrau");

    // Erasure does not wait: a waiting chat ends first, a visit seen just now is let go.
    let r = admin.post_json(
        "/api/gdpr/erase",
        &json!({"by": "email", "value": "olga@example.org", "confirm": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["deleted"]["conversations"], 1, "{}", r.body);
    let r = admin.post_json(
        "/api/gdpr/erase",
        &json!({"by": "visitor", "value": "12", "confirm": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["deleted"]["visitors"], 1, "{}", r.body);
    let f = admin
        .get("/api/gdpr/find?by=email&value=olga%40example.org")
        .json();
    assert_eq!(f["counts"]["conversations"], 0, "{f}");

    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get("/api/gdpr/find?by=chat&value=1").status, 403);
    assert_eq!(
        bob.post_json(
            "/api/gdpr/erase",
            &json!({"by": "chat", "value": "1", "confirm": true})
        )
        .status,
        403
    );
    assert_eq!(
        admin
            .post_json(
                "/api/gdpr/erase",
                &json!({"by": "chat", "value": "1", "confirm": false})
            )
            .status,
        400
    );
    let r = admin.post_json(
        "/api/gdpr/erase",
        &json!({"by": "chat", "value": "1", "confirm": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let p = r.json();
    assert_eq!(p["deleted"], erika_counts());
    assert_eq!(p["by"], "ann@acme.example");
    let list = admin.get("/api/gdpr/erasures").json();
    assert_eq!(list["erasures"][0]["id"], p["id"]);
    let f = admin
        .get("/api/gdpr/find?by=email&value=max%40example.org")
        .json();
    assert_eq!(f["counts"]["conversations"], 1, "Max stays");
}

#[test]
fn a_person_whose_widget_is_open_is_erased_at_once() {
    use crate::tracking::{CHROME, quick_server, view, visitor_where};
    let (k, pw, site) = crate::chat::setup();
    let server = quick_server(&k, "");
    let (_b, mut ann) = crate::chat::agent(&server, &pw);
    ann.recv_type("visitors");
    view(
        &server,
        &site,
        CHROME,
        "eeeeeeeeeeeeee01",
        "https://shop.example/",
        "Home",
    );
    let visitor =
        visitor_where(&mut ann, |v| v["pages"].as_array().unwrap().len() == 1)["visitor_id"]
            .clone();
    let mut widget =
        crate::common::Ws::visitor_as(&server.base, &site, crate::chat::SHOP, CHROME).unwrap();
    widget.send(
        json!({"type": "start", "consent": true, "notice_version": "1",
                       "name": "Erika", "email": "erika@example.org"}),
    );
    let conv = widget.recv_type("welcome")["conversation_id"].clone();
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    widget.recv_type("agent");
    widget.send(json!({"type": "message", "client_id": "e1", "text": "ERIKA-OPEN-SECRET"}));
    widget.recv_type("ack");

    // Erased while her widget is open and her chat runs: at once, nothing to wait for.
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json(
        "/api/gdpr/erase",
        &json!({"by": "email", "value": "erika@example.org", "confirm": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let deleted = &r.json()["deleted"];
    assert_eq!(
        (
            deleted["conversations"].clone(),
            deleted["visitors"].clone()
        ),
        (json!(1), json!(1)),
        "{deleted}"
    );
    // The agent is told why the chat ended, and sees her leave the visitor list.
    let (mut erased, mut left) = (false, false);
    while !(erased && left) {
        let f = ann.recv();
        erased |= f["type"] == "chat_erased" && f["conversation_id"] == conv;
        left |= f["type"] == "visitor_left" && f["visitor_id"] == visitor;
    }
    // Her widget sees the chat end.
    loop {
        let f = widget.recv_type("conversation");
        if f["status"] == "closed" {
            break;
        }
    }
    let found = admin
        .get("/api/gdpr/find?by=email&value=erika%40example.org")
        .json();
    assert!(
        found["counts"]
            .as_object()
            .unwrap()
            .values()
            .all(|n| n == 0),
        "{found}"
    );
    // The server holds nothing of her to write back: her open page's next heartbeat is not
    // known any more, and nothing of the erased visit comes back.
    let again = crate::tracking::ping(&server, &site, CHROME, "eeeeeeeeeeeeee01");
    assert_eq!(again["again"], true, "{again}");
    drop(server);
    let plain = decrypted_file(&k, "acme");
    assert!(!contains(&plain, "ERIKA-OPEN-SECRET"));
    assert!(!contains(&plain, "erika@example.org"));
}

#[test]
fn a_restricted_person_is_hidden_from_agents_and_kept_from_the_purge_until_lifted() {
    let (k, pw) = Kontor::with_tenant();
    fill(&k);
    crate::chat::with_bob(&k, &pw);
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            "sue@acme.example",
            "--name",
            "Sue",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        &pw,
    );
    let said = k.fails(&[
        "gdpr",
        "restrict",
        "acme",
        "--email",
        "erika@example.org",
        "--reason",
        " ",
    ]);
    assert!(said.contains("reason"), "{said}");
    assert!(
        k.fails(&[
            "gdpr",
            "restrict",
            "acme",
            "--email",
            "nobody@example.org",
            "--reason",
            "x"
        ])
        .contains("nothing stored")
    );
    let r = k.json(&[
        "gdpr",
        "restrict",
        "acme",
        "--email",
        "erika@example.org",
        "--reason",
        "accuracy contested in her letter",
    ]);
    assert_eq!(
        r["covered"],
        json!({"conversations": 2, "offline_messages": 1, "visitors": 1}),
        "{r}"
    );
    let server = k.server(&[]);

    // Sue may read every chat, but not the data-subject requests: Erika is hidden from her.
    let mut sue = Browser::signed_in(&server.base, "sue@acme.example", &pw);
    let ids = |b: &mut Browser, path: &str, key: &str| -> Vec<i64> {
        b.get(path).json()[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&mut sue, "/api/conversations", "conversations"), [3]);
    assert!(ids(&mut sue, "/api/conversations?q=ERIKA", "conversations").is_empty());
    assert_eq!(ids(&mut sue, "/api/offline", "messages"), [2]);
    for path in [
        "/api/conversations/1/messages",
        "/api/conversations/2/messages",
        "/api/files/1",
        "/api/visitors/10",
    ] {
        assert_eq!(sue.get(path).status, 404, "{path}");
    }
    assert_eq!(sue.get("/api/visitors/11").status, 200);
    assert_eq!(sue.get("/api/conversations/3/messages").status, 200);
    assert_eq!(sue.get("/api/gdpr/restrictions").status, 403);
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    let refused = bob.post_json(
        "/api/gdpr/restrict",
        &json!({"by": "email", "value": "max@example.org", "reason": "x"}),
    );
    assert_eq!(refused.status, 403);

    // Ann handles data-subject requests: she still sees everything, and the restriction.
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    assert_eq!(ann.get("/api/conversations/1/messages").status, 200);
    assert_eq!(
        ids(&mut ann, "/api/conversations", "conversations"),
        [3, 2, 1]
    );
    let list = ann.get("/api/gdpr/restrictions").json();
    let first = &list["restrictions"][0];
    assert_eq!(first["reason"], "accuracy contested in her letter");
    assert!(first["lifted_at"].is_null());
    assert!(
        first["subject"]
            .as_str()
            .unwrap()
            .starts_with("email:subject#")
    );
    // The audit trail names the person by pseudonym, never the reason.
    let audit = ann.get("/api/audit?action=gdpr.restrict").json();
    let text = audit.to_string();
    assert!(
        text.contains("restriction#") && !text.contains("accuracy"),
        "{text}"
    );

    // The purge keeps her data while it is restricted, and takes it once lifted.
    let short = [
        "--chats",
        "1",
        "--offline",
        "1",
        "--files",
        "1",
        "--visitors",
        "1",
    ];
    let mut set = vec!["retention", "set", "acme"];
    set.extend(short);
    k.ok(&set);
    let purged = k.json(&["retention", "purge", "acme"]);
    assert_eq!(purged["conversations"], 1, "only Max's: {purged}");
    assert_eq!(purged["offline_messages"], 1, "{purged}");
    assert_eq!(ids(&mut ann, "/api/conversations", "conversations"), [2, 1]);

    let lifted = ann.post_json(
        "/api/gdpr/unrestrict",
        &json!({"by": "email", "value": "erika@example.org"}),
    );
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    assert_eq!(lifted.json()["lifted"][0]["covered"]["conversations"], 0);
    assert_eq!(sue.get("/api/conversations/1/messages").status, 200);
    let again = ann.post_json(
        "/api/gdpr/unrestrict",
        &json!({"by": "email", "value": "erika@example.org"}),
    );
    assert_eq!(again.status, 404);
    let listed = k.ok(&["gdpr", "restrictions", "acme"]);
    assert!(listed.contains("lifted"), "{listed}");
    let purged = k.json(&["retention", "purge", "acme"]);
    assert_eq!(purged["conversations"], 2, "{purged}");
}

#[test]
fn the_record_of_measures_says_what_is_configured_here_and_nothing_of_the_chats() {
    let (k, pw) = Kontor::with_tenant();
    fill(&k);
    k.ok(&["retention", "set", "acme", "--chats", "200"]);
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            "bo@acme.example",
            "--name",
            "<b>Bo</b>",
            "--password-stdin",
        ],
        &pw,
    );
    let md = k.ok(&["privacy", "report", "acme"]);
    assert!(
        md.starts_with("# Technical and organisational measures: "),
        "{md}"
    );
    for wanted in [
        "Subprocessors: none",
        "| Chats: messages",
        "| 200 days |",
        "| &lt;b&gt;Bo&lt;/b&gt; | agent | active |",
        "SQLCipher 4",
        "Erasures carried out: 0",
        "unbroken hash chain",
        "Support access has never been granted.",
    ] {
        assert!(md.contains(wanted), "{wanted}: {md}");
    }
    for secret in ["ERIKA-SECRET", "erika@example.org", "MAX-KEEP"] {
        assert!(!md.contains(secret), "{secret}");
    }
    let de = k.ok(&["privacy", "report", "acme", "--lang", "de"]);
    assert!(
        de.contains("Unterauftragsverarbeiter: keine") && de.contains("200 Tage"),
        "{de}"
    );
    assert!(
        k.fails(&["privacy", "report", "acme", "--lang", "fr"])
            .contains("de or en")
    );
    let out = k.data_dir().with_file_name("measures.html");
    k.ok(&[
        "privacy",
        "report",
        "acme",
        "--html",
        "--out",
        out.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<html lang=\"en\">"));
    assert!(
        !html.contains("<script") && !html.contains("http://"),
        "self-contained"
    );

    // The same over HTTP for those who manage settings, with every value escaped.
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = ann.get("/api/privacy/report?format=html&lang=de");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body.contains("Technische und organisatorische Maßnahmen"));
    assert!(r.body.contains("&lt;b&gt;Bo&lt;/b&gt;"), "{}", r.body);
    assert!(
        !r.body.contains("<b>Bo") && !r.body.contains("ERIKA"),
        "{}",
        r.body
    );
    assert_eq!(ann.get("/api/privacy/report?format=pdf").status, 400);
    crate::chat::with_bob(&k, &pw);
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get("/api/privacy/report").status, 403);
}

#[test]
fn the_record_of_measures_names_each_off_site_place_and_its_last_good_copy() {
    let (k, _) = Kontor::with_tenant();
    let md = k.ok(&["privacy", "report", "acme"]);
    assert!(
        md.contains("No off-site copy is configured: the archives stay on this server."),
        "{md}"
    );
    let secret = k.dir.path().join("s3-secret");
    std::fs::write(&secret, "test-secret-key\n").unwrap();
    std::fs::write(
        k.config_file(),
        format!(
            "[backup]\ndaily_at = \"03:00\"\n\
             [[offsite]]\nname = \"store\"\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:9\"\n\
             bucket = \"kontor-backups\"\naccess_key = \"test-access-key\"\n\
             secret_key_file = \"{}\"\n\
             [[offsite]]\nname = \"other-dc\"\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:9\"\n\
             bucket = \"kontor-backups\"\naccess_key = \"test-access-key\"\n\
             secret_key_file = \"{}\"\n",
            secret.display(),
            secret.display()
        ),
    )
    .unwrap();
    // The state file the copies write (and `/healthz` and `doctor` read): one good copy to
    // "store", then a failed attempt; none yet to "other-dc".
    let status = kontor::store::backup::offsite::status::update;
    status(
        &k.data_dir(),
        "store",
        |s: &mut kontor::store::backup::offsite::status::RemoteStatus| {
            s.last_good_at = Some(1_795_000_000);
            s.failures = 1;
        },
    )
    .unwrap();
    let md = k.ok(&["privacy", "report", "acme"]);
    for wanted in [
        "also copied to these places on other servers",
        "| Off-site place | Kind | Last successful copy | Failed attempts since |",
        "| store | S3 | 2026-11-18T",
        "| other-dc | S3 | none yet | 0 |",
    ] {
        assert!(md.contains(wanted), "{wanted}: {md}");
    }
    assert!(!md.contains("127.0.0.1"), "no endpoint, host or path");
    let de = k.ok(&["privacy", "report", "acme", "--lang", "de"]);
    assert!(
        de.contains("| Externer Ort | Art | Letzte erfolgreiche Kopie |")
            && de.contains("noch keine"),
        "{de}"
    );
}
