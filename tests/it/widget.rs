//! The widget's HTTP doors: config with CORS, the framable chat page, rating, transcript,
//! offline form; and the agent's history and offline inbox.

use crate::chat::{SHOP, agent, setup, visitor};
use crate::common::{Browser, Kontor, Ws};
use serde_json::json;

fn with_origin(b: &mut Browser, origin: &str) {
    b.headers.retain(|(k, _)| k != "Origin");
    b.headers.push(("Origin".into(), origin.into()));
}

#[test]
fn config_is_readable_only_by_the_sites_origins_and_tells_availability() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    with_origin(&mut b, SHOP);
    let res = b.get(&format!("/api/widget/config?site={site}"));
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), Some(SHOP));
    let v = res.json();
    assert_eq!(
        (v["position"].as_str(), v["color"].as_str()),
        (Some("bottom-right"), Some("#0a5bd3"))
    );
    assert_eq!(v["available"], false, "no agent online");
    assert!(
        res.set_cookies().is_empty(),
        "the widget never gets a cookie"
    );

    let (_ab, _aws) = agent(&server, &pw);
    assert_eq!(
        b.get(&format!("/api/widget/config?site={site}")).json()["available"],
        true
    );

    with_origin(&mut b, "https://evil.example");
    let res = b.get(&format!("/api/widget/config?site={site}"));
    assert_eq!(res.status, 404);
    assert!(res.header("access-control-allow-origin").is_none());
    with_origin(&mut b, SHOP);
    assert_eq!(b.get("/api/widget/config?site=site_nope").status, 404);
}

/// The loader's budget, gzipped: every page of every customer's site fetches it.
const LOADER_BUDGET: usize = 6_200;

#[test]
fn the_loader_stays_within_its_gzipped_size_budget() {
    use std::io::Write;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/widget/widget.js");
    let js = std::fs::read(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&js).unwrap();
    let size = gz.finish().unwrap().len();
    assert!(
        size <= LOADER_BUDGET,
        "the widget loader is {size} bytes gzipped, over its budget of {LOADER_BUDGET}: move \
         what can wait until the chat opens into the chat frame"
    );
}

#[test]
fn config_takes_the_pages_then_the_browsers_language_and_names_the_text_colour() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    with_origin(&mut b, SHOP);
    b.headers.push((
        "Accept-Language".into(),
        "pt-PT,pt;q=0.9,nl;q=0.8,de;q=0.7".into(),
    ));
    let conf = |b: &mut Browser, lang: &str| {
        b.get(&format!("/api/widget/config?site={site}&lang={lang}"))
            .json()
    };
    // The page's <html lang> first, else the browser's first language the widget speaks.
    assert_eq!(conf(&mut b, "fr-BE")["ui_lang"], "fr");
    assert_eq!(conf(&mut b, "")["ui_lang"], "nl");
    assert_eq!(conf(&mut b, "pt")["ui_lang"], "nl");
    // White on the default blue, as the chat frame's header has it.
    assert_eq!(conf(&mut b, "")["fg"], "#ffffff");
    let html = b.get(&format!("/widget/frame?site={site}&lang=de")).body;
    assert!(html.contains("data-fg=\"#ffffff\""));
}

#[test]
fn the_chat_frame_may_be_framed_only_by_the_sites_origins() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    let res = b.get(&format!("/widget/frame?site={site}&lang=de"));
    assert_eq!(res.status, 200);
    let csp = res.header("content-security-policy").unwrap();
    assert!(csp.ends_with(&format!("frame-ancestors {SHOP}")), "{csp}");
    assert!(!csp.contains("unsafe-inline"));
    assert!(res.header("x-frame-options").is_none());
    assert!(res.body.contains("<html lang=\"de\">"));
    assert_eq!(b.get("/widget/frame?site=site_nope").status, 404);
    // Everything else stays unframable.
    assert_eq!(b.get("/login").header("x-frame-options"), Some("DENY"));
}

