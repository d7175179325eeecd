//! Support access without chat data: the operator cannot open the support login alone; a
//! business admin grants it for some hours; the operator's link sets its password; signed in,
//! it reads settings, agents, statistics and campaigns and nothing of the chats (over HTTP and
//! the socket), changes nothing, every request is in the audit trail, and revoking (or the
//! end of the grant) ends it. The support role cannot be given to anyone or widened.

use crate::chat::{SHOP, agent, setup};
use crate::common::{Browser, Ws, hidden_field};
use serde_json::json;
use std::time::Duration;

const GOOD: &str = "violet tugboat marmalade 42";
const EMAIL: &str = "support@operator.invalid";

fn set_password(base: &str, url: &str) {
    let path = &url[url.find("/setup/").expect("a set-up link")..];
    let mut b = Browser::new(base);
    let page = b.get(path);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden_field(&page.body, "csrf");
    let r = b.post_form(
        path,
        &[("password", GOOD), ("confirm", GOOD), ("csrf", &csrf)],
    );
    assert!(r.status < 400, "{}", r.body);
}

#[test]
fn support_reads_settings_and_statistics_never_chats_and_only_while_granted() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    // A chat with content the support login must never see.
    let (_ab, mut ann_ws) = agent(&server, &pw);
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera"}));
    let conv = v.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    crate::chat::say(&mut v, None, "v1", "VERA-SUPPORT-SECRET");
    ann_ws.send(json!({"type": "accept", "conversation_id": conv}));

    // No grant: the operator gets no link.
    assert!(
        k.fails(&["support", "link", "acme"])
            .contains("no support access is granted")
    );
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    for bad in [
        json!({"hours": 0}),
        json!({"hours": 721}),
        json!({"hours": 2, "x": 1}),
    ] {
        assert_eq!(
            ann.post_json("/api/support/grants", &bad).status,
            400,
            "{bad}"
        );
    }
    let g = ann.post_json(
        "/api/support/grants",
        &json!({"hours": 2, "note": "ticket 4711"}),
    );
    assert_eq!(g.status, 201, "{}", g.body);
    let grant = g.json()["id"].as_i64().unwrap();
    assert_eq!(ann.get("/api/support/grants").json()["active"], true);

    let link = k.json(&["support", "link", "acme"]);
    assert_eq!(link["email"], EMAIL);
    set_password(&server.base, link["url"].as_str().unwrap());
    let mut sup = Browser::signed_in(&server.base, EMAIL, GOOD);

    // What it may read.
    for path in [
        "/api/settings",
        "/api/agents",
        "/api/stats",
        "/api/sites",
        "/api/retention",
    ] {
        let r = sup.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(!r.body.contains("VERA-SUPPORT-SECRET"), "{path}");
    }
    // Never chats, visitors, offline messages, files, exports or the audit trail.
    for path in [
        "/api/conversations".to_string(),
        format!("/api/conversations/{conv}/messages"),
        "/api/offline".to_string(),
        "/api/files/1".to_string(),
        "/api/visitors/1".to_string(),
        "/api/gdpr/export?by=chat&value=1".to_string(),
        "/api/audit".to_string(),
        "/api/audit/reads".to_string(),
        "/api/email".to_string(),
        "/api/support/grants".to_string(),
    ] {
        let r = sup.get(&path);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(!r.body.contains("VERA"), "{path}");
    }
    // Its dashboard is Settings and Statistics: the chats page sends it to Settings.
    let page = sup.get("/app/chats");
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.header("location"), Some("/app/settings"));
    assert_eq!(sup.get("/app/settings/team").status, 200);
    // Nor the agent socket, nor any change, even one its role's permissions would allow.
    let base = sup.base.clone();
    assert_eq!(
        Ws::agent_from(&sup, &base).err(),
        Some(403),
        "the socket is refused"
    );
    assert_eq!(
        sup.put_json("/api/settings", &json!({"typing_preview": true}))
            .status,
        403
    );
    assert_eq!(
        sup.post_json("/api/support/grants", &json!({"hours": 720}))
            .status,
        403,
        "it cannot extend itself"
    );
    // The support role is no one else's.
    let r = ann.post_json(
        "/api/agents/invite",
        &json!({"display_name": "Eve", "email": "eve@acme.example", "role_id": 4}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        k.fails(&[
            "agent",
            "add",
            "acme",
            "eve@acme.example",
            "--name",
            "Eve",
            "--role",
            "support"
        ])
        .contains("support")
    );
    let sup_id = ann.agent_id(EMAIL);
    let r = ann.put_json(&format!("/api/agents/{sup_id}"), &json!({"role_id": 1}));
    assert_eq!(r.status, 400, "it cannot be widened: {}", r.body);

    // Every request of it is in the tenant's audit trail, allowed or refused.
    let trail = k.json(&["audit", "list", "acme", "--limit", "500"]);
    let entries = trail.as_array().unwrap();
    let of = |result: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == "support.request" && e["result"] == result)
            .count()
    };
    assert!(of("success") >= 5 && of("authz denied") >= 10, "{trail}");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "login" && e["actor"] == EMAIL && e["result"] == "success")
    );
    assert!(entries.iter().any(|e| e["action"] == "support.grant"));
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "support.link" && e["actor"] == "operator")
    );

    // Revoked: its session ends at once, and it cannot sign in again.
    assert_eq!(
        ann.delete(&format!("/api/support/grants/{grant}")).status,
        200
    );
    assert_eq!(sup.get("/api/settings").status, 401);
    let mut again = Browser::new(&server.base);
    assert_ne!(again.login("acme", EMAIL, GOOD).status, 303);
    assert!(
        k.fails(&["support", "link", "acme"])
            .contains("no support access")
    );

    // A new grant ends by itself after its hours.
    let g = ann.post_json("/api/support/grants", &json!({"hours": 1}));
    assert_eq!(g.status, 201, "{}", g.body);
    let mut sup = Browser::signed_in(&server.base, EMAIL, GOOD);
    assert_eq!(sup.get("/api/stats").status, 200);
    k.advance_clock(Duration::from_secs(3601));
    assert_eq!(sup.get("/api/stats").status, 401);
    let listed = k.ok(&["support", "grants", "acme"]);
    assert!(
        listed.contains("revoked") && listed.contains("ended"),
        "{listed}"
    );
}
