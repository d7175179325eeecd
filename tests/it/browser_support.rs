//! Support access in Chromium: an admin grants it in Settings › Team with a note, sees it
//! open, and ends it early from the list; the operator's link works only in between.

use crate::browser::sign_in;
use crate::common::Kontor;
use crate::webdriver::Driver;

#[test]
fn an_admin_grants_support_access_and_ends_it_early() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/team", server.base));
    ann.wait_until(
        "the support block",
        "const t = document.getElementById('support-table'); return !!t && t.textContent.includes('never been granted')",
    );
    ann.exec("const s = document.getElementById('support-hours'); s.value = '24'; return true");
    ann.type_text(&ann.find("#support-note"), "ticket 4711");
    ann.click(&ann.find("#support-form button[type=submit]"));
    ann.wait_until(
        "the grant listed as open",
        "const t = document.getElementById('support-table'); return t.textContent.includes('ticket 4711') && t.textContent.includes('Open now.')",
    );
    let link = k.json(&["support", "link", "acme"]);
    assert!(link["url"].as_str().unwrap().contains("/setup/"), "{link}");
    ann.click(&ann.find("#support-table [data-control=revoke]"));
    ann.wait_until(
        "ended early",
        "const t = document.getElementById('support-table'); return t.textContent.includes('Ended early by ann@acme.example')",
    );
    assert!(
        k.fails(&["support", "link", "acme"])
            .contains("no support access")
    );
}
