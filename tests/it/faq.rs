//! A site's questions and answers: edited over the dashboard API within their limits and by
//! those with the sites permission only, delivered to the chat frame in the visitor's
//! language, and counted (answers opened, chats started after one) without the visitor.

use crate::chat::{SHOP, setup, with_bob};
use crate::common::{Browser, Ws};
use serde_json::{Value, json};

fn entry(qde: &str, ade: &str, qen: &str, aen: &str) -> Value {
    json!({"question_de": qde, "answer_de": ade, "question_en": qen, "answer_en": aen})
}

fn report(server_base: &str, origin: &str, body: &Value) -> crate::common::Res {
    let mut b = Browser::new(server_base);
    b.headers.push(("Origin".into(), origin.into()));
    b.post_json("/api/widget/faq-view", body)
}

/// The entries of `site` as the chat frame gets them in `lang`.
fn frame_faq(base: &str, site: &str, lang: &str) -> Value {
    let r = Browser::new(base).get(&format!("/api/widget/faq?site={site}&lang={lang}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn faqs_are_edited_per_site_within_their_limits_by_site_admins_only() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let path = format!("/api/sites/{site}/faqs");
    assert_eq!(ann.get(&path).json(), json!({"faqs": []}));

    // Create, read, update, delete.
    let r = ann.post_json(
        &path,
        &entry(
            "Wie lange dauert der Versand?",
            "Zwei bis drei Werktage.",
            "",
            "",
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    let xss = "\"><img src=x onerror=alert(1)> {{constructor.constructor('alert(1)')()}}";
    let r = ann.post_json(
        &path,
        &json!({"question_en": "Returns?", "answer_en": xss, "position": 1}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.json()["id"].as_i64().unwrap();
    let list = ann.get(&path).json();
    assert_eq!(list["faqs"][0]["id"], id);
    assert_eq!(
        list["faqs"][1]["answer_en"], xss,
        "stored as it was written"
    );
    let r = ann.put_json(
        &format!("{path}/{id}"),
        &entry(
            "Wie lange dauert der Versand?",
            "Zwei bis drei Werktage.\nIns Ausland eine Woche.",
            "How long does shipping take?",
            "Two to three working days.\nAbroad, a week.",
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ann.get(&path).json()["faqs"][0]["question_en"],
        "How long does shipping take?"
    );
    assert_eq!(ann.delete(&format!("{path}/{second}")).status, 200);
    assert_eq!(ann.delete(&format!("{path}/{second}")).status, 404);
    assert_eq!(ann.get(&path).json()["faqs"].as_array().unwrap().len(), 1);

    // Bad input: refused with the field named, nothing stored.
    let long_answer = "ä".repeat(2001);
    let bad = [
        (entry("Q", &long_answer, "", ""), "answer_de: at most 2000"),
        (
            entry("", "", &"q".repeat(201), "A"),
            "question_en: at most 200",
        ),
        (entry("Frage?", "", "", ""), "answer_de"),
        (entry("", "", "", ""), "question_en"),
        (entry("Q\u{1b}[31m", "A", "", ""), "question_de"),
        (
            json!({"question_en": "Q", "answer_en": "A", "html": "<b>"}),
            "",
        ),
        (json!({"question_en": ["Q"], "answer_en": "A"}), ""),
    ];
    for (body, says) in &bad {
        let r = ann.post_json(&path, body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(says), "{says}: {}", r.body);
        let r = ann.put_json(&format!("{path}/{id}"), body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    assert_eq!(ann.get(&path).json()["faqs"].as_array().unwrap().len(), 1);
    assert_eq!(
        ann.put_json(&format!("{path}/999999"), &entry("Q", "A", "", ""))
            .status,
        404
    );

    // At most 100 a site.
    for i in 1..100 {
        let r = ann.post_json(
            &path,
            &json!({"question_en": format!("Q{i}"), "answer_en": "A"}),
        );
        assert_eq!(r.status, 201, "{i}: {}", r.body);
    }
    let r = ann.post_json(
        &path,
        &json!({"question_en": "One too many", "answer_en": "A"}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("at most 100"), "{}", r.body);

    // Another site (or none): the same "not found"; agents without the right: 403.
    let other = "site_00000000000000000000000000000000";
    assert_eq!(ann.get(&format!("/api/sites/{other}/faqs")).status, 404);
    assert_eq!(
        ann.post_json(
            &format!("/api/sites/{other}/faqs"),
            &entry("Q", "A", "", "")
        )
        .status,
        404
    );
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get(&path).status, 403);
    assert_eq!(bob.post_json(&path, &entry("Q", "A", "", "")).status, 403);
    assert_eq!(bob.delete(&format!("{path}/{id}")).status, 403);
    // Without the CSRF token nothing changes.
    let mut no_csrf = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    no_csrf.headers.retain(|(k, _)| k != "X-CSRF-Token");
    assert_eq!(no_csrf.delete(&format!("{path}/{id}")).status, 403);

    // Removing the site removes its entries.
    assert_eq!(ann.delete(&format!("/api/sites/{site}")).status, 200);
    assert_eq!(
        crate::chat::db_count(&k, "SELECT count(*) FROM faqs"),
        0,
        "no entries of a removed site"
    );
}

#[test]
fn the_frame_gets_the_faq_in_the_visitors_language_with_fallback() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let path = format!("/api/sites/{site}/faqs");
    for (i, e) in [
        entry("Versand?", "Zwei Tage.", "Shipping?", "Two days."),
        entry("Nur deutsch?", "Ja.", "", ""),
        entry("", "", "English only?", "Yes."),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = e;
        e["position"] = json!(i);
        assert_eq!(ann.post_json(&path, &e).status, 201);
    }
    let questions = |v: &Value| -> Vec<String> {
        v["faqs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["q"].as_str().unwrap().to_string())
            .collect()
    };
    let de = frame_faq(&server.base, &site, "de");
    assert_eq!(de["lang"], "de");
    assert_eq!(
        questions(&de),
        ["Versand?", "Nur deutsch?", "English only?"]
    );
    assert_eq!(de["faqs"][0]["a"], "Zwei Tage.");
    let en = frame_faq(&server.base, &site, "en");
    assert_eq!(
        questions(&en),
        ["Shipping?", "Nur deutsch?", "English only?"]
    );
    // Another widget language reads English, with German where there is no English.
    let fr = frame_faq(&server.base, &site, "fr-BE");
    assert_eq!(fr["lang"], "fr");
    assert_eq!(questions(&fr), questions(&en));
    // Only kontor's own frame reads it: no CORS grant for any page.
    let mut b = Browser::new(&server.base);
    b.headers.push(("Origin".into(), SHOP.into()));
    let r = b.get(&format!("/api/widget/faq?site={site}&lang=de"));
    assert!(r.header("access-control-allow-origin").is_none());
    // Public text, cached briefly: an edit shows within a minute.
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(
        Browser::new(&server.base)
            .get("/api/widget/faq?site=site_00000000000000000000000000000000")
            .status,
        404
    );
    // The frame itself offers the search (hidden until the script shows it).
    let html = Browser::new(&server.base)
        .get(&format!("/widget/frame?site={site}&lang=de"))
        .body;
    assert!(html.contains("id=\"faq-search\""), "{html}");
    assert!(html.contains("Fragen durchsuchen"), "{html}");
}

#[test]
fn faq_views_and_chats_after_one_are_counted_without_the_visitor() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let path = format!("/api/sites/{site}/faqs");
    let id = ann
        .post_json(
            &path,
            &entry("Versand?", "Zwei Tage.", "Shipping?", "Two days."),
        )
        .json()["id"]
        .as_i64()
        .unwrap();

    // The frame (kontor's origin) and the site's pages may report; nobody else.
    let view = json!({"site": site, "faq": id});
    assert_eq!(report(&server.base, &server.base, &view).status, 204);
    assert_eq!(report(&server.base, SHOP, &view).status, 204);
    assert_eq!(
        report(&server.base, "https://evil.example", &view).status,
        403
    );
    let r = report(&server.base, SHOP, &json!({"site": site, "faq": id + 1000}));
    assert_eq!(r.status, 404, "{}", r.body);
    for bad in [
        json!({"site": site, "faq": "1 OR 1=1"}),
        json!({"site": site, "faq": id, "visitor": "x"}),
        json!({"site": {"$regex": ".*"}, "faq": id}),
    ] {
        assert_eq!(report(&server.base, SHOP, &bad).status, 400, "{bad}");
    }

    // A chat started after an answer was read, and one without.
    let mut ws = Ws::visitor(&server.base, &site, SHOP).unwrap();
    ws.send(
        json!({"type": "start", "consent": true, "notice_version": "1", "lang": "de",
                   "after_faq": true}),
    );
    ws.recv_type("welcome");
    let mut other = Ws::visitor(&server.base, &site, SHOP).unwrap();
    other.send(json!({"type": "start", "consent": true, "notice_version": "1", "lang": "de"}));
    other.recv_type("welcome");

    let stats = ann.get("/api/stats").json();
    assert_eq!(stats["headline"]["faq_views"], 2, "{}", stats["headline"]);
    assert_eq!(stats["headline"]["chats_after_faq"], 1);
    assert_eq!(stats["headline"]["chats"], 2);
    assert_eq!(
        stats["faqs"],
        json!([{"question": "Shipping?", "views": 2}])
    );
    let csv = ann.get("/api/stats.csv?table=faqs");
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.contains("question,views\r\nShipping?,2"),
        "{}",
        csv.body
    );

    // Only counts are stored: per day and entry, per day and site; nothing with the chat.
    assert_eq!(
        crate::chat::db_count(&k, "SELECT sum(views) FROM faq_views"),
        2
    );
    assert_eq!(
        crate::chat::db_count(&k, "SELECT sum(chats) FROM faq_chats"),
        1
    );
    let cli = k.json(&["stats", "acme"]);
    assert_eq!(cli["faq_views"], 2);
    assert_eq!(cli["chats_after_faq"], 1);
}

#[test]
fn faq_view_reports_are_rate_limited_per_address() {
    let (k, pw, site) = setup();
    std::fs::write(k.config_file(), "[tracking]\nreports_per_minute = 2\n").unwrap();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let id = ann
        .post_json(
            &format!("/api/sites/{site}/faqs"),
            &json!({"question_en": "Q", "answer_en": "A"}),
        )
        .json()["id"]
        .as_i64()
        .unwrap();
    let view = json!({"site": site, "faq": id});
    let statuses: Vec<u16> = (0..4)
        .map(|_| report(&server.base, SHOP, &view).status)
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    let r = report(&server.base, SHOP, &view);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert!(
        crate::chat::db_count(&k, "SELECT sum(views) FROM faq_views") <= 2,
        "refused reports are not counted"
    );
}

#[test]
fn questions_and_their_counts_move_with_the_tenant() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let id = ann
        .post_json(
            &format!("/api/sites/{site}/faqs"),
            &entry("Versand?", "Zwei Tage.", "", ""),
        )
        .json()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        report(&server.base, SHOP, &json!({"site": site, "faq": id})).status,
        204
    );
    drop(server);
    let file = k.data_dir().join("../acme-faq.tar");
    k.ok(&[
        "tenant",
        "export",
        "acme",
        "--out",
        file.to_str().unwrap(),
        "--plain",
    ]);
    let other = crate::common::Kontor::new();
    other.ok(&["init"]);
    other.ok(&["tenant", "import", file.to_str().unwrap()]);
    let server = other.server(&[]);
    assert_eq!(
        frame_faq(&server.base, &site, "de")["faqs"],
        json!([{"id": id, "q": "Versand?", "a": "Zwei Tage."}])
    );
    assert_eq!(
        crate::chat::db_count(&other, "SELECT sum(views) FROM faq_views"),
        1
    );
}
