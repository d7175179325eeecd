//! The team in headless Chromium: an admin invites an agent on the settings page; the agent
//! opens the set-up link in a browser of their own, chooses a password, signs in and takes a
//! chat. An admin creates a department, puts Bob in it, and a visitor's chat for that
//! department reaches Bob.

use crate::browser_visitors::sign_in;
use crate::webdriver::Driver;
use serde_json::json;

#[test]
fn an_invited_agent_sets_a_password_in_a_fresh_browser_signs_in_and_takes_a_chat() {
    let (k, pw, site) = crate::chat::setup();
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/team", server.base));
    ann.wait_until(
        "the invitation form with its roles",
        "const s = document.getElementById('invite-role'); return !!s && s.options.length > 0",
    );
    ann.type_text(&ann.find("#invite-name"), "Dora");
    ann.type_text(&ann.find("#invite-email"), "dora@acme.example");
    ann.click(&ann.find("#invite-form button[type=submit]"));
    ann.wait_until(
        "the set-up link shown to pass on",
        "const l = document.getElementById('team-link'); return !!l && l.value.includes('/setup/')",
    );
    let url = ann.exec("return document.getElementById('team-link').value");
    let url = url.as_str().unwrap().to_string();
    ann.wait_until(
        "Dora's row, invited",
        "return [...document.querySelectorAll('#team-agents tr[data-agent-id]')].some(r => r.textContent.includes('dora@acme.example') && !!r.querySelector('[data-state=invited]'))",
    );

    let dora = driver.browser();
    dora.goto(&url);
    dora.wait_until(
        "the set-up page",
        "return !!document.getElementById('password')",
    );
    // Too easy first: the page says why.
    dora.type_text(&dora.find("#password"), "password1234");
    dora.type_text(&dora.find("#confirm"), "password1234");
    dora.click(&dora.find("button[type=submit]"));
    dora.wait_until(
        "the strength warning",
        "const e = document.getElementById('password-error'); return !!e && !e.hidden && e.textContent.includes('commonly used')",
    );
    let good = "lantern orchard bicycle 93";
    dora.type_text(&dora.find("#password"), good);
    dora.type_text(&dora.find("#confirm"), good);
    dora.click(&dora.find("button[type=submit]"));
    dora.wait_until(
        "the password set",
        "return document.body.innerText.includes('Your password is set')",
    );
    dora.click(&dora.find("a[href='/login']"));
    dora.wait_until(
        "the sign-in form",
        "return !!document.getElementById('tenant')",
    );
    dora.type_text(&dora.find("#tenant"), "acme");
    dora.type_text(&dora.find("#email"), "dora@acme.example");
    dora.type_text(&dora.find("#password"), good);
    dora.click(&dora.find_xpath("//button[normalize-space()='Sign in']"));
    dora.wait_until(
        "the dashboard",
        "return location.pathname.startsWith('/app/')",
    );
    if dora.exec("return location.pathname") != "/app/chats" {
        dora.goto(&format!("{}/app/chats", server.base));
    }

    let (mut v, _, _) = crate::chat::visitor(&server, &site, "Vera");
    crate::chat::say(&mut v, None, "v1", "Hello, anyone there?");
    dora.wait_until(
        "the waiting chat",
        "return document.querySelectorAll('.queue-item').length === 1",
    );
    dora.click(&dora.find_xpath("//button[normalize-space()='Accept']"));
    dora.wait_until(
        "Vera's message",
        "return document.body.innerText.includes('Hello, anyone there?')",
    );
    assert_eq!(v.recv_type("agent")["name"], "Dora");
}

#[test]
fn an_admin_creates_a_department_and_a_visitors_chat_for_it_reaches_its_agent() {
    let (k, pw, site) = crate::chat::setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/team", server.base));
    ann.wait_until(
        "the department form",
        "return !!document.getElementById('department-name')",
    );
    ann.type_text(&ann.find("#department-name"), "Sales");
    ann.click(&ann.find("#department-form button[type=submit]"));
    ann.wait_until(
        "Sales in the table and in Bob's row",
        "const t = document.getElementById('departments-table'); \
         const row = [...document.querySelectorAll('#team-agents tr[data-agent-id]')].find(r => r.textContent.includes('bob@acme.example')); \
         return !!t && t.querySelector('input') && t.querySelector('input').value === 'Sales' && !!row && !!row.querySelector('input[name=department]')",
    );
    // The same name again is refused next to the field.
    ann.type_text(&ann.find("#department-name"), "sales");
    ann.click(&ann.find("#department-form button[type=submit]"));
    ann.wait_until(
        "the refusal",
        "const e = document.getElementById('department-error'); return e.textContent.includes('already a department') && document.getElementById('department-name').getAttribute('aria-invalid') === 'true'",
    );
    // Bob joins Sales.
    ann.exec(
        "const row = [...document.querySelectorAll('#team-agents tr[data-agent-id]')].find(r => r.textContent.includes('bob@acme.example')); \
         row.querySelector('input[name=department]').click(); \
         row.querySelector('[data-control=save-work]').click(); return true",
    );
    let mut admin = crate::common::Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let sales = admin.get("/api/departments").json()["departments"][0]["id"]
        .as_i64()
        .unwrap();
    crate::common::wait_until("Bob in Sales", std::time::Duration::from_secs(10), || {
        admin.get("/api/agents").json()["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["email"] == "bob@acme.example" && a["department_ids"] == json!([sales]))
    });

    // Sales gets its own alert time; a time out of bounds is refused beside its field.
    let row = format!("#departments-table tr[data-department-id='{sales}']");
    ann.type_text(&ann.find(&format!("{row} input[name=alert]")), "10");
    ann.click(&ann.find(&format!("{row} [data-control=save-waiting]")));
    ann.wait_until(
        "the refusal of 10 s",
        &format!(
            "const i = document.querySelector(\"{row} input[name=alert]\"); \
             return i.getAttribute('aria-invalid') === 'true' && document.getElementById('departments-error').textContent.includes('30 to 3600')"
        ),
    );
    ann.exec(&format!(
        "document.querySelector(\"{row} input[name=alert]\").value = ''; return true"
    ));
    ann.type_text(&ann.find(&format!("{row} input[name=alert]")), "45");
    ann.click(&ann.find(&format!("{row} [data-control=save-waiting]")));
    ann.wait_until(
        "the times saved",
        "return document.getElementById('departments-status').textContent.includes('Waiting times of department Sales saved')",
    );
    let listed = admin.get("/api/departments").json();
    assert_eq!(listed["departments"][0]["queue_alert_secs"], 45, "{listed}");
    assert!(listed["departments"][0]["offline_offer_secs"].is_null());

    let (_b, mut bob) = crate::chat::agent_as(&server, "bob@acme.example", &pw);
    let mut v = crate::common::Ws::visitor(&server.base, &site, crate::chat::SHOP).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera", "department": sales}));
    let chat = v.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    loop {
        let q = bob.recv_type("queue");
        let ids: Vec<i64> = q["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["conversation_id"].as_i64().unwrap())
            .collect();
        if ids.contains(&chat) {
            break;
        }
    }
    bob.send(json!({"type": "accept", "conversation_id": chat}));
    assert_eq!(v.recv_type("agent")["name"], "Bob");
}
