//! The permission matrix: for every permission, an agent whose role holds only that one may do
//! exactly what it allows and is refused everything else, over HTTP and on the socket; and
//! role and agent management (custom roles, display names, lockout protection, sessions ended
//! on a change of role).

use crate::chat::{setup, visitor};
use crate::common::{Browser, Kontor, Ws};
use serde_json::{Value, json};
use std::time::Duration;

const PERMISSIONS: [&str; 11] = [
    "visitors.view",
    "chat",
    "chats.all",
    "chats.supervise",
    "stats.view",
    "campaigns.manage",
    "agents.manage",
    "sites.manage",
    "settings.manage",
    "gdpr.handle",
    "audit.read",
];

/// One HTTP action: the permissions that allow it, and whether the answer says it was allowed.
struct Action {
    what: &'static str,
    allowed_by: &'static [&'static str],
    run: fn(&mut Browser, &Ctx) -> bool,
}

struct Ctx {
    site: String,
    /// A closed chat nobody of the test roles had.
    closed_chat: i64,
}

fn status(r: &crate::common::Res) -> u16 {
    r.status
}

const ACTIONS: [Action; 20] = [
    Action {
        what: "list canned responses",
        allowed_by: &["chat", "settings.manage"],
        run: |b, _| status(&b.get("/api/canned")) == 200,
    },
    Action {
        what: "list departments",
        allowed_by: &["chat", "chats.all", "agents.manage"],
        run: |b, _| status(&b.get("/api/departments")) == 200,
    },
    Action {
        what: "list sites",
        allowed_by: &["visitors.view", "sites.manage"],
        run: |b, _| status(&b.get("/api/sites")) == 200,
    },
    Action {
        what: "list invitation rules",
        allowed_by: &["visitors.view", "sites.manage"],
        run: |b, _| status(&b.get("/api/rules")) == 200,
    },
    Action {
        what: "see a visitor's pages",
        allowed_by: &["visitors.view"],
        // Allowed: the id is unknown (404); refused: 403.
        run: |b, _| status(&b.get("/api/visitors/999999")) == 404,
    },
    Action {
        what: "read the offline inbox",
        allowed_by: &["chat", "chats.all"],
        run: |b, _| status(&b.get("/api/offline")) == 200,
    },
    Action {
        what: "read another agent's chat",
        allowed_by: &["chats.all"],
        run: |b, x| {
            status(&b.get(&format!("/api/conversations/{}/messages", x.closed_chat))) == 200
        },
    },
    Action {
        what: "see statistics",
        allowed_by: &["stats.view"],
        run: |b, _| status(&b.get("/api/stats")) == 200,
    },
    Action {
        what: "list campaigns",
        allowed_by: &["campaigns.manage"],
        run: |b, _| status(&b.get("/api/campaigns")) == 200,
    },
    Action {
        what: "list roles",
        allowed_by: &["agents.manage"],
        run: |b, _| status(&b.get("/api/roles")) == 200,
    },
    Action {
        what: "create a role",
        allowed_by: &["agents.manage"],
        run: |b, _| {
            let name = format!("r{}", std::process::id() ^ rand_suffix());
            status(&b.post_json("/api/roles", &json!({"name": name, "permissions": []}))) == 201
        },
    },
    Action {
        what: "create a department",
        allowed_by: &["agents.manage"],
        run: |b, _| {
            let name = format!("d{}", std::process::id() ^ rand_suffix());
            status(&b.post_json("/api/departments", &json!({"name": name}))) == 201
        },
    },
    Action {
        what: "see a site's privacy notices",
        allowed_by: &["sites.manage"],
        run: |b, x| status(&b.get(&format!("/api/sites/{}/notices", x.site))) == 200,
    },
    Action {
        what: "see retention periods",
        allowed_by: &["settings.manage"],
        run: |b, _| status(&b.get("/api/retention")) == 200,
    },
    Action {
        what: "change settings",
        allowed_by: &["settings.manage"],
        run: |b, _| status(&b.put_json("/api/settings", &json!({"typing_preview": false}))) == 200,
    },
    Action {
        what: "list deletion protocols",
        allowed_by: &["gdpr.handle"],
        run: |b, _| status(&b.get("/api/gdpr/erasures")) == 200,
    },
    Action {
        what: "find a person's data",
        allowed_by: &["gdpr.handle"],
        run: |b, _| status(&b.get("/api/gdpr/find?by=chat&value=1")) == 200,
    },
    Action {
        what: "read the audit trail",
        allowed_by: &["audit.read"],
        run: |b, _| status(&b.get("/api/audit")) == 200,
    },
    Action {
        what: "list restrictions of processing",
        allowed_by: &["gdpr.handle"],
        run: |b, _| status(&b.get("/api/gdpr/restrictions")) == 200,
    },
    Action {
        what: "read the read log",
        allowed_by: &["audit.read"],
        run: |b, _| status(&b.get("/api/audit/reads")) == 200,
    },
];

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Frames of `ws` until one of type `ty` (or an error) comes.
fn frame_or_error(ws: &mut Ws, ty: &str) -> Value {
    loop {
        let f = ws.recv();
        if f["type"] == ty || f["type"] == "error" {
            return f;
        }
    }
}

