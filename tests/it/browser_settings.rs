//! The settings in parts with their own addresses, in headless Chromium against the real
//! server: a deep link opens its part, the part navigation moves without loading the page
//! and Back returns to the part before, a part the role may not see is left out and its
//! address says so, and an agent changes their own password in the Profile part, which ends
//! their other sign-in.

use crate::common::Browser as Http;
use crate::webdriver::{Browser, Driver};

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";

fn sign_in_as(agent: &Browser, base: &str, email: &str, pw: &str, next: &str) {
    agent.goto(&format!("{base}/login?lang=en&next={next}"));
    agent.type_text(&agent.find("#tenant"), "acme");
    agent.type_text(&agent.find("#email"), email);
    agent.type_text(&agent.find("#password"), pw);
    agent.click(&agent.find_xpath("//button[normalize-space()='Sign in']"));
    agent.wait_until(
        "the page asked for",
        &format!("return location.pathname === '{next}'"),
    );
}

/// The part shown now, and the one the navigation marks as current.
fn shown(agent: &Browser) -> (String, String) {
    let v = agent.exec(
        "const box = [...document.querySelectorAll('.settings-part')].find(b => !b.hidden); \
         const cur = document.querySelector('.settings-nav a[aria-current=page]'); \
         return [box ? box.dataset.part : '', cur ? cur.dataset.part : '']",
    );
    (
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn a_deep_link_opens_its_part_and_back_returns_to_the_part_before() {
    let (k, pw, _) = crate::chat::setup();
    let server = k.server(&[]);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in_as(&agent, &server.base, ANN, &pw, "/app/settings/team");
    agent.wait_until(
        "the team part with its roles",
        "return !!document.querySelector('#team-roles tr[data-role-id]') \
           && !document.getElementById('settings-part-team').hidden",
    );
    assert_eq!(shown(&agent), ("team".into(), "team".into()));
    assert!(agent.exec("return document.getElementById('settings-part-chat').hidden") == true);
    // The team part holds the departments too; the sites block waits in its own part.
    agent.wait_until(
        "the departments form in the team part",
        "const f = document.getElementById('department-form'); \
         return !!f && !!f.closest('#settings-part-team') \
           && !!document.querySelector('#settings-part-sites #sites-add')",
    );
    // The main navigation still marks Settings.
    assert_eq!(
        agent.exec("return document.querySelector('a[href=\"/app/settings\"]').getAttribute('aria-current')"),
        "page"
    );

    // A mark on the page survives only if nothing reloads it.
    agent.exec("window.stillHere = 'yes'; return null");
    agent.click(&agent.find(".settings-nav a[data-part=chat]"));
    agent.wait_until(
        "the chat part",
        "return location.pathname === '/app/settings/chat' \
           && !document.getElementById('settings-part-chat').hidden",
    );
    assert_eq!(shown(&agent), ("chat".into(), "chat".into()));
    agent.click(&agent.find(".settings-nav a[data-part=profile]"));
    agent.wait_until(
        "the profile part",
        "return location.pathname === '/app/settings/profile' \
           && !document.getElementById('settings-part-profile').hidden",
    );
    agent.exec("history.back(); return null");
    agent.wait_until(
        "back at the chat part",
        "return location.pathname === '/app/settings/chat' \
           && !document.getElementById('settings-part-chat').hidden \
           && document.getElementById('settings-part-profile').hidden",
    );
    assert_eq!(shown(&agent), ("chat".into(), "chat".into()));
    agent.exec("history.back(); return null");
    agent.wait_until(
        "back at the team part",
        "return location.pathname === '/app/settings/team' \
           && !document.getElementById('settings-part-team').hidden",
    );
    assert_eq!(agent.exec("return window.stillHere"), "yes");

    // /app/settings shows the first part; an unknown part is not found.
    agent.goto(&format!("{}/app/settings", server.base));
    agent.wait_until(
        "the general part",
        // Present and shown: the Settings section mounts after its module loads.
        "const b = document.getElementById('settings-part-general'); return !!b && !b.hidden",
    );
    assert_eq!(shown(&agent), ("general".into(), "general".into()));
    let mut http = Http::signed_in(&server.base, ANN, &pw);
    assert_eq!(http.get("/app/settings/nonsense").status, 404);
    assert_eq!(http.get("/app/chats/team").status, 404);
    assert_eq!(http.get("/app/settings/profile").status, 200);
}

#[test]
fn a_part_the_role_may_not_see_is_left_out_and_says_so() {
    let (k, pw, _) = crate::chat::setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let driver = Driver::start();
    let bob = driver.browser();
    sign_in_as(&bob, &server.base, BOB, &pw, "/app/settings");
    bob.wait_until(
        "the navigation knows Bob's role",
        "return document.querySelector('.settings-nav li[data-part=team]')?.hidden === true",
    );
    let visible = bob.exec(
        "return [...document.querySelectorAll('.settings-nav li')].filter(li => !li.hidden).map(li => li.dataset.part)",
    );
    assert_eq!(
        visible,
        serde_json::json!(["general", "chat", "tracking", "profile"]),
        "{visible}"
    );
    bob.goto(&format!("{}/app/settings/team", server.base));
    bob.wait_until(
        "the not-available message",
        "const d = document.getElementById('settings-denied'); \
         return !!d && !d.hidden && d.textContent.includes('not available for your role')",
    );
    assert_eq!(
        bob.exec("return [...document.querySelectorAll('.settings-part')].every(b => b.hidden) && !document.getElementById('team-roles')"),
        true
    );
}

#[test]
fn an_agent_changes_their_password_in_the_profile_and_the_other_sign_in_ends() {
    let (k, pw, _) = crate::chat::setup();
    let server = k.server(&[]);
    let mut other = Http::signed_in(&server.base, ANN, &pw);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in_as(&agent, &server.base, ANN, &pw, "/app/settings/profile");
    agent.wait_until(
        "both sign-ins and the profile",
        "return document.querySelectorAll('#signins-table tbody tr').length === 2 \
           && document.getElementById('profile-name').value === 'Ann'",
    );
    // A wrong current password: said next to the field, nothing changes.
    agent.type_text(&agent.find("#password-current"), "not my password");
    agent.type_text(&agent.find("#password-new"), "a-new-pass-phrase");
    agent.type_text(&agent.find("#password-repeat"), "a-new-pass-phrase");
    agent.click(&agent.find("#password-save"));
    agent.wait_until(
        "the error at the current password",
        "return document.getElementById('password-current').getAttribute('aria-invalid') === 'true' \
           && document.getElementById('password-error').textContent.includes('wrong')",
    );
    assert_eq!(other.get("/api/session").status, 200);

    agent.exec("document.getElementById('password-current').value = ''; return null");
    agent.type_text(&agent.find("#password-current"), &pw);
    agent.click(&agent.find("#password-save"));
    agent.wait_until(
        "the change confirmed and one sign-in left",
        "return document.getElementById('password-status').textContent.includes('changed') \
           && document.querySelectorAll('#signins-table tbody tr').length === 1 \
           && document.getElementById('password-current').value === ''",
    );
    assert_eq!(other.get("/api/session").status, 401);
    // This page still works.
    assert_eq!(
        agent
            .exec("return fetch('/api/session', {credentials: 'same-origin'}).then(r => r.status)"),
        200
    );
    assert_eq!(
        Http::new(&server.base)
            .login("acme", ANN, "a-new-pass-phrase")
            .status,
        303
    );
}

#[test]
fn an_agent_renames_themselves_in_the_profile_and_a_bad_name_is_refused_at_the_field() {
    let (k, pw, _) = crate::chat::setup();
    let server = k.server(&[]);
    let mut http = Http::signed_in(&server.base, ANN, &pw);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in_as(&agent, &server.base, ANN, &pw, "/app/settings/profile");
    agent.wait_until(
        "the profile form",
        "return document.getElementById('profile-name')?.value === 'Ann'",
    );
    // A bidi override: refused next to the field, nothing sent.
    agent.exec(
        "document.getElementById('profile-name').value = 'Ann\\u202Enimda'; \
         document.getElementById('profile-save').click(); return null",
    );
    agent.wait_until(
        "the error at the name",
        "return document.getElementById('profile-name').getAttribute('aria-invalid') === 'true' \
           && document.getElementById('profile-error').textContent !== ''",
    );
    assert_eq!(http.get("/api/me").json()["display_name"], "Ann");

    agent.exec("document.getElementById('profile-name').value = ''; return null");
    agent.type_text(&agent.find("#profile-name"), "Ann Example");
    agent.click(&agent.find("#profile-sound"));
    agent.click(&agent.find("#profile-save"));
    agent.wait_until(
        "saved, the top bar shows the new name",
        "return document.getElementById('profile-status').textContent.includes('saved') \
           && document.querySelector('.topbar .me strong').textContent === 'Ann Example' \
           && document.body.dataset.notifySound === 'off' \
           && document.getElementById('profile-name').getAttribute('aria-invalid') === null",
    );
    let me = http.get("/api/me").json();
    assert_eq!(me["display_name"], "Ann Example");
    assert_eq!(me["notify_sound"], false);
    assert_eq!(me["notify_desktop"], true);
}
