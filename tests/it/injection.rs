//! Terminal and log injection: what people type is stored as they typed it, names that could
//! hide or forge text (control characters, bidi overrides, line separators) are refused at
//! every door, and the CLI prints stored text with control characters escaped.

use crate::chat::{SHOP, setup};
use crate::common::{Browser, Kontor, Ws, within};
use serde_json::{Value, json};
use std::time::Duration;

/// One name of each kind that must be refused (the character sits inside the name, where
/// trimming does not take it away).
const HOSTILE_NAMES: [&str; 9] = [
    "Ann\nadmin login success",
    "An\rn",
    "An\tn",
    "\u{1b}[2KAnn",
    "An\u{7f}n",
    "An\u{9b}31mn",
    "An\u{202e}nA",
    "An\u{2066}n",
    "An\u{2028}n",
];

/// The raw characters that must never reach the operator's terminal from stored text.
fn has_raw_controls(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
    })
}

/// Runs a CLI command with `--json` that must be refused as `invalid_input`; returns the
/// message.
fn refused(k: &Kontor, args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.push("--json");
    let out = k.run(&a);
    assert_eq!(out.status.code(), Some(1), "{args:?} must be refused");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "invalid_input", "{args:?}: {v}");
    v["error"]["message"].as_str().unwrap().to_string()
}

#[test]
fn a_forged_sign_in_line_reaches_the_audit_list_escaped_and_the_json_as_typed() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    let typed = "x\u{1b}[2k\r2026-01-01t00:00:00z ann@acme.example admin login - success \
                 127.0.0.0\nx@acme.example";
    Browser::new(&server.base).login("acme", typed, "wrong password!!");
    let mut rows = Value::Null;
    within(Duration::from_secs(5), || {
        rows = k.json(&["audit", "list", "acme"]);
        rows.as_array().unwrap().iter().any(|r| r["actor"] == typed)
    });
    assert!(
        rows.as_array().unwrap().iter().any(|r| r["actor"] == typed),
        "the trail keeps what was typed: {rows}"
    );

    let text = k.ok(&["audit", "list", "acme"]);
    assert!(!has_raw_controls(&text), "{text:?}");
    assert_eq!(
        text.lines().count(),
        rows.as_array().unwrap().len(),
        "one line per entry, none forged: {text}"
    );
    assert!(text.contains(r"x\u{1b}[2k\u{d}2026-01-01t"), "{text}");
    assert!(text.contains(r"127.0.0.0\u{a}x@acme.example"), "{text}");
}

#[test]
fn every_listing_escapes_control_characters_in_stored_names() {
    let (k, _) = Kontor::with_tenant();
    k.ok(&["department", "add", "acme", "Sales"]);
    // As an older version, or a restored backup, may have stored them.
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    store
        .system(|c| {
            c.execute(
                "UPDATE tenants SET name = ?1",
                ["Acme\u{1b}]0;pwned\u{7}\nforged"],
            )?;
            Ok(())
        })
        .unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        c.execute(
            "UPDATE agents SET display_name = ?1",
            ["Ann\u{202e}nimda\u{9b}2J"],
        )?;
        c.execute("UPDATE departments SET name = ?1", ["Sales\r\u{2028}x"])?;
        Ok(())
    })
    .unwrap();
    drop(db);
    drop(store);

    for (args, escaped) in [
        (
            &["tenant", "list"][..],
            r"Acme\u{1b}]0;pwned\u{7}\u{a}forged",
        ),
        (
            &["tenant", "show", "acme"],
            r"Acme\u{1b}]0;pwned\u{7}\u{a}forged",
        ),
        (&["agent", "list", "acme"], r"Ann\u{202e}nimda\u{9b}2J"),
        (&["department", "list", "acme"], r"Sales\u{d}\u{2028}x"),
    ] {
        let text = k.ok(args);
        assert!(!has_raw_controls(&text), "{args:?}: {text:?}");
        assert!(text.contains(escaped), "{args:?}: {text}");
    }
    // JSON keeps the stored value.
    let list = k.json(&["tenant", "list"]);
    assert_eq!(
        list["tenants"][0]["name"],
        "Acme\u{1b}]0;pwned\u{7}\nforged"
    );
}

