//! The public API with tokens: permissions, refusals with their codes, the chat actions through
//! the hub, pagination, ETags, the rate limit, the audit trail, and the OpenAPI document every
//! route is in and every answer here validates against.

use crate::chat::{agent, setup, visitor};
use crate::common::{Browser, Kontor, Res, Server};
use serde_json::{Value, json};
use std::time::Duration;

/// A token made with the CLI.
fn token(k: &Kontor, tenant: &str, agent: &str, permissions: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "token",
        "create",
        tenant,
        "--name",
        "shop",
        "--agent",
        agent,
        "--permissions",
        permissions,
    ];
    args.extend_from_slice(extra);
    k.json(&args)["token"].as_str().unwrap().to_string()
}

/// A token of another tenant (`globex`, for its admin) that may read every chat there.
fn foreign_token(k: &Kontor, pw: &str) -> String {
    k.ok(&["tenant", "create", "globex", "--name", "Globex"]);
    k.ok_stdin(
        &[
            "agent",
            "add",
            "globex",
            "gus@globex.example",
            "--name",
            "Gus",
            "--role",
            "admin",
            "--password-stdin",
        ],
        pw,
    );
    token(k, "globex", "gus@globex.example", "chat,chats.all", &[])
}

/// A client that sends only the token (no cookie, no Origin, no CSRF token).
fn client(server: &Server, token: &str) -> Browser {
    let mut b = Browser::new(&server.base);
    b.headers = vec![("Authorization".into(), format!("Bearer {token}"))];
    b
}

fn code(r: &Res) -> String {
    r.json()["error"]["code"].as_str().unwrap_or("").to_string()
}

/// The schema of an answer in the document, with the components beside it, as one root.
fn schema_for(doc: &Value, path: &str, method: &str, status: u16) -> Option<Value> {
    let op = &doc["paths"][path][method];
    let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
    if schema.is_null() {
        return None;
    }
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    Some(root)
}

/// Asserts that `r` is documented for this operation and validates against its schema.
fn conforms(doc: &Value, path: &str, method: &str, r: &Res) {
    let documented = &doc["paths"][path][method]["responses"][r.status.to_string()];
    assert!(
        !documented.is_null(),
        "{method} {path} answered {} which the document does not list: {}",
        r.status,
        r.body
    );
    if let Some(schema) = schema_for(doc, path, method, r.status) {
        let v = jsonschema::validator_for(&schema).expect("a valid schema");
        let body = r.json();
        let errors: Vec<String> = v.iter_errors(&body).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {}: {errors:?}\n{body}",
            r.status
        );
    }
}

fn document(server: &Server) -> Value {
    let r = Browser::new(&server.base).get("/api/v1/openapi.json");
    assert_eq!(r.status, 200);
    r.json()
}

