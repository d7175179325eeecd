//! Files between visitor and agent: type from the bytes, size limit, stored encrypted,
//! downloaded as attachments with nosniff, only by those who may see the conversation.

use crate::chat::{SHOP, agent, setup, visitor};
use crate::common::{Browser, Res};
use serde_json::json;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRsecret-pixels";

fn upload(b: &mut Browser, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Res {
    b.post_bytes(path, headers, body)
}

#[test]
fn a_visitor_sends_an_image_the_agent_downloads_it_as_an_attachment() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (mut ab, mut ag) = agent(&server, &pw);
    let (mut v, conv, token) = visitor(&server, &site, "Vera");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");

    let mut b = Browser::new(&server.base);
    let path =
        format!("/api/widget/files?site={site}&name=..%2F..%2Fbild%E2%80%AE.png&client_id=f1");
    let res = upload(
        &mut b,
        &path,
        &[("Origin", &server.base), ("X-Kontor-Token", &token)],
        PNG,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let posted = res.json();
    let file_id = posted["file"]["id"].as_i64().unwrap();
    assert_eq!(
        posted["file"]["name"], "bild.png",
        "path and bidi characters removed"
    );
    assert_eq!(posted["file"]["mime"], "image/png");

    // Both sides see it in the conversation, with its seq.
    let m = loop {
        let m = ag.recv_type("message");
        if m["file"].is_object() {
            break m;
        }
    };
    assert_eq!(m["seq"], posted["seq"]);
    assert_eq!(m["file"]["id"], file_id);
    let vm = loop {
        let m = v.recv_type("message");
        if m["file"].is_object() {
            break m;
        }
    };
    assert_eq!(vm["file"]["name"], "bild.png");

    // The same upload retried is one message.
    let again = upload(
        &mut b,
        &path,
        &[("Origin", &server.base), ("X-Kontor-Token", &token)],
        PNG,
    );
    assert_eq!(again.json()["seq"], posted["seq"]);
    // ...and one stored file: the retry is answered with the first copy, not stored again.
    assert_eq!(again.json()["file"]["id"], file_id);
    let files = crate::chat::db_count(&k, "SELECT count(*) FROM files");
    assert_eq!(files, 1, "a retried upload stored its bytes again");

    let res = ab.get(&format!("/api/files/{file_id}"));
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("image/png"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    let cd = res.header("content-disposition").unwrap();
    assert!(cd.starts_with("attachment; filename=\"bild.png\""), "{cd}");
    assert!(
        res.header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );

    // The visitor downloads it with their token; nobody else can.
    let res = b.post_json(
        &format!("/api/widget/files/{file_id}"),
        &json!({"token": token}),
    );
    assert_eq!(res.status, 200);
    assert!(
        res.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(
        Browser::new(&server.base)
            .get(&format!("/api/files/{file_id}"))
            .status,
        401
    );
    let (_v2, _, other_token) = visitor(&server, &site, "Otto");
    let res = b.post_json(
        &format!("/api/widget/files/{file_id}"),
        &json!({"token": other_token}),
    );
    assert_eq!(res.status, 404, "another visitor's token");

    // The bytes are not on disk in the clear.
    drop((v, ag));
    let raw: Vec<u8> = std::fs::read_dir(k.data_dir().join("tenants"))
        .unwrap()
        .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(!raw.windows(13).any(|w| w == b"secret-pixels"));
    let _ = SHOP;
}

#[test]
fn dangerous_or_oversized_uploads_are_refused() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (_ab, mut ag) = agent(&server, &pw);
    let (_v, conv, token) = visitor(&server, &site, "");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    let mut b = Browser::new(&server.base);
    let own = server.base.clone();
    let hdr = [("Origin", own.as_str()), ("X-Kontor-Token", token.as_str())];
    let path = |name: &str| format!("/api/widget/files?site={site}&name={name}&client_id=x1");
    for (name, body) in [
        (
            "x.svg",
            &b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"[..],
        ),
        ("x.html", b"<html><script>alert(1)</script>"),
        ("x.png", b"<html><script>alert(1)</script>"),
        ("x.exe", b"MZ\x90\x00\x03"),
        ("empty.png", b""),
    ] {
        let res = upload(&mut b, &path(name), &hdr, body);
        assert_eq!(res.status, 415, "{name}: {}", res.body);
        assert_eq!(res.json()["error"]["code"], "unsupported_file_type");
    }
    let big = [PNG, &vec![0u8; 10 * 1024 * 1024]].concat();
    let res = upload(&mut b, &path("big.png"), &hdr, &big);
    assert_eq!(res.status, 413);
    let res = upload(
        &mut b,
        &path("x.png"),
        &[
            ("Origin", "https://evil.example"),
            ("X-Kontor-Token", &token),
        ],
        PNG,
    );
    assert_eq!(res.status, 403);
    let res = upload(
        &mut b,
        &path("x.png"),
        &[("Origin", &own), ("X-Kontor-Token", "nope")],
        PNG,
    );
    assert_eq!(res.status, 404);
    let res = upload(&mut b, &path("x.png"), &[("Origin", &own)], PNG);
    assert_eq!(res.status, 404);
    // A PDF that is also HTML is stored as a PDF and only ever downloaded.
    let polyglot = b"%PDF-1.4\n<html><script>alert(1)</script></html>";
    let res = upload(&mut b, &path("poly.pdf"), &hdr, polyglot);
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["file"]["mime"], "application/pdf");
    assert!(!server.log().contains("panicked"));
}

#[test]
fn agents_send_files_only_into_their_own_chats_with_csrf() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (mut ab, mut ag) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "");
    let csrf = ab.get("/api/session").json()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let own = server.base.clone();
    let path = format!("/api/files?conversation_id={conv}&name=angebot.pdf&client_id=a1");
    let pdf = b"%PDF-1.7\n%offer";
    // Not accepted yet: not theirs.
    let res = upload(
        &mut ab,
        &path,
        &[("Origin", &own), ("X-CSRF-Token", &csrf)],
        pdf,
    );
    assert_eq!(res.status, 404);
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    assert_eq!(upload(&mut ab, &path, &[("Origin", &own)], pdf).status, 403);
    assert_eq!(
        upload(
            &mut ab,
            &path,
            &[("Origin", "https://evil.example"), ("X-CSRF-Token", &csrf)],
            pdf
        )
        .status,
        403
    );
    let res = upload(
        &mut ab,
        &path,
        &[("Origin", &own), ("X-CSRF-Token", &csrf)],
        pdf,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let m = loop {
        let m = v.recv_type("message");
        if m["file"].is_object() {
            break m;
        }
    };
    assert_eq!(
        (m["author"].as_str(), m["file"]["name"].as_str()),
        (Some("agent"), Some("angebot.pdf"))
    );
}

