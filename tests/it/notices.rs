//! Versioned privacy notices: admins add versions per site, the chat frame shows the newest in
//! the visitor's language, each consent stores the version shown, and the list counts them.

use crate::chat::{SHOP, setup, with_bob};
use crate::common::{Browser, Ws};
use serde_json::json;

const DE: &str = "Wir speichern Ihre Nachrichten auf unserem eigenen Server <b>und</b> löschen sie nach 90 Tagen.";
const EN: &str = "We store your messages on our own server and delete them after 90 days.";

#[test]
fn the_newest_notice_is_shown_and_each_consent_names_its_version() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    k.ok(&["tenant", "create", "beta"]);
    let foreign = k.json(&["site", "add", "beta", "--origin", "https://beta.example"]);
    let foreign = foreign["site_key"].as_str().unwrap();
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let path = format!("/api/sites/{site}/notices");

    // Before any notice of its own: kontor's built-in text, version 1.
    let frame = admin
        .get(&format!("/widget/frame?site={site}&lang=en"))
        .body;
    assert!(frame.contains("data-notice-version=\"1\""));
    assert!(frame.contains("Nothing of the chat is stored before you start it"));

    let r = admin.post_json(&path, &json!({"text_de": "zu kurz", "text_en": EN}));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("German text"), "{}", r.body);
    assert_eq!(admin.post_json(&path, &json!({"text_de": DE})).status, 400);
    let r = admin.post_json(
        &format!("/api/sites/{foreign}/notices"),
        &json!({"text_de": DE, "text_en": EN}),
    );
    assert_eq!(r.status, 404, "another tenant's site");
    let r = admin.post_json(
        &path,
        &json!({"text_de": DE, "text_en": "An older English text, long enough."}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["version"], 2);
    let r = admin.post_json(&path, &json!({"text_de": DE, "text_en": EN}));
    assert_eq!(r.json()["version"], 3);

    // The frame shows version 3 in the visitor's language, escaped.
    let frame = admin
        .get(&format!("/widget/frame?site={site}&lang=de"))
        .body;
    assert!(frame.contains("data-notice-version=\"3\""));
    assert!(
        frame.contains("&lt;b&gt;und&lt;/b&gt; löschen"),
        "escaped, not markup"
    );
    let frame = admin
        .get(&format!("/widget/frame?site={site}&lang=en"))
        .body;
    assert!(frame.contains(EN));

    // A consent must name a version the site has shown.
    for bad in ["4", "v3", "", "3+more"] {
        let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
        v.send(json!({"type": "start", "consent": true, "notice_version": bad, "lang": "de"}));
        let f = v.recv_type("error");
        assert_eq!(f["code"], "invalid_input", "{bad:?}: {f}");
    }
    // A visitor consents to version 3; the chat records it.
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "3", "name": "Vera", "lang": "de"}));
    let conv = v.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    let found = admin
        .get(&format!("/api/gdpr/find?by=chat&value={conv}"))
        .json();
    assert_eq!(found["conversations"][0]["consent_version"], "3");

    let list = admin.get(&path).json();
    assert_eq!(list["current"], 3);
    let versions: Vec<i64> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2, 1]);
    assert_eq!(list["versions"][0]["consents"], 1);
    assert_eq!(list["versions"][1]["consents"], 0);
    assert_eq!(list["versions"][0]["created_by"], "ann@acme.example");
    assert_eq!(list["versions"][2]["builtin"], true);

    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(bob.get(&path).status, 403);
    assert_eq!(
        bob.post_json(&path, &json!({"text_de": DE, "text_en": EN}))
            .status,
        403
    );
    let trail = k.json(&["audit", "list", "acme", "--action", "notice"]);
    assert_eq!(trail.as_array().unwrap().len(), 2);
}