#[test]
fn the_frame_connects_from_our_own_origin() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    let mut ws = Ws::visitor(&server.base, &site, &server.base).unwrap();
    ws.send(json!({"type": "start", "consent": true, "notice_version": "1"}));
    assert_eq!(ws.recv_type("welcome")["status"], "waiting");
}

#[test]
fn visitors_rate_a_chat_and_download_its_transcript() {
    let (k, pw, site) = setup();
    let mut server = k.server(&[]);
    let (_ab, mut ag) = agent(&server, &pw);
    let (mut v, conv, token) = visitor(&server, &site, "Vera");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    v.send(json!({"type": "message", "client_id": "m1", "text": "Wo ist mein Paket?"}));
    v.recv_type("ack");
    ag.send(json!({"type": "message", "conversation_id": conv, "client_id": "a1", "text": "Unterwegs!"}));
    ag.recv_type("ack");
    v.send(json!({"type": "end"}));
    assert_eq!(v.recv_type("conversation")["status"], "closed");
    for bad in [
        json!({"type": "rate", "score": 0}),
        json!({"type": "rate", "score": 6}),
        json!({"type": "rate", "score": 3, "comment": "x".repeat(1001)}),
    ] {
        v.send(bad);
        assert_eq!(v.recv_type("error")["code"], "invalid_rating");
    }
    v.send(json!({"type": "rate", "score": 5, "comment": "Schnelle Hilfe"}));
    assert_eq!(v.recv_type("rated")["conversation_id"], conv);

    let mut b = Browser::new(&server.base);
    let res = b.post_json("/api/widget/transcript", &json!({"token": token}));
    assert_eq!(res.status, 200);
    assert!(
        res.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        res.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        res.body.contains("Chat-Verlauf"),
        "in the visitor's language: {}",
        res.body
    );
    assert!(
        res.body.contains("Wo ist mein Paket?") && res.body.contains("Ann: Unterwegs!"),
        "{}",
        res.body
    );
    for bad in [
        json!({"token": "nope"}),
        json!({"token": format!("{site}.{}", "0".repeat(64))}),
        json!({"token": {"$regex": ".*"}}),
    ] {
        let res = b.post_json("/api/widget/transcript", &bad);
        assert!(
            res.status == 404 || res.status == 400,
            "{bad}: {}",
            res.status
        );
        assert!(!res.body.contains("Paket"));
    }
    drop((v, ag));
    server.stop();
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let (score, comment): (i64, String) = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT rating, rating_comment FROM conversations",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!((score, comment.as_str()), (5, "Schnelle Hilfe"));
}

#[test]
fn offline_messages_reach_the_agents_inbox() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    with_origin(&mut b, &server.base.clone());
    let ok = json!({"site": site, "name": "Olga", "email": "olga@example.com", "message": "Bitte um Rückruf", "consent": true});
    let res = b.post_json("/api/widget/offline", &ok);
    assert_eq!(res.status, 201, "{}", res.body);
    for (bad, status) in [
        (
            json!({"site": site, "email": "olga@example.com", "message": "x", "consent": false}),
            400,
        ),
        (
            json!({"site": site, "email": "not-an-email", "message": "x", "consent": true}),
            400,
        ),
        (
            json!({"site": site, "email": "o@example.com", "message": "  ", "consent": true}),
            400,
        ),
        (
            json!({"site": site, "email": "o@example.com", "message": "x", "consent": true, "admin": true}),
            400,
        ),
        (
            json!({"site": "site_nope", "email": "o@example.com", "message": "x", "consent": true}),
            404,
        ),
    ] {
        assert_eq!(
            b.post_json("/api/widget/offline", &bad).status,
            status,
            "{bad}"
        );
    }
    let mut foreign = Browser::new(&server.base);
    with_origin(&mut foreign, "https://evil.example");
    assert_eq!(foreign.post_json("/api/widget/offline", &ok).status, 403);

    assert_eq!(Browser::new(&server.base).get("/api/offline").status, 401);
    let mut a = Browser::new(&server.base);
    a.login("acme", "ann@acme.example", &pw);
    let inbox = a.get("/api/offline").json();
    assert_eq!(inbox["messages"].as_array().unwrap().len(), 1);
    assert_eq!(inbox["messages"][0]["message"], "Bitte um Rückruf");
    assert_eq!(inbox["messages"][0]["email"], "olga@example.com");
    // The consent names the notice the form showed.
    let found = a
        .get("/api/gdpr/find?by=email&value=olga%40example.com")
        .json();
    assert_eq!(found["counts"]["offline_messages"], 1);
    let export = a
        .get("/api/gdpr/export?by=email&value=olga%40example.com")
        .body;
    assert!(
        export.contains("\"consent_version\": \"offline-1\""),
        "{export}"
    );

    // A form is not a mail cannon: at most 10 per address in 15 minutes.
    let mut last = 0;
    for _ in 0..12 {
        last = b.post_json("/api/widget/offline", &ok).status;
    }
    assert_eq!(last, 429);
}