#[test]
fn the_document_is_served_and_names_every_route() {
    let (k, _pw, _site) = setup();
    let server = k.server(&[]);
    let doc = document(&server);
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in kontor::http::api_v1::ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from the document"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[test]
fn tokens_do_what_their_permissions_allow_and_nothing_else() {
    let (k, pw, site) = setup();
    let all = token(
        &k,
        "acme",
        "ann@acme.example",
        "chat,chats.all,stats.view,campaigns.manage,gdpr.handle,visitors.view,sites.manage",
        &[],
    );
    let stats_only = token(&k, "acme", "ann@acme.example", "stats.view", &[]);
    // A foreign tenant's token, for its own admin.
    let foreign = foreign_token(&k, &pw);
    let server = k.server(&[]);
    let doc = document(&server);
    let (_v, conv, _) = visitor(&server, &site, "Ida");

    let mut full = client(&server, &all);
    let r = full.get("/api/v1/conversations");
    assert_eq!(r.status, 200, "{}", r.body);
    conforms(&doc, "/api/v1/conversations", "get", &r);
    assert_eq!(r.json()["items"][0]["id"], conv);
    let one = format!("/api/v1/conversations/{conv}");
    let r = full.get(&one);
    assert_eq!(r.status, 200, "{}", r.body);
    conforms(&doc, "/api/v1/conversations/{id}", "get", &r);
    for (path, doc_path) in [
        ("/api/v1/stats", "/api/v1/stats"),
        ("/api/v1/campaigns", "/api/v1/campaigns"),
        ("/api/v1/goals", "/api/v1/goals"),
        ("/api/v1/sites", "/api/v1/sites"),
        ("/api/v1/visitors", "/api/v1/visitors"),
        ("/api/v1/offline-messages", "/api/v1/offline-messages"),
        (
            "/api/v1/contacts?by=email&value=nobody%40example.org",
            "/api/v1/contacts",
        ),
    ] {
        let r = full.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        conforms(&doc, doc_path, "get", &r);
    }
    // Changes need no CSRF token and no Origin: a bearer token is never sent on its own.
    let r = full.post_json(
        "/api/v1/goals",
        &json!({"name": "cart", "url_pattern": "/cart*", "value": 5.0}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    conforms(&doc, "/api/v1/goals", "post", &r);

    // Statistics only: no chats, no contacts.
    let mut narrow = client(&server, &stats_only);
    assert_eq!(narrow.get("/api/v1/stats").status, 200);
    let r = narrow.get("/api/v1/conversations");
    assert_eq!((r.status, code(&r).as_str()), (403, "forbidden"));
    conforms(&doc, "/api/v1/conversations", "get", &r);
    let r = narrow.get("/api/v1/contacts?by=email&value=a%40b.example");
    assert_eq!(r.status, 403);
    let r = narrow.post_json("/api/v1/goals", &json!({"name": "x"}));
    assert_eq!(r.status, 403);

    // Another tenant's token sees its own tenant, never acme's chat.
    let mut other = client(&server, &foreign);
    let r = other.get("/api/v1/conversations");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"], json!([]));
    assert_eq!(other.get(&one).status, 404);

    // No token, a wrong one, one in the query string, a session cookie instead.
    let mut none = Browser::new(&server.base);
    let r = none.get("/api/v1/conversations");
    assert_eq!((r.status, code(&r).as_str()), (401, "unauthorized"));
    conforms(&doc, "/api/v1/conversations", "get", &r);
    // The last digit changed (to another one: the token may end in 0).
    let last = if all.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &all[..all.len() - 1]);
    assert_eq!(client(&server, &wrong).get("/api/v1/sites").status, 401);
    let r = none.get(&format!("/api/v1/sites?access_token={all}"));
    assert_eq!((r.status, code(&r).as_str()), (400, "invalid_input"));
    let (mut signed_in, _ws) = agent(&server, &pw);
    assert_eq!(signed_in.get("/api/v1/sites").status, 401);
    // And a token is no key to the dashboard's API.
    assert_eq!(client(&server, &all).get("/api/sites").status, 401);
}

#[test]
fn revoked_and_expired_tokens_are_refused_with_their_codes() {
    let (k, _pw, _site) = setup();
    let revoked = token(&k, "acme", "ann@acme.example", "stats.view", &[]);
    let expiring = token(
        &k,
        "acme",
        "ann@acme.example",
        "stats.view",
        &["--days", "1"],
    );
    let server = k.server(&[]);
    assert_eq!(client(&server, &revoked).get("/api/v1/stats").status, 200);
    let list = k.json(&["token", "list", "acme"]);
    let rows = list["tokens"].as_array().unwrap();
    // Every use is recorded (when, from where); no secret is listed.
    assert!(rows.iter().any(|t| t["last_used_at"].is_i64()));
    assert!(!list.to_string().contains(&revoked[10..]));
    let id = rows
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .min()
        .unwrap();
    k.ok(&["token", "revoke", "acme", &id.to_string()]);
    let r = client(&server, &revoked).get("/api/v1/stats");
    assert_eq!((r.status, code(&r).as_str()), (401, "token_revoked"));
    assert!(
        k.fails(&["token", "revoke", "acme", &id.to_string()])
            .contains("already revoked")
    );

    assert_eq!(client(&server, &expiring).get("/api/v1/stats").status, 200);
    k.advance_clock(Duration::from_secs(86_400 + 60));
    let r = client(&server, &expiring).get("/api/v1/stats");
    assert_eq!((r.status, code(&r).as_str()), (401, "token_expired"));

    // A token is bounded by its agent's role, and refused with clear words.
    let err = k.fails(&[
        "token",
        "create",
        "acme",
        "--name",
        "x",
        "--agent",
        "nobody@acme.example",
        "--permissions",
        "chat",
    ]);
    assert!(err.contains("nobody@acme.example"), "{err}");
    let err = k.fails(&[
        "token",
        "create",
        "acme",
        "--name",
        "x",
        "--agent",
        "ann@acme.example",
        "--permissions",
        "fly",
    ]);
    assert!(err.contains("unknown permission"), "{err}");
}

#[test]
fn an_agent_answers_notes_and_closes_a_chat_through_the_api() {
    let (k, pw, site) = setup();
    let t = token(&k, "acme", "ann@acme.example", "chat", &[]);
    let server = k.server(&[]);
    let doc = document(&server);
    let (mut v, conv, _) = visitor(&server, &site, "Ida");
    let (_b, mut ann) = agent(&server, &pw);
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    ann.recv_type("conversation");
    let mut api = client(&server, &t);

    let path = format!("/api/v1/conversations/{conv}/messages");
    let body = json!({"text": "Ihre Bestellung ist unterwegs", "client_id": "crm-1"});
    let r = api.post_json(&path, &body);
    assert_eq!(r.status, 201, "{}", r.body);
    conforms(&doc, "/api/v1/conversations/{id}/messages", "post", &r);
    let seq = r.json()["seq"].as_i64().unwrap();
    // The visitor gets it live, from Ann.
    let m = loop {
        let f = v.recv_type("message");
        if f["author"] == "agent" {
            break f;
        }
    };
    assert_eq!(
        (m["text"].as_str(), m["seq"].as_i64()),
        (Some("Ihre Bestellung ist unterwegs"), Some(seq))
    );
    // A retry with the same client id is stored once.
    let again = api.post_json(&path, &body);
    assert_eq!(again.json()["seq"], seq);

    let r = api.post_json(
        &format!("/api/v1/conversations/{conv}/notes"),
        &json!({"text": "Kundin seit 2019"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    conforms(&doc, "/api/v1/conversations/{id}/notes", "post", &r);

    // The log, with an ETag the client can revalidate.
    let one = format!("/api/v1/conversations/{conv}");
    let r = api.get(&one);
    let tag = r.header("etag").unwrap().to_string();
    let texts: Vec<String> = r.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "agent")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["Ihre Bestellung ist unterwegs"]);
    api.headers.push(("If-None-Match".into(), tag.clone()));
    assert_eq!(api.get(&one).status, 304);
    api.headers.pop();

    let r2 = api.post_json(&path, &json!({"text": "x", "client_id": "not ok!"}));
    assert_eq!((r2.status, code(&r2).as_str()), (400, "invalid_client_id"));
    let r = api.post_json(&format!("/api/v1/conversations/{conv}/close"), &json!({}));
    assert_eq!(r.status, 204, "{}", r.body);
    while v.recv_type("conversation")["status"] != "closed" {}
    // Ended now: another answer is refused as on the socket (no chat of Ann's any more),
    // and the ETag moved on.
    let r = api.post_json(&path, &json!({"text": "noch da?"}));
    assert_eq!(
        (r.status, code(&r).as_str()),
        (404, "not_found"),
        "{}",
        r.body
    );
    conforms(&doc, "/api/v1/conversations/{id}/messages", "post", &r);
    api.headers.push(("If-None-Match".into(), tag));
    assert_eq!(api.get(&one).status, 200);

    // The trail names the token with the agent.
    let audit = k.json(&["audit", "list", "acme"]);
    assert!(
        audit
            .to_string()
            .contains("ann@acme.example (API token \\\"shop\\\")"),
        "{audit}"
    );
}

#[test]
fn pages_follow_their_cursor_and_a_changed_cursor_is_refused() {
    let (k, _pw, site) = setup();
    let t = token(&k, "acme", "ann@acme.example", "chat,chats.all", &[]);
    let other = token(&k, "acme", "ann@acme.example", "chat,chats.all", &[]);
    let server = k.server(&[]);
    let mut ids = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..5 {
        let (v, conv, _) = visitor(&server, &site, &format!("V{i}"));
        sockets.push(v);
        ids.push(conv);
    }
    ids.reverse();
    let mut api = client(&server, &t);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut last = Value::Null;
    for _ in 0..3 {
        let r = api.get(&format!("/api/v1/conversations?limit=2&cursor={cursor}"));
        assert_eq!(r.status, 200, "{}", r.body);
        last = r.json();
        seen.extend(
            last["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap()),
        );
        cursor = last["next_cursor"].as_str().unwrap_or("").to_string();
    }
    assert_eq!(seen, ids);
    assert!(last.get("next_cursor").is_none());

    let r = api.get("/api/v1/conversations?limit=2");
    let good = r.json()["next_cursor"].as_str().unwrap().to_string();
    let (id, mac) = good.split_once('.').unwrap();
    let forged = format!("{}.{mac}", id.parse::<i64>().unwrap() + 1);
    let r = api.get(&format!("/api/v1/conversations?cursor={forged}"));
    assert_eq!((r.status, code(&r).as_str()), (400, "invalid_input"));
    // Another token cannot use it either.
    let r = client(&server, &other).get(&format!("/api/v1/conversations?cursor={good}"));
    assert_eq!(r.status, 400);
    assert_eq!(api.get("/api/v1/conversations?limit=0").status, 400);
    assert_eq!(api.get("/api/v1/conversations?status=lost").status, 400);
    drop(sockets);
}

#[test]
fn a_token_beyond_its_rate_is_told_when_to_come_back() {
    let (k, _pw, _site) = setup();
    let t = token(&k, "acme", "ann@acme.example", "sites.manage", &[]);
    let server = k.server(&[]);
    let mut api = client(&server, &t);
    let limit = kontor::http::bearer::PER_MINUTE as usize;
    // A minute's worth at once, and a little more while the bucket refills (10 a second).
    let mut answered = 0;
    let refused = loop {
        let r = api.get("/api/v1/sites");
        if r.status != 200 {
            break r;
        }
        answered += 1;
        assert!(answered < limit * 2, "never limited");
    };
    assert!(answered >= limit, "limited after {answered}");
    assert_eq!(
        (refused.status, code(&refused).as_str()),
        (429, "api_rate_limited")
    );
    assert!(refused.header("retry-after").is_some());
}

#[test]
fn admins_make_tokens_in_the_dashboard_and_see_the_secret_once() {
    let (k, pw, _site) = setup();
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json(
        "/api/tokens",
        &json!({"name": "CRM", "permissions": ["stats.view"], "days": 30}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.json()["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("kt_"));
    let list = admin.get("/api/tokens");
    assert!(!list.body.contains(&secret[40..]));
    assert_eq!(list.json()["tokens"][0]["name"], "CRM");
    assert_eq!(client(&server, &secret).get("/api/v1/stats").status, 200);
    // Not without the CSRF token.
    let id = r.json()["id"].as_i64().unwrap();
    let mut no_csrf = admin.headers.clone();
    no_csrf.retain(|(k, _)| k != "X-CSRF-Token");
    let mut bare = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    bare.headers = no_csrf;
    assert_eq!(bare.delete(&format!("/api/tokens/{id}")).status, 403);
    assert_eq!(admin.delete(&format!("/api/tokens/{id}")).status, 204);
    let r = client(&server, &secret).get("/api/v1/stats");
    assert_eq!(code(&r), "token_revoked");
}

/// Settings › API in Chromium: an admin makes a token, sees it once, and it works.
#[test]
fn an_admin_makes_a_token_in_settings_and_an_integration_uses_it() {
    use crate::webdriver::Driver;
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    crate::browser::sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/api", server.base));
    ann.wait_until(
        "the tokens block",
        "const t = document.getElementById('tokens-table'); return !!t && t.textContent.includes('No tokens yet.')",
    );
    ann.type_text(&ann.find("#token-name"), "Shop");
    ann.click(&ann.find("#token-perm-stats-view"));
    ann.click(&ann.find("#token-form button[type=submit]"));
    ann.wait_until(
        "the token shown once and listed",
        "const s = document.getElementById('token-secret'); return s.value.startsWith('kt_') && document.getElementById('tokens-table').textContent.includes('Shop')",
    );
    let secret = ann.exec("return document.getElementById('token-secret').value");
    let secret = secret.as_str().unwrap().to_string();
    assert_eq!(client(&server, &secret).get("/api/v1/stats").status, 200);
    assert_eq!(
        client(&server, &secret).get("/api/v1/conversations").status,
        403
    );
    ann.click(&ann.find("#tokens-table [data-control=revoke]"));
    ann.wait_until(
        "revoked",
        "return document.getElementById('tokens-table').textContent.includes('Revoked by ann@acme.example')",
    );
    assert_eq!(client(&server, &secret).get("/api/v1/stats").status, 401);
}

/// The rows of the security checklist that reach the API: strict types, injection in
/// filters, other tenants' ids with an audit row, nothing secret in answers, no caching.
#[test]
fn hostile_input_is_refused_and_answers_hold_no_secrets() {
    let (k, pw, site) = setup();
    let t = token(&k, "acme", "ann@acme.example", "chat,chats.all", &[]);
    let foreign = foreign_token(&k, &pw);
    let server = k.server(&[]);
    let (_v, conv, visitor_token) = visitor(&server, &site, "Ida");
    let (_b, mut ann) = agent(&server, &pw);
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    ann.recv_type("conversation");
    let mut api = client(&server, &t);

    // Strict types: an object where text belongs, unknown fields, a huge number.
    let path = format!("/api/v1/conversations/{conv}/messages");
    for body in [
        json!({"text": {"$regex": ".*"}}),
        json!({"text": "hi", "token": "x"}),
        json!({"text": true}),
    ] {
        let r = api.post_json(&path, &body);
        assert_eq!(
            (r.status, code(&r).as_str()),
            (400, "invalid_input"),
            "{body}"
        );
    }
    let r = api.get("/api/v1/conversations?agent=1e309");
    assert_eq!(r.status, 400);
    // Injection in filters is data: refused or matching nothing.
    let r = api.get("/api/v1/conversations?status=%27%20OR%201%3D1--");
    assert_eq!(r.status, 400);
    let r = api.get("/api/v1/conversations?site=%27%20OR%201%3D1--");
    assert_eq!((r.status, r.json()["items"].clone()), (200, json!([])));

    // Answers never carry the visitor's chat token, hashes or keys; nothing is cached.
    for p in [
        "/api/v1/conversations".to_string(),
        format!("/api/v1/conversations/{conv}"),
    ] {
        let r = api.get(&p);
        assert_eq!(r.status, 200);
        assert!(!r.body.contains(&visitor_token), "{p}: {}", r.body);
        assert!(!r.body.contains("hash") && !r.body.contains(&t[3..]), "{p}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{p}");
    }

    // Another tenant's token on acme's chat: 404 and a denial in its own tenant's trail.
    let before = crate::chat::audit_denials(&k, "globex");
    let mut other = client(&server, &foreign);
    assert_eq!(
        other.get(&format!("/api/v1/conversations/{conv}")).status,
        404
    );
    let r = other.post_json(&path, &json!({"text": "hijack"}));
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(crate::chat::audit_denials(&k, "globex") > before);
}