/// Writes `[uploads]` settings into the fixture's config file.
fn uploads_config(k: &crate::common::Kontor, settings: &str) {
    std::fs::write(k.config_file(), format!("[uploads]\n{settings}\n")).unwrap();
}

/// A PNG of `size` bytes.
fn png_of(size: usize) -> Vec<u8> {
    let mut v = PNG.to_vec();
    v.resize(size, 0);
    v
}

/// The tenant's stored file bytes, as the dashboard shows them.
fn used_bytes(ab: &mut Browser) -> i64 {
    let res = ab.get("/api/storage");
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["files"]["used_bytes"].as_i64().unwrap()
}

/// A visitor's upload into their chat.
fn visitor_upload(
    server: &crate::common::Server,
    site: &str,
    token: &str,
    cid: &str,
    body: &[u8],
) -> Res {
    let path = format!("/api/widget/files?site={site}&name=bild.png&client_id={cid}");
    let mut b = Browser::new(&server.base);
    upload(
        &mut b,
        &path,
        &[("Origin", &server.base), ("X-Kontor-Token", token)],
        body,
    )
}

fn assert_refused(res: &Res, status: u16, code: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], code, "{}", res.body);
}

#[test]
fn uploads_into_a_closed_chat_are_refused() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (mut ab, mut ag) = agent(&server, &pw);
    let (_v, conv, token) = visitor(&server, &site, "");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    ag.send(json!({"type": "close", "conversation_id": conv}));
    wait_closed(&mut ag);
    let res = visitor_upload(&server, &site, &token, "c1", PNG);
    assert_refused(&res, 409, "conversation_closed");
    assert_eq!(used_bytes(&mut ab), 0, "nothing stored");
}

fn wait_closed(ag: &mut crate::common::Ws) {
    loop {
        let c = ag.recv_type("conversation");
        if c["status"] == "closed" {
            return;
        }
    }
}