#[test]
fn history_searches_by_name_email_text_and_date() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (_ab, mut ag) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera Müller");
    v.send(json!({"type": "message", "client_id": "m1", "text": "Frage zur Rechnung 100%"}));
    v.recv_type("ack");
    let mut v2 = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v2.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Otto", "email": "otto@example.com"}));
    v2.recv_type("welcome");
    let _ = &mut ag;

    let mut a = Browser::new(&server.base);
    a.login("acme", "ann@acme.example", &pw);
    let ids = |a: &mut Browser, q: &str| -> Vec<i64> {
        let res = a.get(&format!("/api/conversations?{q}"));
        assert_eq!(res.status, 200, "{q}: {}", res.body);
        res.json()["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&mut a, "q=M%C3%BCller"), vec![conv]);
    assert_eq!(ids(&mut a, "q=otto%40example"), vec![conv + 1]);
    assert_eq!(ids(&mut a, "q=Rechnung"), vec![conv]);
    assert_eq!(ids(&mut a, "q=100%25"), vec![conv], "% is literal");
    assert_eq!(
        ids(&mut a, "q=%25").len(),
        1,
        "a lone % matches only text containing %"
    );
    assert_eq!(ids(&mut a, "q=%27%20OR%201%3D1--").len(), 0);
    assert_eq!(ids(&mut a, "").len(), 2);
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(ids(&mut a, &format!("from={today}&to={today}")).len(), 2);
    assert_eq!(ids(&mut a, "from=2000-01-01&to=2000-01-02").len(), 0);
    assert_eq!(a.get("/api/conversations?from=yesterday").status, 400);

    let log = a.get(&format!("/api/conversations/{conv}/messages")).json();
    assert_eq!(log["messages"][0]["text"], "Frage zur Rechnung 100%");
    assert_eq!(a.get("/api/conversations/999999/messages").status, 404);
    assert_eq!(
        Browser::new(&server.base).get("/api/conversations").status,
        401
    );
}

#[test]
fn another_tenants_agent_sees_none_of_this_tenants_history() {
    let (k, pw, site) = setup();
    k.ok(&["tenant", "create", "beta"]);
    k.ok_stdin(
        &[
            "agent",
            "add",
            "beta",
            "eve@beta.example",
            "--name",
            "Eve",
            "--password-stdin",
        ],
        &pw,
    );
    let server = k.server(&[]);
    let (_v, conv, _) = visitor(&server, &site, "Vera");
    let mut eve = Browser::new(&server.base);
    eve.login("beta", "eve@beta.example", &pw);
    assert_eq!(
        eve.get("/api/conversations").json()["conversations"],
        json!([])
    );
    assert_eq!(
        eve.get(&format!("/api/conversations/{conv}/messages"))
            .status,
        404
    );
    assert_eq!(eve.get("/api/offline").json()["messages"], json!([]));
    assert_eq!(eve.get("/api/files/1").status, 404);
    assert_eq!(
        crate::chat::audit_denials(&k, "beta"),
        2,
        "both refusals audited"
    );
}

#[test]
fn catalogs_are_served_for_the_browser() {
    let k = Kontor::new();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    let res = b.get("/i18n/transcript.de.json");
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["transcript.you"], "Sie");
    assert_eq!(b.get("/i18n/..%2Fmaster.key").status, 404);
    assert_eq!(b.get("/i18n/nope.json").status, 404);
}