#[test]
fn every_permission_allows_exactly_its_actions() {
    let (k, pw, site) = setup();
    // A closed chat, had by nobody of the roles below.
    {
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        // An hour ago: recent enough for the server's retention purge to keep it.
        let t = kontor::clock::now() - 3600;
        db.with(|c| {
            c.execute_batch(&format!(
                "INSERT INTO conversations (id, site_key, status, visitor_token_hash, consent_at,
                     consent_version, created_at, closed_at, agent_id)
                 VALUES (500, 's', 'closed', randomblob(32), {t}, '1', {t}, {t} + 60, 1);
                 INSERT INTO messages (conversation_id, seq, author, body, created_at)
                 VALUES (500, 1, 'visitor', 'hello', {t});",
            ))?;
            Ok(())
        })
        .unwrap();
    }
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let ctx = Ctx {
        site: site.clone(),
        closed_chat: 500,
    };
    let roles: Vec<&str> = PERMISSIONS.iter().copied().chain(["(none)"]).collect();
    for (i, perm) in roles.iter().enumerate() {
        let perms: Vec<&str> = if *perm == "(none)" {
            vec![]
        } else {
            vec![perm]
        };
        let name = format!("only {}", perm.replace('.', " ").replace(['(', ')'], ""));
        let r = admin.post_json("/api/roles", &json!({"name": name, "permissions": perms}));
        assert_eq!(r.status, 201, "{}", r.body);
        let email = format!("p{i}@acme.example");
        k.ok_stdin(
            &[
                "agent",
                "add",
                "acme",
                &email,
                "--name",
                &format!("P{i}"),
                "--role",
                &name,
                "--password-stdin",
            ],
            &pw,
        );
        let mut b = Browser::signed_in(&server.base, &email, &pw);
        let session = b.get("/api/session").json();
        assert_eq!(session["permissions"], json!(perms), "{perm}");
        // The navigation leaves out what the role cannot use; statistics show every agent
        // their own work time at least.
        let shell = b.get("/app/settings").body;
        let stats_link = shell.contains("<li class=\"\"><a href=\"/app/statistics\"");
        assert!(stats_link, "{perm}: statistics link");

        for a in &ACTIONS {
            let expected = a.allowed_by.iter().any(|p| perms.contains(p));
            assert_eq!((a.run)(&mut b, &ctx), expected, "{perm}: {}", a.what);
        }

        // The socket: open only with chats or live visitors.
        let may_chat = perms.contains(&"chat");
        let may_watch = perms.contains(&"visitors.view");
        match Ws::agent_from(&b, &server.base) {
            Err(code) => {
                assert!(
                    !may_chat && !may_watch,
                    "{perm}: socket refused with {code}"
                );
                assert_eq!(code, 403);
                continue;
            }
            Ok(ws) => {
                assert!(may_chat || may_watch, "{perm}: socket opened");
                let mut ws = ws;
                ws.send(json!({"type": "hello"}));
                let frames = ws.drain(Duration::from_millis(400));
                let types: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
                assert_eq!(
                    types.contains(&"visitors"),
                    may_watch,
                    "{perm}: visitors frame {types:?}"
                );
                assert_eq!(
                    types.contains(&"queue"),
                    may_chat,
                    "{perm}: queue frame {types:?}"
                );
                // Taking a chat needs the chat permission.
                let (_v, conv, _) = visitor(&server, &site, &format!("V{i}"));
                ws.send(json!({"type": "accept", "conversation_id": conv}));
                let f = frame_or_error(&mut ws, "conversation");
                if may_chat {
                    assert_eq!(f["type"], "conversation", "{perm}: {f}");
                } else {
                    assert_eq!(f["code"], "forbidden", "{perm}: {f}");
                }
                // Inviting needs the visitors permission (an unknown visitor: not found).
                ws.send(json!({"type": "invite", "visitor_id": 999999, "text": "Hi"}));
                let f = frame_or_error(&mut ws, "never");
                let code = f["code"].as_str().unwrap_or("");
                assert_eq!(code == "forbidden", !may_watch, "{perm}: invite {f}");
                // Watching another agent's chat needs chats.supervise, which no role with a
                // socket here has.
                ws.send(json!({"type": "watch", "conversation_id": conv}));
                let f = frame_or_error(&mut ws, "never");
                assert_eq!(f["code"], "forbidden", "{perm}: watch {f}");
            }
        }
    }
    // Every refusal on the socket is in the audit trail: the accept of the visitors-only
    // role, the invite of the chat-only role and the watch of both (the other roles never got
    // a socket).
    let denied = k.json(&["audit", "list", "acme", "--limit", "500"]);
    let socket_denials = denied
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["result"] == "authz denied" && e["object"] == "socket")
        .count();
    assert_eq!(socket_denials, 4);
}

