//! Email through a real SMTP server (aiosmtpd with STARTTLS under a test CA and AUTH, see
//! `smtp.rs`): what each mail says, byte for byte where it matters; the outbox surviving a
//! server that is down, one that refuses, and `kill -9` in the middle of a batch; the
//! commands that check the server; and everything as before when email is off.

use crate::chat::{SHOP, agent, say, setup, visitor};
use crate::common::{Browser, Kontor, Server, wait_until, within};
use crate::smtp::{Received, SmtpOptions, SmtpServer, SmtpTls, TestCa};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const USER: &str = "kontor";
const PASSWORD: &str = "relay secret 42";

/// A test CA, the SMTP server under it (STARTTLS and AUTH), and kontor configured for it.
struct Mailroom {
    smtp: SmtpServer,
    ca: TestCa,
    dir: tempfile::TempDir,
}

impl Mailroom {
    fn new(opts: impl FnOnce(SmtpOptions) -> SmtpOptions) -> Mailroom {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path());
        let smtp = SmtpServer::start(opts(SmtpOptions {
            tls: SmtpTls::StartTls(&ca),
            user: Some(USER.into()),
            password: Some(PASSWORD.into()),
            ..SmtpOptions::default()
        }));
        Mailroom { smtp, ca, dir }
    }

    /// A server like the first (same CA, user and password) on `port`, keeping its messages in
    /// `dir`: the mail server coming back after it was down.
    fn restart(&self, port: u16, dir: std::path::PathBuf) -> SmtpServer {
        SmtpServer::start(SmtpOptions {
            port: Some(port),
            dir: Some(dir),
            tls: SmtpTls::StartTls(&self.ca),
            user: Some(USER.into()),
            password: Some(PASSWORD.into()),
            ..SmtpOptions::default()
        })
    }

    /// Writes kontor's `[smtp]` for this server (`extra` lines go into the section).
    fn configure(&self, k: &Kontor, password: &str, extra: &str) {
        let pw_file = self.dir.path().join("smtp-password");
        std::fs::write(&pw_file, format!("{password}\n")).unwrap();
        write_smtp(k, self.smtp.port(), &pw_file, &self.ca.ca_pem_path, extra);
    }
}

fn write_smtp(k: &Kontor, port: u16, pw_file: &Path, ca: &Path, extra: &str) {
    std::fs::write(
        k.config_file(),
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"starttls\"\n\
             user = \"{USER}\"\npassword_file = \"{}\"\nfrom = \"support@shop.example\"\n\
             from_name = \"Shop Support\"\nca_file = \"{}\"\n{extra}",
            pw_file.display(),
            ca.display()
        ),
    )
    .unwrap();
}

fn parse(m: &Received) -> mail_parser::Message<'_> {
    MessageParser::default()
        .parse(&m.data)
        .unwrap_or_else(|| panic!("not a mail: {}", m.text()))
}

