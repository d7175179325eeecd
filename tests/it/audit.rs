//! The tamper-evident audit trail: each audited action writes exactly one entry with actor,
//! role, truncated address and request id (never content), and changing, inserting or
//! removing any entry makes `kontor audit verify` fail.

use crate::common::{Browser, Kontor};
use serde_json::json;

fn entries(k: &Kontor) -> Vec<kontor::store::audit::AuditRecord> {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let mut v = db.with(|c| kontor::store::audit::recent(c, 500)).unwrap();
    v.reverse();
    v
}

/// Runs `action`, then checks it wrote exactly one new entry with this action and result.
fn one_entry(k: &Kontor, action: &str, result: &str, run: impl FnOnce()) {
    let before = entries(k).len();
    run();
    // Audit writes after the response may land a moment later.
    let mut now = Vec::new();
    crate::common::within(std::time::Duration::from_secs(5), || {
        now = entries(k);
        now.len() != before
    });
    assert_eq!(
        now.len(),
        before + 1,
        "{action}: exactly one entry: {:?}",
        &now[before..]
    );
    let e = now.last().unwrap();
    assert_eq!(
        (e.action.as_str(), e.result.as_str()),
        (action, result),
        "{e:?}"
    );
}

#[test]
fn each_audited_action_writes_one_entry_and_the_chain_verifies() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let base = server.base.clone();
    let mut b = Browser::new(&base);
    one_entry(&k, "login", "failure", || {
        b.login("acme", "ann@acme.example", "wrong password!!");
    });
    let mut b = Browser::signed_in(&base, "ann@acme.example", &pw);
    let last = entries(&k).pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.result.as_str()),
        ("login", "success")
    );
    assert_eq!(last.ip, "127.0.0.0", "addresses are truncated");
    one_entry(&k, "campaign.create", "success", || {
        let r = b.post_json(
            "/api/campaigns",
            &json!({"name": "Spring", "utm_source": "news", "starts_on": "2026-03-01"}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    });
    let e = entries(&k).pop().unwrap();
    assert_eq!(
        (e.actor.as_str(), e.role.as_str()),
        ("ann@acme.example", "admin")
    );
    assert_eq!(e.request_id.len(), 16);
    one_entry(&k, "settings.update", "success", || {
        let r = b.put_json("/api/settings", &json!({"typing_preview": true}));
        assert_eq!(r.status, 200, "{}", r.body);
    });
    one_entry(&k, "canned.create", "success", || {
        let r = b.post_json(
            "/api/canned",
            &json!({"shortcut": "hi", "text": "Hello!", "shared": true}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    });
    one_entry(&k, "agent.add", "success", || {
        k.ok(&["agent", "add", "acme", "bob@acme.example", "--name", "Bob"]);
    });
    let e = entries(&k).pop().unwrap();
    assert_eq!(
        (e.actor.as_str(), e.role.as_str()),
        ("operator", "operator")
    );
    one_entry(&k, "logout", "success", || {
        let csrf = crate::common::hidden_field(&b.get("/app/chats").body, "csrf");
        assert_eq!(b.post_form("/logout", &[("csrf", &csrf)]).status, 303);
    });

    // The dashboard's view: filters, and the chain's state.
    let mut admin = Browser::signed_in(&base, "ann@acme.example", &pw);
    let v = admin.get("/api/audit?action=campaign").json();
    let list = v["entries"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["action"], "campaign.create");
    assert_eq!(v["chain"]["intact"], true);
    let v = admin.get("/api/audit?result=failure&limit=5").json();
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["result"] == "failure")
    );
    assert!(!v["entries"].as_array().unwrap().is_empty());
    // No message content, token or password ever reaches the trail.
    let all = serde_json::to_string(&entries(&k)).unwrap();
    assert!(!all.contains(&pw) && !all.contains("Hello!") && !all.contains("wrong password"));

    let out = k.json(&["audit", "verify", "acme"]);
    assert_eq!(out["intact"], true, "{out}");
    assert!(out["entries"].as_u64().unwrap() >= 8);
}

#[test]
fn changing_inserting_or_removing_any_entry_breaks_the_chain() {
    let (k, pw) = Kontor::with_tenant();
    {
        let server = k.server(&[]);
        for _ in 0..3 {
            Browser::signed_in(&server.base, "ann@acme.example", &pw);
        }
    }
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let ids: Vec<i64> = db
        .with(|c| {
            let mut s = c.prepare("SELECT id FROM audit_log ORDER BY id")?;
            Ok(s.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
        .unwrap();
    assert!(ids.len() >= 4, "{ids:?}");
    drop(db);
    drop(store);
    let head = k.json(&["audit", "verify", "acme"])["head"]
        .as_str()
        .unwrap()
        .to_string();
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let (first, mid, last) = (ids[0], ids[ids.len() / 2], *ids.last().unwrap());
    let tampering = [
        format!("UPDATE audit_log SET result = 'failure' WHERE id = {mid}"),
        format!("UPDATE audit_log SET at = at + 1 WHERE id = {first}"),
        format!("UPDATE audit_log SET ip = '10.0.0.0' WHERE id = {last}"),
        format!("DELETE FROM audit_log WHERE id = {mid}"),
        format!("DELETE FROM audit_log WHERE id = {first}"),
        format!("DELETE FROM audit_log WHERE id = {last}"),
        // A forged entry squeezed in between, and one appended after the last.
        format!(
            "UPDATE audit_log SET id = id + 1000 WHERE id > {mid};
             INSERT INTO audit_log (id, at, actor, action, result, hash)
               SELECT {mid} + 1, at, 'mallory', 'login', 'success', hash FROM audit_log WHERE id = {mid}"
        ),
        format!(
            "INSERT INTO audit_log (at, actor, action, result, hash)
               SELECT at, 'mallory', 'login', 'success', hash FROM audit_log WHERE id = {last}"
        ),
    ];
    db.with(|c| {
        assert!(kontor::store::audit::verify(c)?.intact);
        for sql in &tampering {
            let tx = c.transaction()?;
            tx.execute_batch(sql)?;
            let v = kontor::store::audit::verify(&tx)?;
            assert!(!v.intact, "not detected: {sql}");
            assert!(v.problem.is_some() && v.broken_at.is_some());
            tx.rollback()?;
        }
        assert!(kontor::store::audit::verify(c)?.intact, "rolled back");
        Ok(())
    })
    .unwrap();
    // A rewritten chain (an entry changed, then every hash recomputed) verifies on its own,
    // but a head kept from before is no longer in it.
    db.with(|c| {
        c.execute(
            "UPDATE audit_log SET result = 'failure' WHERE id = ?1",
            [first],
        )?;
        c.execute_batch("UPDATE audit_chain SET head_id = 0, head_hash = zeroblob(32)")?;
        kontor::store::audit::seal(c)?;
        Ok(())
    })
    .unwrap();
    let out = k.run(&["--json", "audit", "verify", "acme", "--head", &head]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["intact"], true,
        "the rewrite is consistent in itself: {v}"
    );
    assert_eq!(v["kept_head_entry"], serde_json::Value::Null);
    // Committed tampering: the command says so and exits non-zero.
    db.with(|c| {
        Ok(c.execute(
            &format!("UPDATE audit_log SET actor = 'eve' WHERE id = {mid}"),
            [],
        )?)
    })
    .unwrap();
    drop(db);
    drop(store);
    let out = k.run(&["audit", "verify", "acme"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("BROKEN") && text.contains(&format!("entry {mid}")),
        "{text}"
    );
}

#[test]
fn purging_old_entries_keeps_the_chain_verifiable() {
    let (k, pw) = Kontor::with_tenant();
    {
        let server = k.server(&[]);
        for _ in 0..4 {
            Browser::signed_in(&server.base, "ann@acme.example", &pw);
        }
    }
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        // Backdate the first three entries and chain them afresh, as if written long ago.
        let third: i64 = c.query_row(
            "SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 2",
            [],
            |r| r.get(0),
        )?;
        c.execute("UPDATE audit_log SET at = 1000 WHERE id <= ?1", [third])?;
        c.execute_batch("UPDATE audit_chain SET head_id = 0, head_hash = zeroblob(32)")?;
        kontor::store::audit::seal(c)?;
        assert!(kontor::store::audit::verify(c)?.intact);
        let removed = kontor::store::audit::purge_before(c, 2000)?;
        assert_eq!(removed, 3);
        let v = kontor::store::audit::verify(c)?;
        assert!(v.intact, "{v:?}");
        // Removing everything by retention still verifies.
        let all = kontor::store::audit::purge_before(c, i64::MAX)?;
        assert!(all > 0);
        assert!(kontor::store::audit::verify(c)?.intact);
        Ok(())
    })
    .unwrap();
}

#[test]
fn reads_of_personal_data_are_logged_with_who_and_what_and_never_content() {
    let (k, pw, site) = crate::chat::setup();
    crate::chat::with_bob(&k, &pw);
    let server = crate::tracking::quick_server(&k, "");
    let (mut ann, mut ag) = crate::chat::agent(&server, &pw);
    // Vera reads a page, then starts a chat from the same browser.
    crate::tracking::view(
        &server,
        &site,
        crate::tracking::CHROME,
        "ffffffffffffff01",
        "https://shop.example/",
        "Home",
    );
    let visitor = crate::tracking::visitor_where(&mut ag, |_| true)["visitor_id"]
        .as_i64()
        .unwrap();
    let mut v = crate::common::Ws::visitor_as(
        &server.base,
        &site,
        crate::chat::SHOP,
        crate::tracking::CHROME,
    )
    .unwrap();
    v.send(
        json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera",
                  "email": "vera@example.org"}),
    );
    let welcome = v.recv_type("welcome");
    let conv = welcome["conversation_id"].as_i64().unwrap();
    let token = welcome["token"].as_str().unwrap().to_string();
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    crate::chat::say(&mut v, None, "v1", "VERA-READ-SECRET");
    let up = Browser::new(&server.base).post_bytes(
        &format!("/api/widget/files?site={site}&name=a.png&client_id=f1"),
        &[("Origin", &server.base), ("X-Kontor-Token", &token)],
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRpixels",
    );
    assert_eq!(up.status, 201, "{}", up.body);
    let file = up.json()["file"]["id"].as_i64().unwrap();

    // Each kind of read, once.
    for path in [
        format!("/api/conversations/{conv}/messages"),
        format!("/api/conversations/{conv}/visitor"),
        format!("/api/visitors/{visitor}"),
        "/api/offline".to_string(),
        format!("/api/files/{file}"),
        "/api/conversations?q=Vera".to_string(),
        "/api/gdpr/find?by=email&value=vera%40example.org".to_string(),
        "/api/gdpr/export?by=chat&value=1".to_string(),
        "/api/stats.csv?table=chats_by_day".to_string(),
    ] {
        let r = ann.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let wanted = [
        ("conversation", format!("conversation#{conv}")),
        ("visitor", format!("conversation#{conv}")),
        ("visitor", format!("visitor#{visitor}")),
        ("file", format!("file#{file}")),
    ];
    let mut listed = json!(null);
    crate::common::wait_until(
        "the reads written (batched, about once a second)",
        std::time::Duration::from_secs(10),
        || {
            listed = ann.get("/api/audit/reads?limit=500").json();
            listed["entries"].as_array().is_some_and(|e| e.len() >= 9)
        },
    );
    let entries = listed["entries"].as_array().unwrap();
    let has = |what: &str, object: &str| {
        entries
            .iter()
            .any(|e| e["what"] == what && e["object"] == object && e["actor"] == "ann@acme.example")
    };
    for (what, object) in &wanted {
        assert!(has(what, object), "{what} {object}: {listed}");
    }
    for what in [
        "offline",
        "history.search",
        "gdpr.find",
        "gdpr.export",
        "stats.csv",
    ] {
        assert!(
            entries.iter().any(|e| e["what"] == what),
            "{what}: {listed}"
        );
    }
    let text = listed.to_string();
    assert!(!text.contains("VERA-READ-SECRET") && !text.contains("vera@example.org"));
    assert!(
        !text.to_lowercase().contains("\"search#vera"),
        "a search names a pseudonym"
    );
    assert!(
        entries
            .iter()
            .all(|e| !e["ip"].as_str().unwrap().is_empty())
    );
    // Filters: by kind and by object.
    let only = ann.get("/api/audit/reads?what=file").json();
    assert_eq!(only["entries"].as_array().unwrap().len(), 1, "{only}");
    let about = ann
        .get(&format!("/api/audit/reads?object=conversation%23{conv}"))
        .json();
    assert_eq!(about["entries"].as_array().unwrap().len(), 2, "{about}");
    assert_eq!(ann.get("/api/audit/reads?colour=red").status, 400);
    // Only for those who may read the audit trail.
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get("/api/audit/reads").status, 403);

    // The read log has its own retention period.
    let r = k.json(&["retention", "set", "acme", "--reads", "30"]);
    assert_eq!(r["reads_days"], 30, "{r}");
    drop(server);
    k.advance_clock(std::time::Duration::from_secs(31 * 86_400));
    let purged = k.json(&["retention", "purge", "acme"]);
    assert!(purged["reads"].as_u64().unwrap() >= 9, "{purged}");
    assert_eq!(
        purged["audit_entries"], 0,
        "the audit trail keeps its own period"
    );
}
