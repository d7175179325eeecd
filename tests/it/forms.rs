//! The pre-chat form: definitions checked over the API and the CLI, values checked against the
//! site's current form when a chat starts, stored with the chat, shown to its agent, found by
//! the history search, exported and erased with the person's data; departments offered and
//! routed to.

use crate::chat::{SHOP, agent, agent_as, db_count, setup, with_bob};
use crate::common::{Browser, Kontor, Ws};
use serde_json::{Value, json};

/// An order number (required, with a pattern), a topic select and a newsletter checkbox.
fn shop_form(departments: &[i64]) -> Value {
    json!({
        "fields": [
            {"name": "order", "kind": "text", "label_de": "Bestellnummer", "label_en": "Order number",
             "required": true, "pattern": "[A-Z]{2}-[0-9]{4}"},
            {"name": "topic", "kind": "select", "label_de": "Thema", "label_en": "Topic",
             "options": [{"value": "billing", "label_de": "Rechnung", "label_en": "Billing"},
                         {"value": "delivery", "label_de": "Lieferung", "label_en": "Delivery"}]},
            {"name": "news", "kind": "checkbox", "label_de": "Newsletter", "label_en": "Newsletter"}
        ],
        "departments": departments,
    })
}

/// Writes `form` to a file and saves it with `kontor site form`.
pub(crate) fn save_with_cli(k: &Kontor, site: &str, form: &Value) -> Value {
    let path = k.data_dir().join("../form.json");
    std::fs::write(&path, form.to_string()).unwrap();
    k.json(&[
        "site",
        "form",
        "acme",
        site,
        "--file",
        path.to_str().unwrap(),
    ])
}

fn refused_by_cli(k: &Kontor, site: &str, form: &Value) -> String {
    let path = k.data_dir().join("../bad-form.json");
    std::fs::write(&path, form.to_string()).unwrap();
    k.fails(&[
        "site",
        "form",
        "acme",
        site,
        "--file",
        path.to_str().unwrap(),
    ])
}

fn start(ws: &mut Ws, extra: Value) {
    let mut f = json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera",
                       "email": "vera@example.org", "lang": "de"});
    for (k, v) in extra.as_object().unwrap() {
        f[k] = v.clone();
    }
    ws.send(f);
}

/// The next frame that is a `welcome` or an `error`.
fn answer(ws: &mut Ws) -> Value {
    loop {
        let f = ws.recv();
        if f["type"] == "welcome" || f["type"] == "error" {
            return f;
        }
    }
}

#[test]
fn definitions_are_checked_over_the_api_and_the_cli() {
    let (k, pw, site) = setup();
    let bad = [
        (
            json!({"fields": [{"name": "a", "kind": "text", "label_en": "A"},
                              {"name": "a", "kind": "email", "label_en": "B"}]}),
            "field a",
        ),
        (
            json!({"fields": [{"name": "topic", "kind": "select", "label_en": "Topic"}]}),
            "field topic",
        ),
        (
            json!({"fields": [{"name": "code", "kind": "text", "label_en": "Code",
                               "pattern": "(a|b|c|d|e){1000}{1000}"}]}),
            "too expensive",
        ),
        (
            json!({"fields": [{"name": "size", "kind": "colour", "label_en": "Size"}]}),
            "field size",
        ),
        (json!({"departments": [4711]}), "no department 4711"),
    ];
    for (form, says) in &bad {
        let m = refused_by_cli(&k, &site, form);
        assert!(m.contains(says), "{says}: {m}");
    }
    assert_eq!(
        k.json(&["site", "form", "acme", &site, "--show"]),
        json!({"fields": [], "departments": []})
    );
    let saved = save_with_cli(&k, &site, &shop_form(&[]));
    assert_eq!(saved["fields"][0]["name"], "order");
    assert!(
        k.ok(&["site", "form", "acme", &site, "--show"])
            .contains("order (text, required)")
    );

    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let path = format!("/api/sites/{site}/form");
    let r = ann.get(&path);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["fields"][1]["options"][0]["value"], "billing");
    for (form, says) in &bad {
        let r = ann.put_json(&path, form);
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains(says), "{says}: {}", r.body);
    }
    let r = ann.put_json(&path, &json!({"fields": [], "departments": []}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ann.get(&path).json()["fields"], json!([]));
    assert_eq!(ann.get("/api/sites/site_nope/form").status, 404);
    // Through the admin socket of the running server too.
    save_with_cli(&k, &site, &shop_form(&[]));
    assert_eq!(ann.get(&path).json()["fields"][0]["name"], "order");
    let trail = k.json(&["audit", "list", "acme", "--action", "site.update"]);
    assert!(trail.to_string().contains(&site), "{trail}");
}

