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