/// Every key of a JSON value, recursively.
fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                keys(x, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

#[test]
fn agent_responses_never_carry_visitor_tokens_hashes_or_keys() {
    let (k, pw, site) = setup();
    // Consented mode: the browser's own id is the most sensitive visitor datum there is.
    k.ok(&["site", "tracking", "acme", &site, "--mode", "consented"]);
    let server = k.server(&[]);
    let (mut ab, mut ag) = agent(&server, &pw);
    let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
    let vid = "00112233445566778899aabbccddeeff";
    let mut tb = Browser::new(&server.base);
    for body in [
        json!({"t": "view", "pv": "1111111111111111", "url": "https://shop.example/", "title": "Home"}),
        json!({"t": "ping", "pv": "1111111111111111", "vid": vid}),
    ] {
        let r = tb.post_bytes(
            &format!("/api/track?site={site}"),
            &[("Origin", SHOP), ("User-Agent", ua)],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let mut v = Ws::visitor_as(&server.base, &site, SHOP, ua).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera"}));
    let w = v.recv_type("welcome");
    let (conv, token) = (
        w["conversation_id"].as_i64().unwrap(),
        w["token"].as_str().unwrap().to_string(),
    );
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    v.send(json!({"type": "message", "client_id": "m1", "text": "hi"}));
    v.recv_type("ack");
    let mut frames = ag.drain(std::time::Duration::from_millis(500));
    assert!(
        frames
            .iter()
            .any(|f| f["type"] == "visitor" && f["visitor"]["mode"] == "consented"),
        "the agent saw the consented visitor"
    );
    let visitor_id = frames
        .iter()
        .find(|f| f["type"] == "visitor")
        .map(|f| f["visitor"]["visitor_id"].as_i64().unwrap())
        .unwrap();
    let (_, mut ag2) = agent(&server, &pw);
    frames.push(ag2.recv_type("visitors"));
    for path in [
        "/api/session",
        "/api/conversations",
        &format!("/api/conversations/{conv}/messages"),
        &format!("/api/conversations/{conv}/visitor"),
        &format!("/api/visitors/{visitor_id}"),
        "/api/sites",
        "/api/rules",
        "/api/offline",
        "/api/canned",
        "/api/settings",
        "/api/departments",
    ] {
        let res = ab.get(path);
        assert_eq!(res.status, 200, "{path}");
        frames.push(res.json());
    }
    let secret = token.split_once('.').unwrap().1.to_string();
    for f in &frames {
        let text = f.to_string();
        assert!(!text.contains(&secret), "visitor token leaked: {text}");
        assert!(!text.contains("argon2"), "password hash leaked: {text}");
        assert!(
            !text.contains(vid),
            "the browser's visitor id leaked: {text}"
        );
        let mut ks = Vec::new();
        keys(f, &mut ks);
        for key in ks {
            assert!(
                ![
                    "token",
                    "visitor_token_hash",
                    "token_hash",
                    "password_hash",
                    "wrapped_key",
                    "vid",
                    "vid_hash",
                    "visitor_key",
                    "ip"
                ]
                .contains(&key.as_str()),
                "agent response has a {key} field: {text}"
            );
        }
    }
}

#[test]
fn our_own_frame_may_ask_for_the_config_without_an_origin() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.headers
        .push(("Sec-Fetch-Site".into(), "same-origin".into()));
    let res = b.get(&format!("/api/widget/config?site={site}"));
    assert_eq!(res.status, 200, "{}", res.body);
    // Without the browser's same-origin marker there is no such exception.
    assert_eq!(
        Browser::new(&server.base)
            .get(&format!("/api/widget/config?site={site}"))
            .status,
        404
    );
}
