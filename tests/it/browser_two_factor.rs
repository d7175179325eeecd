//! Two-factor sign-in in headless Chromium against the real server: Ann sets it up on the
//! settings page (QR code, key, code from the "app", recovery codes shown once), signs in
//! again with password and code, and once with a recovery code; Ann requires a second factor
//! for the Agent role in the team panel, and Bob is made to set one up at his next sign-in.

use crate::chat::with_bob;
use crate::common::Kontor;
use crate::two_factor::{code_now, secret_of};
use crate::webdriver::{Browser, Driver};
use std::time::Duration;

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";

/// Types the password form and submits it.
fn password(agent: &Browser, base: &str, email: &str, pw: &str) {
    agent.goto(&format!("{base}/login?lang=en&next=/app/settings/profile"));
    agent.type_text(&agent.find("#tenant"), "acme");
    agent.type_text(&agent.find("#email"), email);
    agent.type_text(&agent.find("#password"), pw);
    agent.click(&agent.find_xpath("//button[normalize-space()='Sign in']"));
}

/// Types `code` on the second step and waits for the settings page.
fn second_step(agent: &Browser, code: &str) {
    agent.wait_until(
        "the code form",
        "return location.pathname === '/login/code'",
    );
    agent.type_text(&agent.find("#code"), code);
    agent.click(&agent.find_xpath("//button[normalize-space()='Sign in']"));
    agent.wait_until(
        "the settings page",
        "return location.pathname === '/app/settings/profile'",
    );
}

/// Signs out through the dashboard's own form.
fn sign_out(agent: &Browser) {
    agent.click(&agent.find_xpath("//button[normalize-space()='Sign out']"));
    agent.wait_until("the sign-in form", "return location.pathname === '/login'");
}

#[test]
fn an_agent_sets_up_two_factors_and_signs_in_with_a_code_and_a_recovery_code() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    password(&ann, &server.base, ANN, &pw);
    ann.wait_until(
        "the settings page",
        "return location.pathname === '/app/settings/profile'",
    );
    ann.wait_until(
        "the two-factor panel says off",
        "return document.getElementById('two-factor-state')?.textContent.startsWith('Off')",
    );
    ann.click(&ann.find("#two-factor-setup"));
    ann.wait_until(
        "the QR code and key",
        "return document.querySelector('#two-factor svg.two-factor-qr path') !== null \
           && (document.getElementById('two-factor-key')?.textContent.length ?? 0) > 30",
    );
    let key = ann.text(&ann.find("#two-factor-key"));
    let secret = secret_of(&key);
    ann.type_text(&ann.find("#two-factor-code"), "000000");
    ann.click(&ann.find("#two-factor-confirm"));
    ann.wait_until(
        "the wrong code refused",
        "return document.querySelector('#two-factor .form-error')?.textContent.includes('not right')",
    );
    let field = ann.find("#two-factor-code");
    ann.exec("document.getElementById('two-factor-code').value = ''; return 0");
    ann.type_text(&field, &code_now(&k, &secret));
    ann.click(&ann.find("#two-factor-confirm"));
    ann.wait_until(
        "ten recovery codes and the panel on",
        "return document.querySelectorAll('#two-factor-codes li').length === 10 \
           && document.getElementById('two-factor-state')?.textContent.startsWith('On since')",
    );
    let codes = ann.exec(
        "return [...document.querySelectorAll('#two-factor-codes li')].map(li => li.textContent)",
    );
    let recovery = codes[0].as_str().unwrap().to_string();
    assert!(ann.exec("return document.getElementById('two-factor-setup').hidden") == true);

    // Signed out, the password leads to the code form; the app's next code signs in.
    sign_out(&ann);
    k.advance_clock(Duration::from_secs(30));
    password(&ann, &server.base, ANN, &pw);
    second_step(&ann, &code_now(&k, &secret));
    // And once with a recovery code.
    sign_out(&ann);
    password(&ann, &server.base, ANN, &pw);
    second_step(&ann, &recovery);
    ann.wait_until(
        "nine recovery codes left",
        "return document.getElementById('two-factor-state')?.textContent.includes('left: 9')",
    );
}

#[test]
fn a_role_that_requires_two_factors_makes_its_agent_set_one_up_at_the_next_sign_in() {
    let (k, pw) = Kontor::with_tenant();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    password(&ann, &server.base, ANN, &pw);
    ann.wait_until(
        "signed in",
        "return location.pathname === '/app/settings/profile'",
    );
    ann.goto(&format!("{}/app/settings/team", server.base));
    ann.wait_until(
        "the roles table",
        "return document.querySelector('#team-roles tr[data-role-id=\"3\"] input[data-control=\"two-factor\"]') !== null",
    );
    let named = ann.exec(
        "const b = document.querySelector('#team-roles tr[data-role-id=\"3\"] input[data-control=\"two-factor\"]'); \
         return [b.checked, b.labels.length > 0]",
    );
    assert_eq!(named, serde_json::json!([false, true]));
    ann.click(&ann.find("#team-roles tr[data-role-id=\"3\"] input[data-control=\"two-factor\"]"));
    ann.wait_until(
        "the policy saved",
        "return document.querySelector('.team-part:has(#team-roles) .form-status')?.textContent.includes('must now use')",
    );

    let bob = driver.browser();
    password(&bob, &server.base, BOB, &pw);
    bob.wait_until(
        "the set-up page",
        "return location.pathname === '/login/enrol' && document.querySelector('svg.qr path') !== null",
    );
    let secret = secret_of(&bob.text(&bob.find("#totp-secret")));
    bob.type_text(&bob.find("#code"), &code_now(&k, &secret));
    bob.click(&bob.find_xpath("//button[normalize-space()='Confirm and sign in']"));
    bob.wait_until(
        "the recovery codes",
        "return document.getElementById('recovery-codes') !== null",
    );
    let codes = bob.text(&bob.find("#recovery-codes"));
    assert_eq!(codes.lines().count(), 10, "{codes}");
    bob.click(&bob.find("#continue"));
    bob.wait_until(
        "the settings page, two factors on",
        "return location.pathname === '/app/settings/profile' \
           && document.getElementById('two-factor-state')?.textContent.startsWith('On since') \
           && document.getElementById('two-factor-off')?.hidden === true",
    );
    // Ann's team panel shows Bob's second factor and can reset it.
    ann.goto(&format!("{}/app/settings/team", server.base));
    ann.wait_until(
        "Bob's 2FA tag",
        "return [...document.querySelectorAll('#team-agents tr')].some(r => r.textContent.includes('bob@') && r.querySelector('[data-two-factor]'))",
    );
}
