//! Terminal and log injection: what people type is stored as they typed it, names that could
//! hide or forge text (control characters, bidi overrides, line separators) are refused at
//! every door, and the CLI prints stored text with control characters escaped.

use crate::common::{Browser, Kontor, within};
use serde_json::Value;
use std::time::Duration;

/// The raw characters that must never reach the operator's terminal from stored text.
fn has_raw_controls(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
    })
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
