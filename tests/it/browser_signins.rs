//! The settings page's Sign-ins panel in headless Chromium against the real server: Ann is
//! signed in in the browser and over HTTP; the panel lists both, marks this device, and ends
//! the other one, whose cookie is refused from then on.

use crate::browser_visitors::sign_in;
use crate::common::Browser;
use crate::webdriver::Driver;

#[test]
fn an_agent_ends_another_sign_in_from_the_settings_page() {
    let (k, pw, _) = crate::chat::setup();
    let server = k.server(&[]);
    let mut other = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&format!("{}/app/settings/profile", server.base));
    agent.wait_until(
        "both sign-ins in the table",
        "return document.querySelectorAll('#signins-table tbody tr').length === 2",
    );
    let marked = agent.exec(
        "const rows = [...document.querySelectorAll('#signins-table tbody tr')]; \
         return rows.filter(r => r.dataset.current === 'true').map(r => r.textContent)",
    );
    assert_eq!(marked.as_array().map(Vec::len), Some(1), "{marked}");
    assert!(marked.to_string().contains("this device"), "{marked}");
    // The table has a caption; the one End button has a name that says which sign-in.
    let named = agent.exec(
        "const b = [...document.querySelectorAll('#signins-table button.signins-end')]; \
         return [document.querySelector('#signins-table caption').textContent, b.length, b[0].getAttribute('aria-label')]",
    );
    assert_eq!(named[1], 1, "{named}");
    assert!(
        named[2].as_str().unwrap().starts_with("End the sign-in"),
        "{named}"
    );
    assert!(!named[0].as_str().unwrap().is_empty(), "{named}");
    assert_eq!(other.get("/api/session").status, 200);

    agent.click(&agent.find("#signins-table button.signins-end"));
    agent.wait_until(
        "only this sign-in left",
        "const rows = document.querySelectorAll('#signins-table tbody tr'); \
         return rows.length === 1 && rows[0].dataset.current === 'true' \
           && document.getElementById('signins-end-others').hidden",
    );
    assert_eq!(other.get("/api/session").status, 401);
    assert_eq!(
        k.json(&["agent", "sessions", "acme", "ann@acme.example"])["sessions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