#[test]
fn roles_and_agents_are_managed_with_lockout_protection() {
    let (k, pw, _) = setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let roles = admin.get("/api/roles").json();
    let names: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "supervisor", "agent"]);
    assert_eq!(roles["permissions"].as_array().unwrap().len(), 11);
    assert_eq!(
        roles["roles"][2]["permissions"],
        json!(["visitors.view", "chat"])
    );

    // Built-in roles stay as they are; names are unique; unknown permissions are refused.
    assert_eq!(
        admin
            .put_json("/api/roles/1", &json!({"permissions": []}))
            .status,
        409
    );
    assert_eq!(admin.delete("/api/roles/3").status, 409);
    let r = admin.post_json("/api/roles", &json!({"name": "Admin", "permissions": []}));
    assert_eq!(r.status, 409, "{}", r.body);
    let r = admin.post_json("/api/roles", &json!({"name": "x", "permissions": ["root"]}));
    assert_eq!(r.status, 400);
    let r = admin.post_json(
        "/api/roles",
        &json!({"name": "Reporting", "permissions": ["stats.view", "audit.read"]}),
    );
    assert_eq!(r.status, 201);
    let reporting = r.json()["id"].as_i64().unwrap();

    // Bob gets the role and a new display name; his session ends with the change.
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get("/api/stats").status, 403);
    let bob_id = admin.agent_id("bob@acme.example");
    let r = admin.put_json(
        &format!("/api/agents/{bob_id}"),
        &json!({"role_id": reporting, "display_name": "Bob from Support"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["role"], "Reporting");
    assert_eq!(r.json()["display_name"], "Bob from Support");
    assert_eq!(
        bob.get("/api/session").status,
        401,
        "signed out by the change"
    );
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get("/api/stats").status, 200);
    assert_eq!(bob.get("/api/offline").status, 403);
    assert_eq!(
        admin.delete(&format!("/api/roles/{reporting}")).status,
        409,
        "in use"
    );

    // Nobody can take away the last agent who may manage agents.
    let ann_id = admin.agent_id("ann@acme.example");
    let r = admin.put_json(&format!("/api/agents/{ann_id}"), &json!({"role_id": 3}));
    assert_eq!(r.status, 409, "{}", r.body);
    let r = admin.put_json(&format!("/api/agents/{ann_id}"), &json!({"disabled": true}));
    assert_eq!(r.status, 409);
    assert_eq!(admin.get("/api/roles").status, 200, "still an admin");
    let trail = k.json(&["audit", "list", "acme", "--action", "role"]);
    assert_eq!(trail.as_array().unwrap().len(), 1, "one role created");
    let trail = k.json(&["audit", "list", "acme", "--action", "agent.update"]);
    assert_eq!(trail.as_array().unwrap().len(), 1);
}

