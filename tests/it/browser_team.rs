//! Agents and roles in headless Chromium against the real server: an admin creates a role
//! with two permissions and gives it to Bob through the settings page; Bob's next page shows
//! only what the role allows. The settings page also shows how much the tenant's files take
//! of its quota.

use crate::browser_visitors::sign_in;
use crate::webdriver::Driver;

#[test]
fn an_admin_creates_a_role_and_gives_it_to_an_agent() {
    let (k, pw, _) = crate::chat::setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&format!("{}/app/settings/team", server.base));
    agent.wait_until(
        "the role form",
        "return !!document.querySelector('#role-form [name=name]')",
    );
    agent.type_text(&agent.find("#role-form [name=name]"), "Reporting");
    agent.click(&agent.find("#role-form input[name=perm][value='stats.view']"));
    agent.click(&agent.find("#role-form input[name=perm][value='audit.read']"));
    agent.click(&agent.find("#role-form button[type=submit]"));
    agent.wait_until(
        "the new role in the table",
        "const t = document.getElementById('team-roles'); return !!t && t.textContent.includes('Reporting')",
    );
    // Give it to Bob with the role menu of his row.
    agent.wait_until(
        "Bob's row",
        "return [...document.querySelectorAll('#team-agents tr[data-agent-id]')].some(r => r.textContent.includes('bob@acme.example'))",
    );
    let changed = agent.exec(
        "const row = [...document.querySelectorAll('#team-agents tr[data-agent-id]')].find(r => r.textContent.includes('bob@acme.example')); \
         const s = row.querySelector('select'); \
         const opt = [...s.options].find(o => o.textContent.includes('Reporting')); \
         s.value = opt.value; s.dispatchEvent(new Event('change', { bubbles: true })); return opt.value",
    );
    assert!(changed.as_str().is_some_and(|v| !v.is_empty()), "{changed}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let agents = k.json(&["agent", "list", "acme"]);
        let bob = agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == "bob@acme.example")
            .cloned()
            .unwrap();
        if bob["role"] == "Reporting" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Bob got the role: {bob}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Bob sees statistics but not the chats in the navigation.
    let mut bob = crate::common::Browser::signed_in(&server.base, "bob@acme.example", &pw);
    let shell = bob.get("/app/statistics").body;
    assert!(shell.contains("<li class=\"\"><a href=\"/app/statistics\""));
    assert!(shell.contains("<li class=\"nav-off\"><a href=\"/app/chats\""));
    assert_eq!(bob.get("/api/stats").status, 200);
    assert_eq!(bob.get("/api/offline").status, 403);
}

#[test]
fn the_settings_page_shows_the_files_stored_against_the_quota() {
    let (k, pw, _) = crate::chat::setup();
    std::fs::write(k.config_file(), "[uploads]\ntenant_quota_mb = 2\n").unwrap();
    let server = k.server(&[]);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&format!("{}/app/settings/general", server.base));
    // 2 MB of 1,048,576 bytes: "2.1 MB" (or "2,1 MB").
    agent.wait_until(
        "the files stored against the quota",
        "const p = document.getElementById('set-files-storage'); \
         return !!p && !p.hidden && /2[.,]1/.test(p.textContent) && /\\b0\\b/.test(p.textContent)",
    );
}
