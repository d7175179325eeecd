//! Retention: the purge (with its clock given) deletes exactly the expired rows, keeps the
//! rest and the statistics, and leaves no plaintext of a purged message in the database file
//! (checked by decrypting every page of the file ourselves). Periods through the CLI and the
//! API, admins only.

use crate::common::{Browser, Kontor};
use aes::cipher::{BlockCipherDecrypt, KeyInit};
use kontor::store::{Store, aggregates, retention};
use rusqlite::params;
use serde_json::json;
use std::path::Path;

const DAY: i64 = 86_400;
/// 2026-06-01 00:00:00 UTC: "now" for the purge.
const NOW: i64 = 1_780_272_000;

/// Every page of a SQLCipher 4 file (4096-byte pages, HMAC-SHA256: 16-byte IV and 32-byte
/// MAC at the end of each page, the first 16 bytes of page 1 are the salt), decrypted with
/// the raw key. Free pages and leftover cells are decrypted too: that is the point.
pub fn plaintext_pages(file: &Path, key_literal: &str) -> Vec<u8> {
    let hex = key_literal
        .trim_matches('"')
        .trim_start_matches("x'")
        .trim_end_matches('\'');
    let key: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let aes = aes::Aes256::new_from_slice(&key).unwrap();
    let bytes = std::fs::read(file).unwrap();
    let mut out = Vec::with_capacity(bytes.len());
    for (n, page) in bytes.chunks_exact(4096).enumerate() {
        let start = if n == 0 { 16 } else { 0 };
        let end = 4096 - 48;
        let mut prev: [u8; 16] = page[end..end + 16].try_into().unwrap();
        for chunk in page[start..end].chunks_exact(16) {
            let mut block: [u8; 16] = chunk.try_into().unwrap();
            let b: &mut aes::Block = (&mut block[..]).try_into().unwrap();
            aes.decrypt_block(b);
            for i in 0..16 {
                block[i] ^= prev[i];
            }
            out.extend_from_slice(&block);
            prev = chunk.try_into().unwrap();
        }
    }
    out
}

/// The tenant's database file, checkpointed, decrypted page by page.
pub fn decrypted_file(k: &Kontor, slug: &str) -> Vec<u8> {
    let store = Store::open(&k.data_dir()).unwrap();
    let rec = store.tenant_record(slug).unwrap();
    let key = store.tenant_key(&rec.uuid).unwrap();
    let (_, db) = store.tenant_db_by_slug(slug).unwrap();
    db.with(|c| retention::checkpoint(c)).unwrap();
    let path = store.tenant_path(&rec.uuid);
    let wal = path.with_extension("db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0,
        "the log is empty"
    );
    plaintext_pages(&path, &key.sqlcipher_literal())
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Rows around each period's edge: one just expired, one just kept.
fn fill(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    let r = retention::Retention::default();
    let edge = |days: u32| NOW - i64::from(days) * DAY;
    let chats = edge(r.chats_days);
    let chat = |id: i64, status: &str, closed: Option<i64>, created: i64, text: &str| {
        c.execute(
            "INSERT INTO conversations (id, site_key, status, visitor_token_hash, consent_at,
                 consent_version, created_at, closed_at, visitor_name, visitor_email)
             VALUES (?1, 's', ?2, randomblob(32), ?3, 'v1', ?3, ?4, 'Erika', 'erika@example.org')",
            params![id, status, created, closed],
        )?;
        c.execute(
            "INSERT INTO messages (conversation_id, seq, author, body, created_at)
             VALUES (?1, 1, 'visitor', ?2, ?3), (?1, 2, 'visitor', ?2 || ' again', ?3)",
            params![id, text, created],
        )?;
        Ok::<_, rusqlite::Error>(())
    };
    chat(
        1,
        "closed",
        Some(chats - 10),
        chats - 500,
        "PURGE-ME-chat-one",
    )?;
    chat(
        2,
        "closed",
        Some(chats + 10),
        chats - 500,
        "KEEP-ME-chat-two",
    )?;
    // Open for ages: never purged while open.
    chat(3, "open", None, chats - 900 * DAY, "KEEP-ME-open-chat")?;
    let files = edge(r.files_days);
    c.execute(
        "INSERT INTO files (id, conversation_id, name, mime, size, data, created_at) VALUES
           (1, 2, 'old.txt', 'text/plain', 9, CAST('PURGE-ME-file' AS BLOB), ?1),
           (2, 2, 'new.txt', 'text/plain', 9, CAST('KEEP-ME-file' AS BLOB), ?2),
           (3, 1, 'gone-with-chat.txt', 'text/plain', 9, CAST('PURGE-ME-chat-file' AS BLOB), ?2)",
        params![files - 1, files + 1],
    )?;
    let offline = edge(r.offline_days);
    c.execute(
        "INSERT INTO offline_messages (id, site_key, name, email, message, consent_at, created_at)
         VALUES (1, 's', 'Old', 'o@example.org', 'PURGE-ME-offline', ?1, ?1),
                (2, 's', 'New', 'n@example.org', 'KEEP-ME-offline', ?2, ?2)",
        params![offline - 1, offline + 1],
    )?;
    // Mails are kept as long as the shorter of chats and offline messages; a queued one is
    // never purged (it has yet to go out).
    let mails = edge(r.offline_days.min(r.chats_days));
    c.execute(
        "INSERT INTO outbox (id, kind, recipient, subject, envelope_from, message, state,
                             next_at, created_at, done_at)
         VALUES (1, 'offline', 'i@acme.example', 's', 'f@acme.example',
                 CAST('PURGE-ME-mail' AS BLOB), 'sent', ?1, ?1, ?1),
                (2, 'offline', 'i@acme.example', 's', 'f@acme.example',
                 CAST('KEEP-ME-mail' AS BLOB), 'failed', ?2, ?2, ?2),
                (3, 'offline', 'i@acme.example', 's', 'f@acme.example',
                 CAST('KEEP-ME-queued-mail' AS BLOB), 'queued', ?1, ?1, NULL)",
        params![mails - 1, mails + 1],
    )?;
    let views = edge(r.page_views_days);
    let visitors = edge(r.visitors_days);
    c.execute_batch(&format!(
        "INSERT INTO pages (id, url, title) VALUES (1, 'https://s.example/', 'Home');
         INSERT INTO visitors (id, site_key, mode, first_seen, last_seen) VALUES
           (1, 's', 'anonymous', {a}, {a}), (2, 's', 'anonymous', {b}, {b}), (3, 's', 'anonymous', {v}, {v});
         INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen, referrer) VALUES
           (1, 1, 's', {a}, {a}, 'https://PURGE-ME-referrer.example/'),
           (2, 2, 's', {b}, {b}, 'https://KEEP-ME-referrer.example/');
         INSERT INTO page_views (visit_id, page_id, at) VALUES (1, 1, {a}), (1, 1, {a}), (2, 1, {b});",
        a = views - 100,
        b = views + 100,
        v = visitors - 1,
    ))?;
    // Agents' presence: one stretch ended before the period, one after; one still open.
    let presence = edge(r.presence_days);
    c.execute(
        "INSERT INTO agent_presence (agent_id, status, since, until, ended) VALUES
           (1, 'online', ?1 - 600, ?1, 1), (1, 'away', ?2, ?2 + 600, 1), (1, 'online', ?1 - 900, ?1 - 900, 0)",
        params![presence - 1, presence + 1],
    )?;
    Ok(())
}