#[test]
fn departments_scope_the_queue_for_agents_without_the_all_chats_permission() {
    let (k, pw, site) = setup();
    crate::chat::with_bob(&k, &pw);
    let sales = k.json(&["department", "add", "acme", "Sales"])["departments"][0]["id"]
        .as_i64()
        .unwrap();
    k.json(&["department", "add", "acme", "Support"]);
    k.ok(&[
        "agent",
        "set",
        "acme",
        "bob@acme.example",
        "--department",
        "Support",
    ]);
    let server = k.server(&[]);
    let (_a, mut ann) = crate::chat::agent(&server, &pw);
    let (mut bob_b, mut bob) = crate::chat::agent_as(&server, "bob@acme.example", &pw);
    let mut v = Ws::visitor(&server.base, &site, crate::chat::SHOP).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "department": sales}));
    let sales_chat = v.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    let (_w, general_chat, _) = visitor(&server, &site, "Gina");
    // An agent's queue once the hub told them of Gina's chat, the later one: each batch tells
    // every view its changes, so the Sales chat would have come with it or before.
    let waiting = |ws: &mut Ws| -> Vec<i64> {
        loop {
            let ids: Vec<i64> = ws.recv_type("queue")["waiting"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["conversation_id"].as_i64().unwrap())
                .collect();
            if ids.contains(&general_chat) {
                return ids;
            }
        }
    };
    let mut seen = waiting(&mut ann);
    seen.sort();
    assert_eq!(seen, [sales_chat, general_chat], "Ann sees all chats");
    assert_eq!(
        waiting(&mut bob),
        [general_chat],
        "Bob (Support) does not see the Sales chat"
    );
    // Neither on the socket nor over HTTP can Bob reach it.
    bob.send(json!({"type": "accept", "conversation_id": sales_chat}));
    let f = frame_or_error(&mut bob, "conversation");
    assert_eq!(f["code"], "not_found", "{f}");
    assert_eq!(
        f["conversation_id"], sales_chat,
        "the error names the chat it is about"
    );
    assert_eq!(
        bob_b
            .get(&format!("/api/conversations/{sales_chat}/messages"))
            .status,
        404
    );
    assert_eq!(
        bob_b
            .get(&format!("/api/conversations/{general_chat}/messages"))
            .status,
        200
    );
    bob.send(json!({"type": "accept", "conversation_id": general_chat}));
    assert_eq!(
        frame_or_error(&mut bob, "conversation")["type"],
        "conversation"
    );
}

/// The status and agent of a chat, read from the database.
fn chat_state(k: &crate::common::Kontor, conv: i64) -> (String, Option<i64>) {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        Ok(c.query_row(
            "SELECT status, agent_id FROM conversations WHERE id = ?1",
            [conv],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    })
    .unwrap()
}

fn wait_for(what: &str, f: impl FnMut() -> bool) {
    crate::common::wait_until(what, Duration::from_secs(5), f);
}

