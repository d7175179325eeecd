//! The Privacy section in headless Chromium against the real server: an admin finds a person,
//! erases them with the confirmation box and gets the deletion protocol; the audit trail shows
//! the erasure and an intact chain; the read log shows the search; a retention period is
//! saved (the read log's too).

use crate::browser_visitors::sign_in;
use crate::common::Kontor;
use crate::webdriver::Driver;

#[test]
fn an_admin_finds_and_erases_a_person_and_sees_the_audit_trail() {
    let (k, pw) = Kontor::with_tenant();
    crate::gdpr::fill(&k);
    let server = k.server(&[]);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&format!("{}/app/privacy", server.base));
    agent.wait_until(
        "the search form",
        "return !!document.querySelector('#dsr-form select')",
    );
    agent.exec("const s = document.querySelector('#dsr-form select'); s.value = 'email'; s.dispatchEvent(new Event('change')); return true");
    agent.type_text(&agent.find("#dsr-value"), "erika@example.org");
    agent.click(&agent.find("#dsr-form button[type=submit]"));
    agent.wait_until(
        "the counts",
        "const r = document.getElementById('dsr-result'); return !!r && r.textContent.includes('ERIKA') === false && r.querySelectorAll('table, dl').length > 0",
    );
    let text = agent.exec("return document.getElementById('dsr-result').textContent");
    assert!(
        text.as_str().unwrap().contains("Erika Mustermann"),
        "{text}"
    );
    // The export is a download link for this person.
    let href = agent.exec("return document.querySelector('#dsr-export').getAttribute('href')");
    assert!(
        href.as_str().unwrap().contains("/api/gdpr/export?by=email"),
        "{href}"
    );

    // Erase: the button waits for the box.
    assert_eq!(
        agent.exec("return document.querySelector('#dsr-erase button[type=submit]').disabled"),
        true
    );
    agent.click(&agent.find("#dsr-confirm"));
    agent.click(&agent.find("#dsr-erase button[type=submit]"));
    agent.wait_until(
        "the deletion protocol",
        "const p = document.getElementById('dsr-protocol'); return !!p && !p.hidden && p.textContent.includes('ann@acme.example')",
    );
    let f = k.json(&["gdpr", "find", "acme", "--email", "erika@example.org"]);
    assert_eq!(f["counts"]["conversations"], 0, "erased for real: {f}");
    agent.wait_until(
        "the protocol in the list",
        "const l = document.getElementById('dsr-protocols'); return !!l && l.querySelectorAll('tr').length >= 2",
    );

    // The audit trail (asked again through its filter form) lists the erasure; the chain holds.
    agent.type_text(
        &agent.find("#audit-filter input[name=action], #audit-action"),
        "gdpr",
    );
    agent.click(&agent.find("#audit-filter button[type=submit]"));
    agent.wait_until(
        "the audit table",
        "const t = document.getElementById('audit-table'); return !!t && t.textContent.includes('gdpr.erase')",
    );
    agent.wait_until(
        "the chain state",
        "const c = document.getElementById('audit-chain'); return !!c && c.dataset.intact === 'true'",
    );
    let table = agent.exec("return document.getElementById('audit-table').textContent");
    assert!(
        !table.as_str().unwrap().contains("erika"),
        "the trail names no one"
    );

    // The read log shows the search under a pseudonym, filtered by kind.
    agent.exec(
        "const s = document.getElementById('reads-what'); s.value = 'gdpr.find'; return true",
    );
    agent.click(&agent.find("#reads-filter button[type=submit]"));
    // Reads are written within a second, in the background: ask again (once a second) until
    // the search is there, as a person would press the button again.
    agent.wait_until(
        "the search in the read log",
        "const t = document.getElementById('reads-table'); \
         if (!!t && t.textContent.includes('Data-subject search') && t.textContent.includes('email:subject#')) return true; \
         if (!window.askedAt || Date.now() - window.askedAt > 1000) { window.askedAt = Date.now(); \
           document.querySelector('#reads-filter button[type=submit]').click(); } \
         return false",
    );
    let reads = agent.exec("return document.getElementById('reads-table').textContent");
    assert!(!reads.as_str().unwrap().contains("erika"), "{reads}");

    // A retention period saved through the form.
    agent.wait_until(
        "the retention form",
        "return !!document.querySelector('#retention-form [name=chats_days]')",
    );
    agent.exec("const i = document.querySelector('#retention-form [name=chats_days]'); i.value = '200'; i.dispatchEvent(new Event('input')); return true");
    agent.exec("const i = document.querySelector('#retention-form [name=reads_days]'); i.value = '90'; i.dispatchEvent(new Event('input')); return true");
    agent.click(&agent.find("#retention-form button[type=submit]"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while k.json(&["retention", "show", "acme"])["chats_days"] != 200 {
        assert!(std::time::Instant::now() < deadline, "the period was saved");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(k.json(&["retention", "show", "acme"])["reads_days"], 90);

    // Max: processing restricted with a reason, then lifted from the list.
    agent.exec("const v = document.getElementById('dsr-value'); v.value = ''; return true");
    agent.type_text(&agent.find("#dsr-value"), "max@example.org");
    agent.click(&agent.find("#dsr-form button[type=submit]"));
    agent.wait_until(
        "Max found",
        "const a = document.getElementById('dsr-actions'); return !!a && !a.hidden && document.getElementById('dsr-result').textContent.includes('Max')",
    );
    agent.click(&agent.find("#dsr-restrict button[type=submit]"));
    agent.wait_until(
        "a reason is asked for",
        "return document.getElementById('dsr-restrict-reason').getAttribute('aria-invalid') === 'true'",
    );
    agent.type_text(&agent.find("#dsr-restrict-reason"), "accuracy contested");
    agent.click(&agent.find("#dsr-restrict button[type=submit]"));
    agent.wait_until(
        "the restriction listed as active",
        "const t = document.getElementById('restrictions-table'); return !!t && t.textContent.includes('accuracy contested') && t.textContent.includes('Active: 1 chats')",
    );
    let listed = k.json(&["gdpr", "restrictions", "acme"]);
    assert!(listed["restrictions"][0]["lifted_at"].is_null(), "{listed}");
    agent.click(&agent.find("#restrictions-table [data-control=lift]"));
    agent.wait_until(
        "lifted",
        "const t = document.getElementById('restrictions-table'); return t.textContent.includes('Lifted by ann@acme.example')",
    );
    let listed = k.json(&["gdpr", "restrictions", "acme"]);
    assert!(listed["restrictions"][0]["lifted_at"].is_i64(), "{listed}");

    // The record of measures is one click away, as a download.
    let href = agent.exec(
        "const a = document.querySelector('#record a[data-format=html][data-lang=de]'); return a ? a.getAttribute('href') : null",
    );
    assert_eq!(
        href,
        serde_json::json!("/api/privacy/report?format=html&lang=de")
    );
}