fn leave_offline(server: &Server, site: &str, name: &str, email: &str, text: &str) -> Value {
    let mut b = Browser::new(&server.base);
    b.headers.retain(|(k, _)| k != "Origin");
    b.headers.push(("Origin".into(), SHOP.into()));
    let res = b.post_json(
        "/api/widget/offline",
        &json!({"site": site, "name": name, "email": email, "message": text,
                "consent": true, "lang": "de"}),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    res.json()
}

fn outbox(a: &mut Browser) -> Vec<Value> {
    let v = a.get("/api/email").json();
    v["outbox"].as_array().cloned().unwrap_or_default()
}

/// Waits until the outbox's newest mail is in `state`, and returns it.
fn newest_in_state(a: &mut Browser, state: &str) -> Value {
    let mut last = Value::Null;
    let ok = within(WAIT, || {
        last = outbox(a).first().cloned().unwrap_or(Value::Null);
        last["state"] == state
    });
    assert!(ok, "the newest mail is not {state}: {last}");
    last
}

#[test]
fn an_offline_message_is_mailed_to_the_inbox_and_answered_by_email() {
    let room = Mailroom::new(|o| o);
    let (k, pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    k.ok(&[
        "tenant",
        "mail",
        "acme",
        "--inbox",
        "inbox@shop.example, boss@shop.example",
        "--lang",
        "de",
    ]);
    let server = k.server(&[]);
    leave_offline(
        &server,
        &site,
        "Olga Grün",
        "olga@example.org",
        "Bitte um Rückruf <heute>\nZweite Zeile",
    );
    let got = room.smtp.wait_for(2, WAIT);
    let mut to: Vec<String> = got.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    to.sort();
    assert_eq!(to, ["boss@shop.example", "inbox@shop.example"]);
    for m in &got {
        // Delivered over TLS, signed in, from the configured address.
        assert!(m.tls, "not over TLS");
        assert_eq!(m.auth_user.as_deref(), Some(USER));
        assert_eq!(m.mail_from, "support@shop.example");
        let raw = m.text();
        let head = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            head.contains("From: \"Shop Support\" <support@shop.example>"),
            "{head}"
        );
        assert!(head.contains("Reply-To: olga@example.org"), "{head}");
        assert!(head.contains("Auto-Submitted: auto-generated"), "{head}");
        assert!(
            head.contains(&format!(
                "List-Unsubscribe: <{}/app/settings/general>",
                server.base
            )),
            "{head}"
        );
        assert!(head.contains("\r\nDate: "), "{head}");
        let id = m.header("Message-ID").unwrap();
        assert!(
            id.starts_with('<') && id.ends_with("@shop.example>"),
            "{id}"
        );
        assert!(!raw.contains("<img"), "no images, no pixels");
        let msg = parse(m);
        assert_eq!(msg.subject(), Some("Neue Nachricht von Olga Grün"));
        assert_eq!(
            msg.content_type().map(|c| (c.ctype(), c.subtype())),
            Some(("multipart", Some("alternative")))
        );
        assert_eq!((msg.text_body.len(), msg.html_body.len()), (1, 1));
        let text = msg.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(
            text.contains("Bitte um Rückruf <heute>\nZweite Zeile"),
            "{text}"
        );
        assert!(text.contains("/app/history?offline=1"), "{text}");
        let html = msg.body_html(0).unwrap();
        assert!(
            html.contains("Bitte um Rückruf &lt;heute&gt;<br>"),
            "escaped in HTML: {html}"
        );
    }

    // The next morning an agent answers from the dashboard.
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let inbox = a.get("/api/offline").json();
    assert_eq!(inbox["email"], true);
    let id = inbox["messages"][0]["id"].as_i64().unwrap();
    assert!(inbox["messages"][0]["handled_at"].is_null());
    let res = a.post_json(
        &format!("/api/offline/{id}/reply"),
        &json!({"text": "Guten Morgen Olga,\nwir rufen Sie um 10 Uhr an."}),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let got = room.smtp.wait_for(3, WAIT);
    let answer = &got[2];
    assert_eq!(answer.rcpt_tos, ["olga@example.org"]);
    let raw = answer.text();
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(
        !head.contains("Auto-Submitted") && !head.contains("List-Unsubscribe"),
        "an agent's answer is neither automatic nor a list: {head}"
    );
    let msg = parse(answer);
    assert_eq!(msg.subject(), Some("Ihre Nachricht an Shop Support"));
    assert_eq!(
        msg.from().unwrap().first().unwrap().address(),
        Some("support@shop.example")
    );
    let text = msg.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.starts_with("Guten Morgen Olga,\nwir rufen Sie um 10 Uhr an."),
        "{text}"
    );
    assert!(
        text.contains("> Bitte um Rückruf <heute>"),
        "the question is quoted: {text}"
    );

    // The message is handled, by whom and with what; the outbox shows all three as sent.
    let inbox = a.get("/api/offline").json();
    let m = &inbox["messages"][0];
    assert!(m["handled_at"].is_i64(), "{m}");
    assert_eq!(m["handled_by"], "Ann");
    assert!(m["reply"].as_str().unwrap().contains("10 Uhr"));
    newest_in_state(&mut a, "sent");
    let all = outbox(&mut a);
    assert_eq!(all.len(), 3);
    for row in &all {
        assert_eq!(row["state"], "sent", "{row}");
        assert!(row["answer"].as_str().unwrap().starts_with("250"), "{row}");
    }
    let health = Browser::new(&server.base).get("/healthz").json();
    assert_eq!(health["mail"]["enabled"], true);
    assert_eq!(health["mail"]["queued"], 0, "{health}");

    // Nothing is sent twice: a second look later finds the same three.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(room.smtp.messages().len(), 3);
}

#[test]
fn a_server_that_is_down_gets_the_mail_once_it_comes_up() {
    let mut room = Mailroom::new(|o| o);
    let port = room.smtp.port();
    let dir = room.smtp.dir().to_path_buf();
    room.smtp.stop();
    let (k, pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    k.ok(&["tenant", "mail", "acme", "--inbox", "inbox@shop.example"]);
    let server = k.server(&[]);
    leave_offline(
        &server,
        &site,
        "Paul",
        "paul@example.org",
        "Haben Sie Größe 44?",
    );
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    // Tried, not reachable: it waits, with the reason, and the backlog shows it.
    let mut row = Value::Null;
    assert!(within(WAIT, || {
        row = outbox(&mut a).first().cloned().unwrap_or(Value::Null);
        row["attempts"] == 1
    }));
    assert_eq!(row["state"], "queued", "{row}");
    assert!(
        row["answer"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("connect"),
        "{row}"
    );
    let health = Browser::new(&server.base).get("/healthz").json();
    assert_eq!(health["mail"]["queued"], 1, "{health}");
    assert!(
        health["mail"]["oldest_queued_age_secs"].is_i64(),
        "{health}"
    );

    // The server comes back; at the next try (a minute later) the mail goes out, once.
    let smtp = room.restart(port, dir);
    k.advance_clock(Duration::from_secs(61));
    let got = smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["inbox@shop.example"]);
    let row = newest_in_state(&mut a, "sent");
    assert_eq!(row["attempts"], 2, "{row}");
    k.advance_clock(Duration::from_secs(3600));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smtp.messages().len(), 1, "delivered once");
}

#[test]
fn a_refusal_is_final_and_shown_with_the_servers_words() {
    let room = Mailroom::new(|o| SmtpOptions {
        reject_rcpt: Some("nobody@".into()),
        ..o
    });
    let (k, pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    k.ok(&[
        "tenant",
        "mail",
        "acme",
        "--inbox",
        "nobody@shop.example,inbox@shop.example",
    ]);
    let server = k.server(&[]);
    leave_offline(&server, &site, "Rita", "rita@example.org", "Hallo");
    // The other address gets its mail; the refused one does not hold it up.
    let got = room.smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["inbox@shop.example"]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let mut failed = Value::Null;
    assert!(within(WAIT, || {
        failed = outbox(&mut a)
            .into_iter()
            .find(|r| r["recipient"] == "nobody@shop.example")
            .unwrap_or(Value::Null);
        failed["state"] == "failed"
    }));
    assert!(
        failed["answer"]
            .as_str()
            .unwrap()
            .contains("(550): 5.1.1 mailbox unavailable"),
        "{failed}"
    );
    assert_eq!(failed["attempts"], 1);
    // Not tried again, however long we wait.
    k.advance_clock(Duration::from_secs(6 * 3600));
    std::thread::sleep(Duration::from_secs(3));
    // (Signed in again: six idle hours end a session.)
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let again = outbox(&mut a)
        .into_iter()
        .find(|r| r["recipient"] == "nobody@shop.example")
        .unwrap();
    assert_eq!(again["attempts"], 1, "{again}");
    assert_eq!(room.smtp.messages().len(), 1);
    let health = Browser::new(&server.base).get("/healthz").json();
    assert_eq!(health["mail"]["failed"], 1, "{health}");
}

#[test]
fn kill_9_during_a_batch_loses_nothing_and_sends_nothing_twice() {
    // Each DATA waits 1 s for its answer, so the kill lands in the middle of the batch.
    let room = Mailroom::new(|o| SmtpOptions {
        slow_data_ms: Some(1000),
        ..o
    });
    let (k, _pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    k.ok(&["tenant", "mail", "acme", "--inbox", "inbox@shop.example"]);
    // Queued while no server runs: six mails wait in the outbox.
    let mut server = k.server(&[]);
    // Stop the sender from reaching the mail server until all six are queued: a wrong port.
    for i in 0..6 {
        leave_offline(
            &server,
            &site,
            &format!("Kunde {i}"),
            &format!("k{i}@example.org"),
            &format!("Nachricht {i}"),
        );
    }
    room.smtp.wait_for(2, WAIT);
    // Killed in the middle of the third mail's DATA (each answer takes 1 s), not in the few
    // milliseconds between the second's acceptance and its record: that window is the one no
    // SMTP client can close (RFC 1047), and the operator guide says so.
    std::thread::sleep(Duration::from_millis(400));
    server.kill9();
    let before = room.smtp.messages().len();
    assert!(
        before < 6,
        "the kill came too late to test anything ({before} sent)"
    );
    let _server = k.server(&[]);
    let got = room.smtp.wait_for(6, Duration::from_secs(40));
    std::thread::sleep(Duration::from_secs(3));
    let got_after = room.smtp.messages();
    assert_eq!(
        got_after.len(),
        6,
        "nothing doubled: {} mails",
        got_after.len()
    );
    let mut ids: Vec<String> = got
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "six different mails");
    let mut texts: Vec<String> = got
        .iter()
        .map(|m| parse(m).body_text(0).unwrap().to_string())
        .collect();
    texts.sort();
    for (i, t) in texts.iter().enumerate() {
        assert!(t.contains(&format!("Nachricht {i}")), "{t}");
    }
}

#[test]
fn transcripts_and_missed_chats_are_mailed_and_missed_chats_batched() {
    let room = Mailroom::new(|o| o);
    let (k, pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    k.ok(&[
        "tenant",
        "mail",
        "acme",
        "--inbox",
        "inbox@shop.example",
        "--alerts",
        "alerts@shop.example",
    ]);
    let server = k.server(&[]);

    // A chat an agent answers; the visitor asked for the transcript.
    let (_a, mut ws) = agent(&server, &pw);
    let (mut v, conv, token) = visitor(&server, &site, "Vera");
    let b = Browser::new(&server.base);
    let mut b2 = b;
    let bad = b2.post_json(
        "/api/widget/transcript-email",
        &json!({"token": token, "email": "vera@example.org\r\nBcc: x@example.org"}),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let res = b2.post_json(
        "/api/widget/transcript-email",
        &json!({"token": token, "email": "vera@example.org"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["sent"], false, "sent when the chat ends");
    say(&mut v, None, "v-1", "Wo ist mein Paket?");
    ws.send(json!({"type": "accept", "conversation_id": conv}));
    ws.send(json!({"type": "message", "conversation_id": conv, "client_id": "a-1", "text": "Es ist unterwegs."}));
    ws.recv_type("ack");
    ws.send(json!({"type": "close", "conversation_id": conv}));
    let got = room.smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["vera@example.org"]);
    let msg = parse(&got[0]);
    assert_eq!(msg.subject(), Some("Ihr Chat mit Shop Support"));
    let text = msg.body_text(0).unwrap();
    assert!(
        text.contains("Wo ist mein Paket?") && text.contains("Ann: Es ist unterwegs."),
        "{text}"
    );

    // Three chats nobody took: the first digest goes at once, the next two wait for the
    // five minutes to pass and go out together.
    for (i, name) in ["Max", "Mia", "Moritz"].iter().enumerate() {
        let (mut v, _, _) = visitor(&server, &site, name);
        say(&mut v, None, "m-1", &format!("Hallo von {name}"));
        v.send(json!({"type": "end"}));
        v.recv_type("conversation");
        if i == 0 {
            room.smtp.wait_for(2, WAIT);
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(room.smtp.messages().len(), 2, "the next digest waits");
    let first = parse(&room.smtp.messages()[1])
        .body_text(0)
        .unwrap()
        .to_string();
    assert!(first.contains("Max: Hallo von Max"), "{first}");
    k.advance_clock(Duration::from_secs(301));
    let got = room.smtp.wait_for(3, WAIT);
    assert_eq!(got[2].rcpt_tos, ["alerts@shop.example"]);
    let digest = parse(&got[2]);
    assert_eq!(digest.subject(), Some("Missed chats: 2"));
    let text = digest.body_text(0).unwrap();
    assert!(
        text.contains("Mia: Hallo von Mia") && text.contains("Moritz: Hallo von Moritz"),
        "{text}"
    );
    assert!(!text.contains("Max"), "{text}");
}

#[test]
fn invitations_are_mailed_to_the_invited_agent_and_the_link_works() {
    let room = Mailroom::new(|o| o);
    let (k, pw, _site) = setup();
    room.configure(&k, PASSWORD, "");
    k.ok(&["tenant", "mail", "acme", "--lang", "de"]);
    let server = k.server(&[]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let roles = a.get("/api/roles").json();
    let role = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "agent")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = a.post_json(
        "/api/agents/invite",
        &json!({"email": "neu@acme.example", "display_name": "Nele Neu", "role_id": role}),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let v = res.json();
    assert_eq!(v["mailed"], true);
    let got = room.smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["neu@acme.example"]);
    let msg = parse(&got[0]);
    assert_eq!(msg.subject(), Some("Ihre Einladung zu Shop Support"));
    let text = msg.body_text(0).unwrap();
    assert!(text.contains("Hallo Nele Neu"), "{text}");
    let url = v["url"].as_str().unwrap();
    assert!(
        text.contains(url),
        "the link in the mail is the invitation's: {text}"
    );
    let path = &url[url.find("/setup/").unwrap()..];
    assert_eq!(Browser::new(&server.base).get(path).status, 200);
}

#[test]
fn smtp_test_doctor_and_check_config_report_the_servers_words() {
    let room = Mailroom::new(|o| o);
    let (k, _pw, _site) = setup();
    room.configure(&k, PASSWORD, "");
    let out = k.ok(&["smtp", "test", "--to", "ops@shop.example"]);
    assert!(out.contains("accepted: 250"), "{out}");
    let got = room.smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ops@shop.example"]);
    assert_eq!(parse(&got[0]).subject(), Some("kontor test mail"));
    let out = k.run(&["doctor", "--json"]);
    let doctor: Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = doctor["checks"].as_array().unwrap();
    let smtp = checks
        .iter()
        .find(|c| c["what"].as_str().unwrap().starts_with("mail server"))
        .unwrap();
    assert_eq!(smtp["ok"], true, "{smtp}");
    assert!(smtp["detail"].as_str().unwrap().contains("TLS verified"));
    k.ok(&["check-config"]);

    // A wrong password: refused in the server's words everywhere.
    room.configure(&k, "wrong", "");
    let err = k.fails(&["smtp", "test", "--to", "ops@shop.example"]);
    assert!(err.contains("535"), "{err}");
    let err = k.fails(&["check-config"]);
    assert!(err.contains("535"), "{err}");
    let out = k.run(&["doctor", "--json"]);
    let doctor: Value = serde_json::from_slice(&out.stdout).unwrap();
    let smtp = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["what"].as_str().unwrap().starts_with("mail server"))
        .unwrap()
        .clone();
    assert_eq!(smtp["ok"], false);
    assert!(smtp["detail"].as_str().unwrap().contains("535"), "{smtp}");

    // A certificate kontor cannot verify.
    let other = tempfile::tempdir().unwrap();
    let untrusted = TestCa::new(other.path());
    let pw_file = room.dir.path().join("smtp-password");
    std::fs::write(&pw_file, PASSWORD).unwrap();
    write_smtp(&k, room.smtp.port(), &pw_file, &untrusted.ca_pem_path, "");
    let err = k.fails(&["smtp", "test", "--to", "ops@shop.example"]);
    assert!(err.contains("certificate"), "{err}");
    assert_eq!(room.smtp.messages().len(), 1, "nothing went out");

    // Bad input: an address that is not one, a header in it.
    room.configure(&k, PASSWORD, "");
    for bad in ["not-an-address", "a@b.example\r\nBcc: c@d.example"] {
        let err = k.fails(&["smtp", "test", "--to", bad]);
        assert!(err.contains("not a valid email address"), "{err}");
    }
    let err = k.fails(&["tenant", "mail", "acme", "--inbox", "x@y"]);
    assert!(err.contains("not a valid email address"), "{err}");
}

#[test]
fn smtp_configuration_mistakes_are_refused_with_a_clear_message() {
    let k = Kontor::new();
    let cases = [
        (
            "[smtp]\nhost = \"mail.example.com\"\nsecurity = \"none\"\nfrom = \"a@example.com\"\n",
            "only allowed for a relay on this machine",
        ),
        (
            "[smtp]\nhost = \"mail.example.com\"\nfrom = \"a@example.com\"\npassword = \"x\"\n",
            "unknown field `password`",
        ),
        (
            "[smtp]\nhost = \"mail.example.com\"\nfrom = \"a@example.com\"\nuser = \"u\"\n",
            "the password never goes into kontor.toml",
        ),
        (
            "[smtp]\nhost = \"mail.example.com\"\nfrom = \"not an address\"\n",
            "smtp.from",
        ),
        ("[smtp]\nfrom = \"a@example.com\"\n", "smtp.host"),
    ];
    for (toml, says) in cases {
        std::fs::write(k.config_file(), toml).unwrap();
        let err = k.fails(&["check-config"]);
        assert!(err.contains(says), "{toml}: {err}");
    }
    // The password file's content is never printed.
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "s3cret-never-shown").unwrap();
    std::fs::write(
        k.config_file(),
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"none\"\nuser = \"u\"\n\
             password_file = \"{}\"\nfrom = \"a@example.com\"\n",
            pw.display()
        ),
    )
    .unwrap();
    let out = k.run(&["check-config"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("s3cret"), "{all}");
}

#[test]
fn a_failed_scheduled_backup_is_mailed_to_the_operator() {
    let room = Mailroom::new(|o| o);
    let (k, _pw, _site) = setup();
    room.configure(
        &k,
        PASSWORD,
        "operator_address = \"ops@shop.example\"\n[backup]\ndaily_at = \"00:00\"\n",
    );
    // A damaged backup key: every backup fails until the operator restores it.
    std::fs::write(k.data_dir().join("backup.key"), b"too short").unwrap();
    let server = k.server(&[]);
    let got = room.smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ops@shop.example"]);
    let msg = parse(&got[0]);
    assert_eq!(msg.subject(), Some("kontor: A scheduled backup failed"));
    assert!(
        msg.body_text(0).unwrap().contains("32 bytes"),
        "the reason is in the mail"
    );
    // Once a day at most: the scheduler's next failures add no mail.
    k.advance_clock(Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(room.smtp.messages().len(), 1);
    drop(server);
}

#[test]
fn with_email_off_everything_works_as_before_and_says_so() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    leave_offline(&server, &site, "Olga", "olga@example.org", "Hallo");
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let inbox = a.get("/api/offline").json();
    assert_eq!(inbox["email"], false);
    assert_eq!(inbox["messages"].as_array().unwrap().len(), 1);
    let v = a.get("/api/email").json();
    assert_eq!(v["enabled"], false);
    let id = inbox["messages"][0]["id"].as_i64().unwrap();
    let res = a.post_json(
        &format!("/api/offline/{id}/reply"),
        &json!({"text": "Hallo"}),
    );
    assert_eq!(res.status, 409);
    assert!(res.body.contains("email is off"), "{}", res.body);
    let health = Browser::new(&server.base).get("/healthz").json();
    assert_eq!(health["mail"]["enabled"], false, "{health}");
    let err = k.fails(&["smtp", "test", "--to", "ops@shop.example"]);
    assert!(err.contains("email is off"), "{err}");
    // Nothing was queued anywhere.
    wait_until("the inbox", WAIT, || {
        a.get("/api/email").json()["outbox"]
            .as_array()
            .is_some_and(|o| o.is_empty())
    });
}

#[test]
fn a_persons_mails_are_found_exported_and_erased_and_an_erased_queued_mail_never_goes() {
    let mut room = Mailroom::new(|o| o);
    let port = room.smtp.port();
    let dir = room.smtp.dir().to_path_buf();
    room.smtp.stop();
    let (k, _pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    k.ok(&["tenant", "mail", "acme", "--inbox", "inbox@shop.example"]);
    let mut server = k.server(&[]);
    leave_offline(
        &server,
        &site,
        "Erika",
        "erika@example.org",
        "Bitte löschen",
    );
    leave_offline(&server, &site, "Emil", "emil@example.org", "Bitte behalten");
    server.stop();
    let found = k.json(&["gdpr", "find", "acme", "--email", "erika@example.org"]);
    assert_eq!(found["counts"]["mails"], 1, "{found}");
    assert_eq!(found["mails"][0]["recipient"], "inbox@shop.example");
    // The export carries the queued mail's outbox row, with the mail as it would go out.
    let doc: Value =
        serde_json::from_str(&k.ok(&["gdpr", "export", "acme", "--email", "erika@example.org"]))
            .unwrap();
    let mails = doc["mails"].as_array().unwrap();
    assert_eq!(mails.len(), 1, "{doc}");
    assert_eq!(mails[0]["kind"], "offline");
    assert_eq!(mails[0]["recipient"], "inbox@shop.example");
    assert_eq!(mails[0]["person"], "erika@example.org");
    assert_eq!(mails[0]["state"], "queued");
    assert!(!doc.to_string().contains("emil@example.org"), "only hers");
    k.ok(&[
        "gdpr",
        "erase",
        "acme",
        "--email",
        "erika@example.org",
        "--yes",
    ]);
    let found = k.json(&["gdpr", "find", "acme", "--email", "erika@example.org"]);
    assert_eq!(found["counts"]["mails"], 0, "{found}");
    // The server is up again; only Emil's notice goes out.
    let smtp = room.restart(port, dir);
    let _server = k.server(&[]);
    k.advance_clock(Duration::from_secs(3600));
    let got = smtp.wait_for(1, WAIT);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smtp.messages().len(), 1);
    assert!(got[0].text().contains("emil@example.org"));
    assert!(!smtp.messages()[0].text().contains("erika"));
}

#[test]
fn a_refused_sign_in_keeps_the_mail_queued_with_the_servers_words() {
    let room = Mailroom::new(|o| o);
    let (k, pw, site) = setup();
    room.configure(&k, "not the password", "");
    k.ok(&["tenant", "mail", "acme", "--inbox", "inbox@shop.example"]);
    let server = k.server(&[]);
    leave_offline(&server, &site, "Ida", "ida@example.org", "Hallo");
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let mut row = Value::Null;
    assert!(within(WAIT, || {
        row = outbox(&mut a).first().cloned().unwrap_or(Value::Null);
        row["attempts"] == 1
    }));
    // The operator's to fix: the mail waits (not failed) and says why.
    assert_eq!(row["state"], "queued", "{row}");
    assert!(row["answer"].as_str().unwrap().contains("535"), "{row}");
    assert!(room.smtp.messages().is_empty());
}

#[test]
fn a_damaged_tenant_found_by_the_daily_check_is_mailed_to_the_operator() {
    let room = Mailroom::new(|o| o);
    let (k, _pw, _site) = setup();
    room.configure(&k, PASSWORD, "operator_address = \"ops@shop.example\"\n");
    // One flipped byte inside a page of the tenant's database.
    let uuid = k.json(&["tenant", "show", "acme"])["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let file = k.data_dir().join("tenants").join(format!("{uuid}.db"));
    let mut bytes = std::fs::read(&file).unwrap();
    let pos = bytes.len() - 100;
    bytes[pos] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    // The daily job runs its checks when the server starts. Past the daily backup time the
    // scheduled backup runs too, fails on the damaged file and is mailed as well, in either
    // order: look for the integrity check's mail among what arrives.
    let _server = k.server(&[]);
    const SUBJECT: &str = "kontor: The daily integrity check found a problem";
    let mut found = None;
    assert!(within(WAIT, || {
        found = room
            .smtp
            .messages()
            .into_iter()
            .find(|m| parse(m).subject() == Some(SUBJECT));
        found.is_some()
    }));
    let got = found.unwrap();
    assert_eq!(got.rcpt_tos, ["ops@shop.example"]);
    let msg = parse(&got);
    let text = msg.body_text(0).unwrap();
    assert!(
        text.contains("tenant acme") && text.contains("kontor backup restore"),
        "{text}"
    );
}

/// How fast the sender drains a backlog over one STARTTLS connection (a measurement, not a
/// check of speed): `cargo test --release --test it mail::drain -- --ignored --nocapture`.
#[test]
#[ignore]
fn drain_a_backlog_of_500_mails() {
    const N: usize = 500;
    let room = Mailroom::new(|o| o);
    let (k, _pw, _site) = setup();
    room.configure(&k, PASSWORD, "");
    // Queued while no server runs, the way a long SMTP outage leaves them.
    {
        let config = kontor::config::Config::load_from(
            &kontor::config::Overrides {
                config: Some(k.config_file()),
                data_dir: Some(k.data_dir()),
                ..Default::default()
            },
            &std::collections::BTreeMap::new(),
        )
        .unwrap();
        let mail =
            kontor::domain::email::Mail::new(config.smtp.unwrap(), "https://chat.shop.example");
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        db.with(|c| {
            let tx = c.transaction()?;
            for i in 0..N {
                let bytes = kontor::domain::email::events::test_mail(
                    &mail,
                    &format!("r{i}@shop.example"),
                    0,
                )?;
                kontor::store::outbox::enqueue(
                    &tx,
                    &kontor::store::outbox::NewMail {
                        kind: "test",
                        recipient: &format!("r{i}@shop.example"),
                        subject: "kontor test mail",
                        person: "",
                        about: "",
                        envelope_from: "support@shop.example",
                        message: &bytes,
                        at: kontor::clock::now(),
                    },
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .unwrap();
    }
    let t0 = std::time::Instant::now();
    let _server = k.server(&[]);
    room.smtp.wait_for(N, Duration::from_secs(300));
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{N} mails delivered in {secs:.2} s ({:.0} mails/s), server start included",
        N as f64 / secs
    );
}

#[test]
fn a_visitor_blocked_from_the_chat_gets_no_transcript() {
    let room = Mailroom::new(|o| o);
    let (k, pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    let server = k.server(&[]);
    let (_a, mut ws) = agent(&server, &pw);
    let (mut v, conv, token) = visitor(&server, &site, "Mallory");
    let mut b = Browser::new(&server.base);
    let res = b.post_json(
        "/api/widget/transcript-email",
        &json!({"token": token, "email": "mallory@example.org"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    say(&mut v, None, "v-1", "spam");
    ws.send(json!({"type": "accept", "conversation_id": conv}));
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = a.post_json(
        "/api/blocks",
        &json!({"conversation_id": conv, "period": "1h"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    std::thread::sleep(Duration::from_secs(3));
    assert!(room.smtp.messages().is_empty(), "a transcript went out");
    let mut a2 = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    assert!(outbox(&mut a2).is_empty());
}

#[test]
fn a_closed_chat_is_answered_by_email_and_the_answer_is_kept_in_its_log() {
    let room = Mailroom::new(|o| o);
    let (k, pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    let server = k.server(&[]);
    let (_ab, mut ws) = agent(&server, &pw);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let mut v = crate::common::Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(
        json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera",
                  "email": "vera@example.org", "lang": "de"}),
    );
    let conv = v.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    say(&mut v, None, "v-1", "Gibt es das auch in Blau?");
    let reply = format!("/api/conversations/{conv}/reply");
    // While the chat runs it is answered in the chat, not by email.
    let open = a.post_json(&reply, &json!({"text": "Ja."}));
    assert_eq!(open.status, 409, "{}", open.body);
    assert!(open.body.contains("still open"), "{}", open.body);
    ws.send(json!({"type": "accept", "conversation_id": conv}));
    ws.send(json!({"type": "close", "conversation_id": conv}));
    drop(v);

    let text = "Guten Tag Vera,\nja, ab Montag auch in Blau.";
    let mut res = None;
    let closed = within(WAIT, || {
        let r = a.post_json(&reply, &json!({ "text": text }));
        let done = r.status != 409;
        res = Some(r);
        done
    });
    let res = res.unwrap();
    assert!(closed && res.status == 201, "{} {}", res.status, res.body);

    // The mail reaches the address the visitor gave, from the business.
    let got = room.smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["vera@example.org"]);
    assert_eq!(got[0].mail_from, "support@shop.example");
    let msg = parse(&got[0]);
    assert_eq!(msg.subject(), Some("Zu Ihrem Chat mit Shop Support"));
    let body = msg.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(body.starts_with(text), "{body}");
    assert!(body.contains("Dies beantwortet Ihren Chat vom"), "{body}");
    let head = got[0].text();
    let head = head.split("\r\n\r\n").next().unwrap();
    assert!(
        !head.contains("Auto-Submitted"),
        "an agent wrote it: {head}"
    );

    // The answer is part of the chat's log, as Ann's.
    let log = a.get(&format!("/api/conversations/{conv}/messages")).json();
    let last = log["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["author"], "agent", "{log}");
    assert_eq!(last["text"], text, "{log}");
    let sent = newest_in_state(&mut a, "sent");
    assert_eq!(sent["kind"], "reply", "{sent}");
    assert_eq!(sent["recipient"], "vera@example.org", "{sent}");
}

#[test]
fn a_password_reset_link_is_mailed_to_the_agent_and_works() {
    let room = Mailroom::new(|o| o);
    let (k, pw, _site) = setup();
    room.configure(&k, PASSWORD, "");
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let agents = a.get("/api/agents").json();
    let bob = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["email"] == "bob@acme.example")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = a.post_json(&format!("/api/agents/{bob}/reset-link"), &json!({}));
    assert_eq!(res.status, 201, "{}", res.body);
    let v = res.json();
    assert_eq!(v["mailed"], true);
    let got = room.smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["bob@acme.example"]);
    let head = got[0].text();
    let head = head.split("\r\n\r\n").next().unwrap().to_string();
    assert!(head.contains("Auto-Submitted: auto-generated"), "{head}");
    let msg = parse(&got[0]);
    assert_eq!(
        msg.subject(),
        Some("Choose a new password for Shop Support")
    );
    let text = msg.body_text(0).unwrap();
    assert!(
        text.contains("Hello Bob") && text.contains("asked for a new password"),
        "{text}"
    );
    let url = v["url"].as_str().unwrap();
    assert!(
        text.contains(url),
        "the link in the mail is the reset link: {text}"
    );
    let path = &url[url.find("/setup/").unwrap()..];
    assert_eq!(Browser::new(&server.base).get(path).status, 200);
    assert_eq!(newest_in_state(&mut a, "sent")["kind"], "reset");
}

#[test]
fn inbox_addresses_are_saved_from_the_dashboard_and_a_wrong_one_refused_by_name() {
    let room = Mailroom::new(|o| o);
    let (k, pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    let server = k.server(&[]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let res = a.put_json(
        "/api/email/addresses",
        &json!({"inbox": ["Inbox@Shop.example", "boss@shop.example, inbox@shop.example"],
                "alerts": ["alerts@shop.example"], "lang": "de"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let saved = json!({"inbox": ["inbox@shop.example", "boss@shop.example"],
                       "alerts": ["alerts@shop.example"], "lang": "de"});
    assert_eq!(res.json(), saved, "normalised, each once");
    assert_eq!(a.get("/api/email").json()["addresses"], saved);

    // Refused with a message naming the address; nothing changes.
    for bad in ["not-an-address", "x@y.example\r\nBcc: z@y.example"] {
        let res = a.put_json(
            "/api/email/addresses",
            &json!({"inbox": [bad], "alerts": [], "lang": "de"}),
        );
        assert_eq!(res.status, 400, "{}", res.body);
        assert!(
            res.body.contains("not a valid email address"),
            "{}",
            res.body
        );
    }
    let res = a.put_json(
        "/api/email/addresses",
        &json!({"inbox": [], "alerts": [], "lang": "fr"}),
    );
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("must be de or en"), "{}", res.body);
    assert_eq!(a.get("/api/email").json()["addresses"], saved);

    // The saved inbox gets the next offline message.
    leave_offline(&server, &site, "Olga", "olga@example.org", "Rückruf bitte");
    let got = room.smtp.wait_for(2, WAIT);
    let mut to: Vec<String> = got.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    to.sort();
    assert_eq!(to, ["boss@shop.example", "inbox@shop.example"]);
}

#[test]
fn doctor_reports_the_outbox_backlog_and_fails_on_a_mail_stuck_for_an_hour() {
    let mut room = Mailroom::new(|o| o);
    let port = room.smtp.port();
    let dir = room.smtp.dir().to_path_buf();
    room.smtp.stop();
    let (k, _pw, site) = setup();
    room.configure(&k, PASSWORD, "");
    k.ok(&["tenant", "mail", "acme", "--inbox", "inbox@shop.example"]);
    let outbox_check = |k: &Kontor| -> Value {
        let out = k.run(&["doctor", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["what"] == "mail outbox")
            .cloned()
            .unwrap_or_else(|| panic!("no outbox check: {v}"))
    };
    let c = outbox_check(&k);
    assert_eq!(
        (c["ok"].clone(), c["detail"].clone()),
        (json!(true), json!("0 queued, 0 failed for good"))
    );

    // The mail server is down: the notice waits, then waits too long.
    let server = k.server(&[]);
    leave_offline(&server, &site, "Olga", "olga@example.org", "Hallo");
    let c = outbox_check(&k);
    assert_eq!(c["ok"], true, "{c}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .starts_with("1 queued (the oldest for 0 min)"),
        "{c}"
    );
    k.advance_clock(Duration::from_secs(2 * 3600));
    let c = outbox_check(&k);
    assert_eq!(c["ok"], false, "{c}");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("1 queued (the oldest for 120 min)"),
        "{c}"
    );
    assert!(detail.contains("Settings › General › Email"), "{c}");

    // It comes up, the mail goes, and the check is fine again.
    let smtp = room.restart(port, dir);
    k.advance_clock(Duration::from_secs(3600));
    smtp.wait_for(1, WAIT);
    let ok = within(WAIT, || outbox_check(&k)["ok"] == true);
    assert!(ok, "{}", outbox_check(&k));
    assert_eq!(outbox_check(&k)["detail"], "0 queued, 0 failed for good");
}