#[test]
fn a_chats_uploads_are_limited_in_count_and_bytes_within_the_window() {
    let (k, pw, site) = setup();
    uploads_config(&k, "chat_files = 2\nchat_mb = 1\nwindow_minutes = 60");
    let server = k.server(&[]);
    let (mut ab, _ag) = agent(&server, &pw);
    let (_v, _, token) = visitor(&server, &site, "");
    for cid in ["a1", "a2"] {
        assert_eq!(visitor_upload(&server, &site, &token, cid, PNG).status, 201);
    }
    let before = used_bytes(&mut ab);
    assert_refused(
        &visitor_upload(&server, &site, &token, "a3", PNG),
        429,
        "upload_limit",
    );
    assert_eq!(used_bytes(&mut ab), before, "nothing stored");

    // Another chat has its own allowance; bytes count as well as files.
    let (_v2, _, token2) = visitor(&server, &site, "");
    let big = png_of(600 * 1024);
    assert_eq!(
        visitor_upload(&server, &site, &token2, "b1", &big).status,
        201
    );
    let before = used_bytes(&mut ab);
    assert_refused(
        &visitor_upload(&server, &site, &token2, "b2", &big),
        429,
        "upload_limit",
    );
    assert_eq!(used_bytes(&mut ab), before, "nothing stored");

    // After the window the chat may send again.
    k.advance_clock(std::time::Duration::from_secs(61 * 60));
    assert_eq!(
        visitor_upload(&server, &site, &token, "a4", PNG).status,
        201
    );
}

#[test]
fn an_addresss_uploads_are_limited_across_its_chats() {
    let (k, pw, site) = setup();
    uploads_config(&k, "address_files = 2");
    let server = k.server(&[]);
    let (mut ab, _ag) = agent(&server, &pw);
    for cid in ["a1", "a2"] {
        let (_v, _, token) = visitor(&server, &site, "");
        assert_eq!(visitor_upload(&server, &site, &token, cid, PNG).status, 201);
    }
    let before = used_bytes(&mut ab);
    let (_v, _, token) = visitor(&server, &site, "");
    let res = visitor_upload(&server, &site, &token, "a3", PNG);
    assert_refused(&res, 429, "upload_limit");
    assert!(
        res.header("retry-after")
            .is_some_and(|s| s.parse::<u64>().unwrap() >= 1)
    );
    assert_eq!(used_bytes(&mut ab), before, "nothing stored");
}

#[test]
fn the_tenants_files_stay_within_its_quota_shown_in_the_dashboard() {
    let (k, pw, site) = setup();
    uploads_config(&k, "tenant_quota_mb = 1");
    let server = k.server(&[]);
    let (mut ab, mut ag) = agent(&server, &pw);
    let res = ab.get("/api/storage");
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json()["files"],
        json!({"used_bytes": 0, "quota_bytes": 1024 * 1024})
    );
    assert_eq!(Browser::new(&server.base).get("/api/storage").status, 401);

    let (_v, conv, token) = visitor(&server, &site, "");
    let big = png_of(600 * 1024);
    assert_eq!(
        visitor_upload(&server, &site, &token, "q1", &big).status,
        201
    );
    assert_eq!(used_bytes(&mut ab), 600 * 1024);
    assert_refused(
        &visitor_upload(&server, &site, &token, "q2", &big),
        413,
        "quota_exceeded",
    );

    // Agents' uploads count against the same quota.
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    let csrf = ab.get("/api/session").json()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/files?conversation_id={conv}&name=x.png&client_id=q3");
    let own = server.base.clone();
    let res = upload(
        &mut ab,
        &path,
        &[("Origin", &own), ("X-CSRF-Token", &csrf)],
        &big,
    );
    assert_refused(&res, 413, "quota_exceeded");
    assert_eq!(used_bytes(&mut ab), 600 * 1024, "nothing stored");
}

#[test]
fn a_download_is_named_after_its_sniffed_type() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (mut ab, mut ag) = agent(&server, &pw);
    let (_v, conv, token) = visitor(&server, &site, "");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    let mut b = Browser::new(&server.base);
    let path = format!("/api/widget/files?site={site}&name=invoice.html&client_id=n1");
    let res = upload(
        &mut b,
        &path,
        &[("Origin", &server.base), ("X-Kontor-Token", &token)],
        PNG,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let id = res.json()["file"]["id"].as_i64().unwrap();
    let res = ab.get(&format!("/api/files/{id}"));
    assert_eq!(res.status, 200);
    let cd = res.header("content-disposition").unwrap();
    assert!(cd.contains("filename=\"invoice.png\""), "{cd}");
    assert!(!cd.contains(".html"), "{cd}");
    let res = b.post_json(&format!("/api/widget/files/{id}"), &json!({"token": token}));
    let cd = res.header("content-disposition").unwrap();
    assert!(cd.contains("filename=\"invoice.png\""), "{cd}");
}
