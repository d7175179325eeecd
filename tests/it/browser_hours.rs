//! Business hours in Chromium: outside them the widget on the shop shows the offline form with
//! the next opening although an agent is online, and the admin edits the hours in Settings ›
//! General (a refusal marks the field it names).

use crate::browser::{open_widget, shop, shop_site, sign_in};
use crate::common::Kontor;
use crate::webdriver::Driver;
use jiff::tz::TimeZone;
use std::time::Duration;

#[test]
fn outside_the_hours_the_widget_offers_a_message_with_the_next_opening() {
    let (k, pw) = Kontor::with_tenant();
    let (shop_port, shop_origin, key) = shop_site(&k);
    // Closed until tomorrow 09:00 UTC.
    let today = TimeZone::UTC
        .to_datetime(jiff::Timestamp::from_second(k.clock().now()).unwrap())
        .date();
    let special = format!("{}=09:00-10:00", today.tomorrow().unwrap());
    k.ok(&["hours", "set", "acme", "--tz", "UTC", "--special", &special]);
    let server = k.server(&[]);
    shop(
        shop_port,
        format!(
            "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
             <script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
            server.base
        ),
    );
    let driver = Driver::start();
    // An agent is online: only the hours keep the chat closed.
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);

    let visitor = driver.browser();
    open_widget(&visitor, &format!("{shop_origin}/"));
    visitor.wait_until(
        "the offline form is shown",
        "const v = document.getElementById('v-offline'); return !!v && !v.hidden",
    );
    assert_eq!(
        visitor.text(&visitor.find("#offline-hours")),
        "We are back tomorrow at 09:00 (UTC)."
    );

    // The admin's editor shows the hours and refuses overlapping times on Monday.
    agent.goto(&format!("{}/app/settings/general", server.base));
    agent.wait_until(
        "the business hours",
        "const t = document.getElementById('hours-tz'); return !!t && t.value === 'UTC' && document.getElementById('hours-on').checked",
    );
    let mon = agent.find("#hours-day-mon");
    agent.type_text(&mon, "09:00-12:00, 11:00-13:00");
    agent.click(&agent.find("#hours-save"));
    agent.wait_until(
        "the refusal names Monday",
        "return document.getElementById('hours-error').textContent === 'Monday: 09:00-12:00 and 11:00-13:00 overlap.' && \
         document.getElementById('hours-day-mon').getAttribute('aria-invalid') === 'true' && \
         document.activeElement.id === 'hours-day-mon'",
    );
    agent.exec("document.getElementById('hours-day-mon').value = ''; return true");
    agent.type_text(&mon, "09:00-17:00");
    agent.click(&agent.find("#hours-save"));
    agent.wait_until(
        "saved",
        "return document.getElementById('hours-status').textContent === 'The business hours are saved.' && \
         !document.getElementById('hours-day-mon').hasAttribute('aria-invalid')",
    );
    let shown = k.json(&["hours", "show", "acme"]);
    assert_eq!(
        shown["hours"]["week"]["mon"],
        serde_json::json!(["09:00-17:00"])
    );

    // A page opened while open offers the chat; started after closing, it is refused and
    // the frame turns to the offline form with the next opening.
    k.ok(&["hours", "clear", "acme"]);
    agent.goto(&format!("{}/app/chats", server.base));
    let mut http = crate::common::Browser::new(&server.base);
    http.headers.push(("Origin".into(), shop_origin.clone()));
    crate::common::wait_until("the agent is online", Duration::from_secs(20), || {
        http.get(&format!("/api/widget/config?site={key}")).json()["available"] == true
    });
    open_widget(&visitor, &format!("{shop_origin}/"));
    visitor.wait_until(
        "the start form is shown",
        "const v = document.getElementById('v-start'); return !!v && !v.hidden",
    );
    k.ok(&["hours", "set", "acme", "--tz", "UTC", "--special", &special]);
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    visitor.wait_until(
        "the offline form after the refusal",
        "const v = document.getElementById('v-offline'); return !!v && !v.hidden && \
         document.getElementById('offline-hours').textContent === 'We are back tomorrow at 09:00 (UTC).'",
    );
    assert_eq!(
        visitor.text(&visitor.find("#offline-intro")),
        "We are closed at the moment."
    );
}

#[test]
fn the_hours_editor_speaks_german_and_sets_a_departments_own_hours() {
    let (k, pw) = Kontor::with_tenant();
    let dep = k.json(&["department", "add", "acme", "Vertrieb"]);
    let dep_id = dep["departments"][0]["id"].as_i64().unwrap().to_string();
    let server = k.server(&[]);
    let driver = Driver::start();
    let admin = driver.browser();
    sign_in(&admin, &server.base, &pw);
    admin.goto(&format!("{}/app/settings/general?lang=de", server.base));
    admin.wait_until(
        "the German editor",
        "const s = document.getElementById('hours-scope'); \
         return !!s && [...s.options].some(o => o.textContent === 'Abteilung Vertrieb') && \
         document.body.textContent.includes('Wöchentliche Öffnungszeiten')",
    );
    // For Vertrieb: hours on, the week typed with a mistake the editor names in German.
    admin.exec(&format!(
        "const s = document.getElementById('hours-scope'); s.value = '{dep_id}'; \
         s.dispatchEvent(new Event('change')); return true"
    ));
    admin.wait_until(
        "Vertrieb's (empty) hours loaded",
        "return !document.getElementById('hours-on').checked",
    );
    admin.click(&admin.find("#hours-on"));
    admin.exec("const t = document.getElementById('hours-tz'); t.value = ''; return true");
    admin.type_text(&admin.find("#hours-tz"), "Europe/Berlin");
    let tue = admin.find("#hours-day-tue");
    admin.type_text(&tue, "10:00-12:00, 11:30-13:00");
    admin.click(&admin.find("#hours-save"));
    admin.wait_until(
        "the overlap named in German beside Tuesday",
        "return document.getElementById('hours-error').textContent === 'Dienstag: 10:00-12:00 und 11:30-13:00 überschneiden sich.' && \
         document.getElementById('hours-day-tue').getAttribute('aria-invalid') === 'true' && \
         document.activeElement.id === 'hours-day-tue'",
    );
    admin.exec("document.getElementById('hours-day-tue').value = ''; return true");
    admin.type_text(&tue, "10:00-12:00, 17:00-9:00");
    admin.click(&admin.find("#hours-save"));
    admin.wait_until(
        "a malformed span named",
        "return document.getElementById('hours-error').textContent.startsWith('Dienstag: „17:00-9:00“ ist keine Zeitspanne')",
    );
    admin.exec("document.getElementById('hours-day-tue').value = ''; return true");
    admin.type_text(&tue, "10:00-12:00, 13:00-16:00");
    admin.click(&admin.find("#hours-save"));
    admin.wait_until(
        "saved, in German",
        "return document.getElementById('hours-status').textContent === 'Die Öffnungszeiten sind gespeichert.' && \
         !document.getElementById('hours-day-tue').hasAttribute('aria-invalid')",
    );
    let shown = k.json(&["hours", "show", "acme", "--department", &dep_id]);
    assert_eq!(shown["hours"]["time_zone"], "Europe/Berlin");
    assert_eq!(
        shown["hours"]["week"]["tue"],
        serde_json::json!(["10:00-12:00", "13:00-16:00"])
    );
    // The tenant's own hours stay unset.
    assert!(k.json(&["hours", "show", "acme"])["hours"].is_null());
}