#[test]
fn chats_of_an_agent_who_may_no_longer_chat_go_back_to_the_queue() {
    let (k, pw, site) = setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json(
        "/api/roles",
        &json!({"name": "Helpers", "permissions": ["chat"]}),
    );
    let helpers = r.json()["id"].as_i64().unwrap();
    let bob_id = admin.agent_id("bob@acme.example");
    admin.put_json(
        &format!("/api/agents/{bob_id}"),
        &json!({"role_id": helpers}),
    );

    // Bob takes a chat; then his role loses the chat permission.
    let (_bb, mut bob) = crate::chat::agent_as(&server, "bob@acme.example", &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    bob.send(json!({"type": "accept", "conversation_id": conv}));
    bob.recv_type("conversation");
    assert_eq!(chat_state(&k, conv), ("open".into(), Some(bob_id)));
    let r = admin.put_json(
        &format!("/api/roles/{helpers}"),
        &json!({"permissions": ["stats.view"]}),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    wait_for("the chat is back in the queue", || {
        chat_state(&k, conv) == ("waiting".into(), None)
    });
    // The visitor hears it, and another agent can take it.
    let mut f = v.recv_type("conversation");
    while f["status"] == "open" {
        f = v.recv_type("conversation");
    }
    assert_eq!(f["status"], "waiting", "{f}");
    let (_ab, mut ann) = crate::chat::agent(&server, &pw);
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    assert_eq!(ann.recv_type("conversation")["status"], "open");

    // Disabling an agent (from the command line) gives their chats back too.
    admin.put_json(&format!("/api/agents/{bob_id}"), &json!({"role_id": 3}));
    let (_bb, mut bob) = crate::chat::agent_as(&server, "bob@acme.example", &pw);
    let (_v2, conv2, _) = visitor(&server, &site, "Nina");
    bob.send(json!({"type": "accept", "conversation_id": conv2}));
    bob.recv_type("conversation");
    k.ok(&["agent", "disable", "acme", "bob@acme.example"]);
    wait_for("the second chat is back in the queue", || {
        chat_state(&k, conv2) == ("waiting".into(), None)
    });
}

/// Adds Carl with the role "Team leads" (which the test created), Ann's password.
fn add_team_lead(k: &Kontor, pw: &str) {
    let args = [
        "agent",
        "add",
        "acme",
        "carl@acme.example",
        "--name",
        "Carl",
    ];
    let role = ["--role", "Team leads", "--password-stdin"];
    k.ok_stdin(&[&args[..], &role[..]].concat(), pw);
}

#[test]
fn an_agent_manager_grants_only_rights_it_holds_and_never_raises_its_own_role() {
    let (k, pw, _) = setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let team = json!(["visitors.view", "chat", "agents.manage"]);
    let r = admin.post_json(
        "/api/roles",
        &json!({"name": "Team leads", "permissions": team}),
    );
    let leads = r.json()["id"].as_i64().unwrap();
    let r = admin.post_json(
        "/api/roles",
        &json!({"name": "Helpers", "permissions": ["chat"]}),
    );
    let helpers = r.json()["id"].as_i64().unwrap();
    let r = admin.post_json(
        "/api/roles",
        &json!({"name": "Privacy", "permissions": ["chat", "gdpr.handle"]}),
    );
    let privacy = r.json()["id"].as_i64().unwrap();
    // Carl leads the team: he may manage agents, but is no admin.
    add_team_lead(&k, &pw);
    let (carl_id, bob_id) = (
        admin.agent_id("carl@acme.example"),
        admin.agent_id("bob@acme.example"),
    );
    let mut carl = Browser::signed_in(&server.base, "carl@acme.example", &pw);

    let refused = |r: crate::common::Res, what: &str| {
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "forbidden", "{what}");
    };
    // Not the admin role, not for himself, not for others.
    let me = format!("/api/agents/{carl_id}");
    let bob = format!("/api/agents/{bob_id}");
    refused(carl.put_json(&me, &json!({"role_id": 1})), "himself admin");
    refused(carl.put_json(&bob, &json!({"role_id": 1})), "Bob admin");
    // Not a role with a permission he lacks, and no such role of his own making.
    refused(
        carl.put_json(&bob, &json!({"role_id": privacy})),
        "Bob privacy",
    );
    refused(
        carl.post_json(
            "/api/roles",
            &json!({"name": "Mine", "permissions": ["chat", "gdpr.handle"]}),
        ),
        "a role with gdpr.handle",
    );
    refused(
        carl.put_json(
            &format!("/api/roles/{helpers}"),
            &json!({"permissions": ["chat", "gdpr.handle"]}),
        ),
        "gdpr.handle into an existing role",
    );
    // Not a raise of his own role: neither another role nor more rights for the one he has.
    // (The built-in supervisor, 2, has statistics and all chats, which Carl has not.)
    refused(
        carl.put_json(&me, &json!({"role_id": 2})),
        "himself supervisor",
    );
    refused(
        carl.put_json(
            &format!("/api/roles/{leads}"),
            &json!({"permissions": ["visitors.view", "chat", "agents.manage", "stats.view"]}),
        ),
        "more rights for his own role",
    );
    // Nothing changed: Bob and Carl keep their roles.
    let agents = admin.get("/api/agents").json();
    let role_of = |id: i64| {
        agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()["role"]
            .clone()
    };
    assert_eq!(role_of(carl_id), "Team leads");
    assert_eq!(role_of(bob_id), "agent");
    let names: Vec<Value> = admin.get("/api/roles").json()["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert!(!names.contains(&json!("Mine")), "{names:?}");

    // What he holds himself he may grant, and lowering his own role is fine.
    let r = carl.post_json(
        "/api/roles",
        &json!({"name": "Chat only", "permissions": ["chat"]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = carl.put_json(&bob, &json!({"role_id": helpers}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = carl.put_json(&me, &json!({"role_id": 3}));
    assert_eq!(r.status, 200, "{}", r.body);

    // Each refusal is in the audit trail as a denied attempt.
    let trail = k.json(&["audit", "list", "acme", "--limit", "500"]);
    let denied = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["result"] == "authz denied" && e["actor"] == "carl@acme.example")
        .count();
    assert_eq!(denied, 7, "{trail}");
}

#[test]
fn an_agent_manager_cannot_change_or_sign_out_someone_with_more_rights() {
    let (k, pw, _) = setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json(
        "/api/roles",
        &json!({"name": "Team leads", "permissions": ["visitors.view", "chat", "agents.manage"]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    add_team_lead(&k, &pw);
    let (ann_id, bob_id) = (
        admin.agent_id("ann@acme.example"),
        admin.agent_id("bob@acme.example"),
    );
    let mut carl = Browser::signed_in(&server.base, "carl@acme.example", &pw);
    let ann = format!("/api/agents/{ann_id}");
    for (what, r) in [
        (
            "disable the admin",
            carl.put_json(&ann, &json!({"disabled": true})),
        ),
        (
            "rename the admin",
            carl.put_json(&ann, &json!({"display_name": "Mallory"})),
        ),
        (
            "demote the admin",
            carl.put_json(&ann, &json!({"role_id": 3})),
        ),
        (
            "sign the admin out",
            carl.delete(&format!("{ann}/sessions")),
        ),
    ] {
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "forbidden", "{what}");
    }
    // The admin is untouched and still signed in.
    assert_eq!(admin.get("/api/session").status, 200);
    let agents = admin.get("/api/agents").json();
    let ann_now = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == ann_id)
        .unwrap()
        .clone();
    assert_eq!(ann_now["role"], "admin", "{ann_now}");
    assert_eq!(ann_now["disabled"], false, "{ann_now}");
    // Someone whose rights Carl holds himself he may still manage.
    let r = carl.put_json(
        &format!("/api/agents/{bob_id}"),
        &json!({"display_name": "Robert"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