#[test]
fn the_cli_refuses_names_with_control_or_bidi_characters() {
    let (k, _) = Kontor::with_tenant();
    for bad in HOSTILE_NAMES {
        let m = refused(&k, &["tenant", "create", "evil", "--name", bad]);
        assert!(m.contains("tenant name"), "{m}");
        let m = refused(
            &k,
            &["agent", "add", "acme", "eve@acme.example", "--name", bad],
        );
        assert!(m.contains("display name"), "{m}");
        let m = refused(&k, &["department", "add", "acme", bad]);
        assert!(m.contains("department name"), "{m}");
    }
    // Nothing was written.
    assert_eq!(
        k.json(&["tenant", "list"])["tenants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        k.json(&["agent", "list", "acme"])["agents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        k.json(&["department", "list", "acme"])["departments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_dashboard_api_refuses_names_with_control_or_bidi_characters() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let ann = admin.get("/api/agents").json()["agents"][0]["id"].clone();
    for bad in HOSTILE_NAMES {
        for (path, body, field) in [
            (
                format!("/api/agents/{ann}"),
                json!({"display_name": bad}),
                "display name",
            ),
            (
                "/api/roles".to_string(),
                json!({"name": bad, "permissions": []}),
                "role name",
            ),
            (
                "/api/campaigns".to_string(),
                json!({"name": bad, "utm_source": "news", "starts_on": "2026-03-01"}),
                "name",
            ),
            (
                "/api/rules".to_string(),
                json!({"site_key": site, "name": bad, "text": "Hello?", "delay_seconds": 5}),
                "name",
            ),
        ] {
            let r = if path.starts_with("/api/agents/") {
                admin.put_json(&path, &body)
            } else {
                admin.post_json(&path, &body)
            };
            assert_eq!(r.status, 400, "{path} {bad:?}: {}", r.body);
            let e = &r.json()["error"];
            assert_eq!(e["code"], "invalid_input", "{path}: {}", r.body);
            assert!(
                e["message"].as_str().unwrap().contains(field),
                "{path}: {}",
                r.body
            );
        }
        let mut visitor = Browser::new(&server.base);
        visitor.headers.push(("Origin".into(), server.base.clone()));
        let r = visitor.post_json(
            "/api/widget/offline",
            &json!({"site": site, "name": bad, "email": "o@example.com", "message": "x",
                    "consent": true}),
        );
        assert_eq!(r.status, 400, "offline {bad:?}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "invalid_input");
    }
    // Nothing was written.
    assert_eq!(
        admin.get("/api/agents").json()["agents"][0]["display_name"],
        "Ann"
    );
    assert_eq!(
        admin.get("/api/roles").json()["roles"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(
        admin.get("/api/campaigns").json()["campaigns"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        admin.get("/api/rules").json()["rules"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        admin.get("/api/offline").json()["messages"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_chat_start_frame_refuses_names_with_control_or_bidi_characters() {
    let (k, _, site) = setup();
    let mut server = k.server(&[]);
    for bad in HOSTILE_NAMES {
        let mut ws = Ws::visitor(&server.base, &site, SHOP).unwrap();
        ws.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": bad}));
        let e = ws.recv_type("error");
        assert_eq!(e["code"], "invalid_input", "{bad:?}: {e}");
        assert!(e["message"].as_str().unwrap().contains("name"), "{e}");
    }
    server.stop();
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let chats: i64 = db
        .with(|c| Ok(c.query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(chats, 0, "nothing stored");
}

#[test]
fn gdpr_rectify_checks_names_and_emails_like_every_other_door() {
    let (k, pw) = Kontor::with_tenant();
    crate::gdpr::fill(&k);
    let long = "x".repeat(101);
    for (flag, bad) in [
        ("--new-name", "Erika\u{202e}"),
        ("--new-name", "Er\u{1b}[2Jika"),
        ("--new-name", long.as_str()),
        ("--new-email", "javascript:alert(1)//@x.com"),
        ("--new-email", "<a>@b.de"),
        ("--new-email", "e\u{202e}@example.org"),
    ] {
        let m = refused(
            &k,
            &[
                "gdpr",
                "rectify",
                "acme",
                "--email",
                "erika@example.org",
                flag,
                bad,
            ],
        );
        let field = if flag == "--new-name" {
            "name"
        } else {
            "email"
        };
        assert!(m.contains(field), "{bad:?}: {m}");
    }
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    for body in [
        json!({"by": "email", "value": "erika@example.org", "name": "Erika\u{2066}"}),
        json!({"by": "email", "value": "erika@example.org", "email": "<a>@b.de"}),
    ] {
        let r = admin.post_json("/api/gdpr/rectify", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "invalid_input");
    }
    // Nothing was changed.
    let f = admin
        .get("/api/gdpr/find?by=email&value=erika%40example.org")
        .json();
    assert_eq!(f["counts"]["conversations"], 2);
    assert_eq!(f["conversations"][0]["visitor_name"], "Erika Mustermann");
}