#[test]
fn the_purge_deletes_exactly_what_expired_and_leaves_no_plaintext() {
    let (k, _) = Kontor::with_tenant();
    let store = Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        fill(c)?;
        // The statistics job has run up to the day before NOW.
        while aggregates::refresh_one(c, NOW)?.is_some() {}
        // The trail so far (the agent's creation) and one more entry, all two and a half
        // years old: backdated and chained afresh.
        c.execute("UPDATE audit_log SET at = ?1", [NOW - 913 * DAY])?;
        c.execute_batch("UPDATE audit_chain SET head_id = 0, head_hash = zeroblob(32)")?;
        kontor::store::audit::seal(c)?;
        kontor::store::audit::append(
            c,
            NOW - 913 * DAY,
            &kontor::store::audit::AuditEntry {
                actor: "old@acme.example",
                action: "login",
                result: "success",
                ..Default::default()
            },
        )?;
        Ok(())
    })
    .unwrap();
    drop(db);
    drop(store);
    let before = decrypted_file(&k, "acme");
    assert!(
        contains(&before, "PURGE-ME-chat-one"),
        "the decryption works"
    );
    assert!(contains(&before, "PURGE-ME-offline"));

    let store = Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let stats_before = db
        .with(|c| {
            let p =
                kontor::store::period::Period::days(Some("2025-01-01"), Some("2026-05-31"), NOW)?;
            kontor::store::stats::headline(c, p, NOW)
        })
        .unwrap();
    let purged = db.with(|c| retention::purge(c, NOW)).unwrap();
    assert_eq!(
        purged,
        retention::Purged {
            conversations: 1,
            messages: 2,
            files: 2, // the old one, and the one that went with chat 1
            offline_messages: 1,
            visits: 1,
            page_views: 2,
            visitors: 1,      // 3 (no visits, too old); 1 lost its visit but is kept
            audit_entries: 2, // the agent's creation and the old login
            mails: 1,
            blocks: 0,
            reads: 0,
            presence: 1,
            team_messages: 0,
        },
        "{}",
        purged.summary()
    );
    db.with(|c| {
        let ids = |sql: &str| -> rusqlite::Result<Vec<i64>> {
            let mut s = c.prepare(sql)?;
            s.query_map([], |r| r.get(0))?.collect()
        };
        assert_eq!(ids("SELECT id FROM conversations ORDER BY id")?, [2, 3]);
        assert_eq!(ids("SELECT id FROM files ORDER BY id")?, [2]);
        assert_eq!(ids("SELECT id FROM offline_messages")?, [2]);
        assert_eq!(ids("SELECT id FROM outbox ORDER BY id")?, [2, 3]);
        assert_eq!(ids("SELECT id FROM visits")?, [2]);
        assert_eq!(ids("SELECT id FROM visitors ORDER BY id")?, [1, 2]);
        // Purging again finds nothing; the purge itself is in the trail, with counts only.
        assert!(retention::purge(c, NOW)?.is_empty());
        let chain = kontor::store::audit::verify(c)?;
        assert!(chain.intact, "{chain:?}");
        let last = kontor::store::audit::recent(c, 1)?.remove(0);
        assert_eq!(
            (last.actor.as_str(), last.action.as_str()),
            ("system", "retention.purge")
        );
        assert!(last.object.contains("conversations=1") && !last.object.contains("PURGE"));
        // Statistics of the purged days stay.
        let p = kontor::store::period::Period::days(Some("2025-01-01"), Some("2026-05-31"), NOW)?;
        assert_eq!(kontor::store::stats::headline(c, p, NOW)?, stats_before);
        Ok(())
    })
    .unwrap();
    drop(db);
    drop(store);
    let after = decrypted_file(&k, "acme");
    for gone in [
        "PURGE-ME-chat-one",
        "PURGE-ME-file",
        "PURGE-ME-chat-file",
        "PURGE-ME-offline",
        "PURGE-ME-mail",
        "PURGE-ME-referrer",
        "old@acme.example",
    ] {
        assert!(!contains(&after, gone), "{gone} is still in the file");
    }
    for kept in [
        "KEEP-ME-chat-two",
        "KEEP-ME-open-chat",
        "KEEP-ME-file",
        "KEEP-ME-offline",
    ] {
        assert!(contains(&after, kept), "{kept} was kept");
    }
}