#[test]
fn values_are_checked_stored_shown_searched_exported_and_erased() {
    let (k, pw, site) = setup();
    save_with_cli(&k, &site, &shop_form(&[]));
    let mut server = k.server(&[]);
    // The chat frame carries the form in the visitor's language.
    let frame = Browser::new(&server.base).get(&format!("/widget/frame?site={site}&lang=de"));
    assert!(frame.body.contains("Bestellnummer"), "{}", frame.body);

    let (_ann_b, mut ann) = agent(&server, &pw);
    let mut ann_b = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    // Refused per field, nothing stored.
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    start(
        &mut v,
        json!({"fields": {"order": "12345", "topic": "other", "extra": "x"}}),
    );
    let e = answer(&mut v);
    assert_eq!(e["code"], "invalid_form", "{e}");
    let fields: Vec<&str> = e["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(fields, ["extra", "order", "topic"], "{e}");
    start(&mut v, json!({"fields": {}}));
    assert_eq!(answer(&mut v)["fields"]["order"], "required");
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversations"), 0);
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversation_fields"), 0);

    // Accepted: stored with their labels, and the agent sees them.
    start(
        &mut v,
        json!({"fields": {"order": "AB-1234", "topic": "billing", "news": true}}),
    );
    let w = answer(&mut v);
    assert_eq!(w["type"], "welcome", "{w}");
    let conv = w["conversation_id"].as_i64().unwrap();
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    let c = ann.recv_type("conversation");
    assert_eq!(c["fields"][0]["value"], "AB-1234", "{c}");
    assert_eq!(c["fields"][0]["label_en"], "Order number");
    assert_eq!(c["fields"][1]["option_de"], "Rechnung");
    assert_eq!(c["fields"][2]["value"], "yes");
    let hits = ann_b.get("/api/conversations?q=AB-1234").json();
    assert_eq!(hits["conversations"][0]["id"], conv, "{hits}");

    // A changed form leaves the chat as it was: its values, its labels, its messages.
    let r = ann_b.put_json(
        &format!("/api/sites/{site}/form"),
        &json!({"fields": [{"name": "phone", "kind": "phone", "label_en": "Phone", "required": true}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    crate::chat::say(&mut v, None, "m1", "still here");
    server.stop();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
    let mut ws = Ws::agent(&b);
    ws.send(json!({"type": "hello"}));
    let ready = ws.recv_type("ready");
    let listed = &ready["conversations"][0];
    assert_eq!(listed["fields"][0]["label_de"], "Bestellnummer", "{ready}");
    // The old form's values are refused for a new chat now.
    let mut v2 = Ws::visitor(&server.base, &site, SHOP).unwrap();
    start(&mut v2, json!({"fields": {"order": "AB-1234"}}));
    let e = answer(&mut v2);
    assert_eq!(e["code"], "invalid_form");
    assert_eq!(e["fields"]["phone"], "required", "{e}");
    drop(v2);
    // The chat ends; the person's data includes the values, and erasure takes them along.
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "resume", "token": w["token"], "last_seq": 0}));
    v.recv_type("welcome");
    v.send(json!({"type": "end"}));
    crate::common::wait_until(
        "the chat closed",
        std::time::Duration::from_secs(10),
        || {
            db_count(
                &k,
                "SELECT count(*) FROM conversations WHERE status = 'closed'",
            ) == 1
        },
    );
    drop(server);
    let out = k.ok(&["gdpr", "export", "acme", "--email", "vera@example.org"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let exported = &doc["conversations"][0]["form_fields"];
    assert_eq!(exported[0]["value"], "AB-1234", "{doc}");
    assert_eq!(exported[1]["option_en"], "Billing");
    k.json(&[
        "gdpr",
        "erase",
        "acme",
        "--email",
        "vera@example.org",
        "--yes",
    ]);
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversation_fields"), 0);
}

#[test]
fn departments_offered_route_and_others_are_refused() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let sales = k.json(&["department", "add", "acme", "Sales"])["departments"][0]["id"]
        .as_i64()
        .unwrap();
    let support = k.json(&["department", "add", "acme", "Support"])["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Support")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    k.ok(&[
        "agent",
        "set",
        "acme",
        "bob@acme.example",
        "--department",
        "Support",
    ]);
    save_with_cli(&k, &site, &json!({"departments": [support]}));
    let server = k.server(&[]);
    let (_bb, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    bob.send(json!({"type": "status", "status": "online"}));
    crate::common::wait_until(
        "Support shown as open",
        std::time::Duration::from_secs(10),
        || {
            let f = Browser::new(&server.base).get(&format!("/widget/frame?site={site}&lang=en"));
            f.body.contains("Support") && f.body.contains("&quot;open&quot;:true")
        },
    );

    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    start(&mut v, json!({"department": sales}));
    assert_eq!(answer(&mut v)["code"], "department_not_offered");
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversations"), 0);
    start(&mut v, json!({"department": support}));
    let w = answer(&mut v);
    assert_eq!(w["type"], "welcome", "{w}");
    let conv = w["conversation_id"].as_i64().unwrap();
    // Bob, the Support agent, is offered it.
    loop {
        let q = bob.recv();
        let entries = match q["type"].as_str() {
            Some("queue") => q["waiting"].clone(),
            Some("queue_update") => q["upsert"].clone(),
            _ => continue,
        };
        if let Some(e) = entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["conversation_id"] == conv)
        {
            assert_eq!(e["department_id"], support, "{e}");
            break;
        }
    }
    assert_eq!(
        db_count(
            &k,
            &format!("SELECT department_id FROM conversations WHERE id = {conv}")
        ),
        support
    );
}

/// In Chromium on the shop's origin: the visitor fills the form and picks Sales (marked as
/// available, Bob of Sales is online), a missing required value is said at its field first;
/// Bob takes the chat and reads the values under their labels.
#[test]
fn a_visitor_fills_the_form_in_a_browser_and_the_department_agent_sees_it() {
    use crate::browser::{open_widget, shop, shop_site};
    use crate::webdriver::Driver;
    let (k, pw) = Kontor::with_tenant();
    with_bob(&k, &pw);
    let sales = k.json(&["department", "add", "acme", "Sales"])["departments"][0]["id"]
        .as_i64()
        .unwrap();
    k.ok(&[
        "agent",
        "set",
        "acme",
        "bob@acme.example",
        "--department",
        "Sales",
    ]);
    let (port, _origin, key) = shop_site(&k);
    save_with_cli(&k, &key, &shop_form(&[sales]));
    let server = k.server(&[]);
    shop(
        port,
        format!(
            "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><h1>Shop</h1>\
             <script src=\"{}/widget.js\" data-site=\"{key}\" async></script></body></html>",
            server.base
        ),
    );
    let driver = Driver::start();
    let bob = driver.browser();
    bob.goto(&format!("{}/login?lang=en", server.base));
    bob.type_text(&bob.find("#tenant"), "acme");
    bob.type_text(&bob.find("#email"), "bob@acme.example");
    bob.type_text(&bob.find("#password"), &pw);
    bob.click(&bob.find_xpath("//button[normalize-space()='Sign in']"));
    bob.wait_until("the dashboard", "return location.pathname === '/app/chats'");

    let visitor = driver.browser();
    open_widget(&visitor, &format!("http://localhost:{port}/"));
    visitor.wait_until(
        "the form with Sales available",
        "const o = document.getElementById('pf-order'); const d = document.getElementById('pf-department'); \
         return !!o && !document.getElementById('v-start').hidden && !!d \
           && [...d.options].some(x => x.textContent === 'Sales (available now)') \
           && document.querySelector('label[for=pf-order]').textContent.includes('Order number')",
    );
    // Start without the required order number: its own error, announced, and the focus on it.
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    visitor.wait_until(
        "the order number's error",
        "const e = document.getElementById('pf-order-error'); const o = document.getElementById('pf-order'); \
         return e.textContent !== '' && e.getAttribute('role') === 'alert' \
           && o.getAttribute('aria-invalid') === 'true' && o.getAttribute('aria-describedby') === 'pf-order-error' \
           && document.activeElement === o",
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.type_text(&visitor.find("#pf-order"), "AB-1234");
    visitor.exec(&format!(
        "const t = document.getElementById('pf-topic'); t.value = 'delivery'; \
         const d = document.getElementById('pf-department'); d.value = '{sales}'; return true"
    ));
    visitor.click(&visitor.find("#start-btn"));
    visitor.wait_until(
        "the chat",
        "return !document.getElementById('v-chat').hidden",
    );

    bob.wait_until(
        "Vera waiting",
        "return [...document.querySelectorAll('button')].some(b => b.getAttribute('aria-label') === 'Accept chat with Vera')",
    );
    bob.click(&bob.find_xpath("//button[@aria-label='Accept chat with Vera']"));
    bob.wait_until(
        "the form's values in the chat's header",
        "const dl = document.querySelector('.conv:not([hidden]) .conv-fields'); \
         return !!dl && !dl.hidden && dl.innerText.includes('Order number') \
           && dl.innerText.includes('AB-1234') && dl.innerText.includes('Delivery')",
    );
    bob.wait_until(
        "the form's values in the visitor panel too",
        "const dl = document.querySelector('.conv:not([hidden]) .chat-visitor-fields'); \
         return !!dl && !dl.parentElement.hidden && !dl.closest('.chat-visitor').hidden \
           && dl.textContent.includes('Order number') && dl.textContent.includes('AB-1234') \
           && dl.textContent.includes('Delivery')",
    );
    assert_eq!(
        db_count(&k, "SELECT department_id FROM conversations"),
        sales
    );
}

/// Settings › Sites: the admin adds a field to a site's pre-chat form and saves it; a second
/// field with the same key is refused with the server's words naming the field.
#[test]
fn the_dashboard_edits_a_sites_pre_chat_form() {
    use crate::webdriver::Driver;
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let driver = Driver::start();
    let ann = driver.browser();
    crate::browser::sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/sites", server.base));
    ann.wait_until(
        "the edit button",
        "return !!document.querySelector('.sites-edit')",
    );
    ann.click(&ann.find(".sites-edit"));
    ann.wait_until(
        "the pre-chat form editor",
        "return !!document.querySelector('.prechat-form') && [...document.querySelectorAll('.prechat-form button')].some(b => b.textContent === 'Add field')",
    );
    let add = "//form[contains(@class,'prechat-form')]//button[normalize-space()='Add field']";
    ann.click(&ann.find_xpath(add));
    ann.type_text(
        &ann.find(".prechat-field:nth-child(1) input[id$='-name']"),
        "order",
    );
    ann.type_text(
        &ann.find(".prechat-field:nth-child(1) input[id$='-label_en']"),
        "Order number",
    );
    let save = "//form[contains(@class,'prechat-form')]//button[@type='submit']";
    ann.click(&ann.find_xpath(save));
    ann.wait_until(
        "saved",
        "return document.querySelector('.prechat-form .form-status').textContent === 'Pre-chat form saved.'",
    );
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let form = admin.get(&format!("/api/sites/{site}/form")).json();
    assert_eq!(form["fields"][0]["label_en"], "Order number", "{form}");
    ann.click(&ann.find_xpath(add));
    ann.type_text(
        &ann.find(".prechat-field:nth-child(2) input[id$='-name']"),
        "order",
    );
    ann.type_text(
        &ann.find(".prechat-field:nth-child(2) input[id$='-label_en']"),
        "Again",
    );
    ann.click(&ann.find_xpath(save));
    ann.wait_until(
        "the refusal naming the field",
        "const e = document.querySelector('.prechat-form .form-error'); \
         return e.getAttribute('role') === 'alert' && e.textContent.includes('field order')",
    );
    let form = admin.get(&format!("/api/sites/{site}/form")).json();
    assert_eq!(form["fields"].as_array().unwrap().len(), 1);
}

/// A tenant moved to another kontor takes its sites' pre-chat forms along.
#[test]
fn the_form_moves_with_the_tenant() {
    let (k, _, site) = setup();
    save_with_cli(&k, &site, &shop_form(&[]));
    let file = k.data_dir().join("../acme.tar");
    k.ok(&[
        "tenant",
        "export",
        "acme",
        "--out",
        file.to_str().unwrap(),
        "--plain",
    ]);
    let other = Kontor::new();
    other.ok(&["init"]);
    other.ok(&["tenant", "import", file.to_str().unwrap()]);
    assert_eq!(
        other.json(&["site", "form", "acme", &site, "--show"]),
        k.json(&["site", "form", "acme", &site, "--show"])
    );
}

/// Retention deletes a chat's values with the chat.
#[test]
fn retention_takes_the_values_with_the_chat() {
    let (k, _, site) = setup();
    save_with_cli(&k, &site, &shop_form(&[]));
    let server = k.server(&[]);
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    start(&mut v, json!({"fields": {"order": "AB-1234"}}));
    assert_eq!(answer(&mut v)["type"], "welcome");
    v.send(json!({"type": "end"}));
    crate::common::wait_until(
        "the chat closed",
        std::time::Duration::from_secs(10),
        || {
            db_count(
                &k,
                "SELECT count(*) FROM conversations WHERE status = 'closed'",
            ) == 1
        },
    );
    drop(server);
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversation_fields"), 1);
    k.json(&["retention", "set", "acme", "--chats", "1"]);
    k.advance_clock(std::time::Duration::from_secs(2 * 86_400));
    k.ok(&["retention", "purge", "acme"]);
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversations"), 0);
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversation_fields"), 0);
}

#[test]
fn an_address_or_name_given_in_the_form_is_found_and_rectified_by_gdpr_requests() {
    let (k, _pw, site) = setup();
    save_with_cli(
        &k,
        &site,
        &json!({"fields": [
            {"name": "contact", "kind": "email", "label_en": "Contact email"},
            {"name": "full", "kind": "text", "label_en": "Full name"},
            {"name": "order", "kind": "text", "label_en": "Order number"}
        ]}),
    );
    let server = k.server(&[]);
    // No name or address in the chat itself: only in the form.
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(
        json!({"type": "start", "consent": true, "notice_version": "1", "lang": "de",
                  "fields": {"contact": "Vera.Feld@example.org", "full": "Vera Feld",
                             "order": "AB-1234"}}),
    );
    assert_eq!(answer(&mut v)["type"], "welcome");
    // Someone else's chat stays out of it.
    let mut other = Ws::visitor(&server.base, &site, SHOP).unwrap();
    other.send(
        json!({"type": "start", "consent": true, "notice_version": "1", "lang": "de",
                      "fields": {"contact": "max@example.org", "full": "Max", "order": "CD-9999"}}),
    );
    assert_eq!(answer(&mut other)["type"], "welcome");
    drop((v, other));
    drop(server);

    let by_email = k.json(&["gdpr", "find", "acme", "--email", "vera.feld@example.org"]);
    assert_eq!(by_email["counts"]["conversations"], 1, "{by_email}");
    assert_eq!(by_email["conversations"][0]["form_fields"], 3, "{by_email}");
    let by_name = k.json(&["gdpr", "find", "acme", "--name", "vera feld"]);
    assert_eq!(by_name["counts"]["conversations"], 1, "{by_name}");
    assert_eq!(
        by_name["conversations"][0]["id"],
        by_email["conversations"][0]["id"]
    );

    // Named by the name in her form: the address in it is hers too.
    let u = k.json(&[
        "gdpr",
        "rectify",
        "acme",
        "--name",
        "Vera Feld",
        "--new-name",
        "Vera Wald",
        "--new-email",
        "vera.wald@example.org",
    ]);
    assert_eq!(u["form_fields"], 2, "her address and her name: {u}");
    let values = |conv: &Value| -> Vec<String> {
        let id = conv.as_i64().unwrap();
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        db.with(|c| {
            let mut stmt = c.prepare(
                "SELECT value FROM conversation_fields WHERE conversation_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap()
    };
    let hers = &by_email["conversations"][0]["id"];
    assert_eq!(
        values(hers),
        ["vera.wald@example.org", "Vera Wald", "AB-1234"],
        "the order number is no identity and stays"
    );
    let found = k.json(&["gdpr", "find", "acme", "--email", "vera.wald@example.org"]);
    assert_eq!(found["counts"]["conversations"], 1, "{found}");
    let old = k.json(&["gdpr", "find", "acme", "--email", "vera.feld@example.org"]);
    assert_eq!(old["counts"]["conversations"], 0, "{old}");
    let max = k.json(&["gdpr", "find", "acme", "--email", "max@example.org"]);
    assert_eq!(max["counts"]["conversations"], 1, "{max}");
}