#[test]
fn periods_are_set_through_the_cli_and_the_api_by_admins_only() {
    let (k, pw) = Kontor::with_tenant();
    let v = k.json(&["retention", "show", "acme"]);
    assert_eq!(v["chats_days"], 365);
    let v = k.json(&[
        "retention",
        "set",
        "acme",
        "--chats",
        "30",
        "--audit",
        "400",
    ]);
    assert_eq!(
        (v["chats_days"].as_u64(), v["audit_days"].as_u64()),
        (Some(30), Some(400))
    );
    assert_eq!(v["files_days"], 90, "the others stay");
    let err = k.fails(&["retention", "set", "acme", "--files", "0"]);
    assert!(err.contains("files_days: 1 to 3650 days"), "{err}");
    let err = k.fails(&["retention", "set", "acme"]);
    assert!(err.contains("at least one period"), "{err}");
    let out = k.ok(&["retention", "purge", "acme"]);
    assert!(out.contains("nothing has expired"), "{out}");

    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let v = admin.get("/api/retention").json();
    assert_eq!(v["retention"]["chats_days"], 30);
    assert_eq!(v["defaults"]["chats_days"], 365);
    let mut all = v["retention"].clone();
    all["page_views_days"] = json!(60);
    let r = admin.put_json("/api/retention", &all);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["retention"]["page_views_days"], 60);
    all["visitors_days"] = json!(99999);
    assert_eq!(admin.put_json("/api/retention", &all).status, 400);
    all["visitors_days"] = json!("forever");
    assert_eq!(admin.put_json("/api/retention", &all).status, 400);
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get("/api/retention").status, 403);
    all["visitors_days"] = json!(10);
    assert_eq!(bob.put_json("/api/retention", &all).status, 403);
    assert_eq!(k.json(&["retention", "show", "acme"])["visitors_days"], 180);
}

#[test]
fn the_running_server_purges_on_its_clock_once_a_new_day_comes() {
    let (k, pw, site) = crate::chat::setup();
    k.ok(&["retention", "set", "acme", "--chats", "1"]);
    let server = k.server(&[]);
    let (_b, mut agent) = crate::chat::agent(&server, &pw);
    let (mut v, conv, _) = crate::chat::visitor(&server, &site, "Vera");
    agent.send(json!({"type": "accept", "conversation_id": conv}));
    agent.recv_type("conversation");
    agent.send(json!({"type": "close", "conversation_id": conv}));
    while v.recv_type("conversation")["status"] != "closed" {}
    let chats = || {
        let store = Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        db.with(|c| {
            Ok(c.query_row("SELECT count(*) FROM conversations", [], |r| {
                r.get::<_, i64>(0)
            })?)
        })
        .unwrap()
    };
    assert_eq!(chats(), 1, "an ended chat is kept for its period");
    // Two days later on the server's clock, its maintenance job wakes and purges.
    k.advance_clock(std::time::Duration::from_secs(2 * DAY as u64));
    crate::common::wait_until(
        "the expired chat was purged",
        std::time::Duration::from_secs(10),
        || chats() == 0,
    );
}
