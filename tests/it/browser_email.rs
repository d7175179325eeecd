//! Email end to end, in Chromium against the real server and a real SMTP server (STARTTLS,
//! AUTH, a private CA): with no agent online a visitor leaves a message in the widget on the
//! shop page; the tenant's inbox address receives the notice, answering to the visitor. An
//! agent signs in, answers the message with "Reply by email" in the offline inbox; the visitor
//! receives the answer with their message quoted, and the inbox shows the message as
//! answered. Settings › General lists both mails as sent.

use crate::accessibility::Audit;
use crate::browser::{open_widget, shop, shop_site, sign_in};
use crate::common::Kontor;
use crate::smtp::{Received, SmtpOptions, SmtpServer, SmtpTls, TestCa};
use crate::webdriver::Driver;
use std::time::{Duration, Instant};

const SMTP_USER: &str = "kontor@shop.example";
const SMTP_PASSWORD: &str = "relay secret 42";
const VISITOR: &str = "vera@customer.example";
const INBOX: &str = "inbox@shop.example";
const QUESTION: &str = "Where is my parcel 4711? It did not arrive.";
const ANSWER: &str = "Your parcel 4711 left our warehouse today.";

/// The text/plain part of a mail, its transfer encoding undone.
fn plain_text(m: &Received) -> String {
    let text = m.text().replace("\r\n", "\n");
    let Some(start) = text.find("Content-Type: text/plain") else {
        panic!("no text/plain part in:\n{text}");
    };
    let part = &text[start..];
    let (head, body) = part.split_once("\n\n").unwrap();
    let body = body.split("\n--").next().unwrap_or_default();
    let encoding = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-transfer-encoding:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    match encoding.as_str() {
        "base64" => String::from_utf8(base64(&body.replace(['\n', ' '], ""))).unwrap(),
        "quoted-printable" => quoted_printable(body),
        _ => body.to_string(),
    }
}

fn base64(s: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ABC.iter().position(|&x| x == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn quoted_printable(s: &str) -> String {
    let s = s.replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if b[i] == b'='
            && let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The mail to `to` among those received.
fn mail_to<'a>(all: &'a [Received], to: &str) -> &'a Received {
    all.iter()
        .find(|m| m.rcpt_tos.iter().any(|r| r == to))
        .unwrap_or_else(|| panic!("no mail to {to} among {all:?}"))
}

#[test]
fn an_offline_message_is_mailed_and_answered_by_email() {
    let (k, pw) = Kontor::with_tenant();
    let (port, origin, key) = shop_site(&k);

    // The business's mail server, and kontor configured to send through it.
    let certs = tempfile::tempdir().unwrap();
    let ca = TestCa::new(certs.path());
    let smtp = SmtpServer::start(SmtpOptions {
        tls: SmtpTls::StartTls(&ca),
        user: Some(SMTP_USER.into()),
        password: Some(SMTP_PASSWORD.into()),
        ..Default::default()
    });
    let password_file = certs.path().join("smtp-password");
    std::fs::write(&password_file, format!("{SMTP_PASSWORD}\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut config = std::fs::read_to_string(k.config_file()).unwrap_or_default();
    config.push_str(&format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\nuser = \"{SMTP_USER}\"\n\
         password_file = \"{}\"\nfrom = \"support@shop.example\"\nfrom_name = \"Shop\"\nca_file = \"{}\"\n",
        smtp.port(),
        password_file.display(),
        ca.ca_pem_path.display()
    ));
    std::fs::write(k.config_file(), config).unwrap();
    k.ok(&["tenant", "mail", "acme", "--inbox", INBOX]);

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
    let (mut audit, started) = (Audit::default(), Instant::now());

    // Nobody is online: the visitor leaves a message.
    let visitor = driver.browser();
    open_widget(&visitor, &format!("{origin}/"));
    visitor.wait_until(
        "the offline form",
        "return !document.getElementById('v-offline').hidden",
    );
    // With email on the frame says so (the chat would offer the transcript by email).
    assert_eq!(visitor.exec("return document.body.dataset.email"), "true");
    visitor.type_text(&visitor.find("#o-name"), "Vera");
    visitor.type_text(&visitor.find("#o-email"), VISITOR);
    visitor.type_text(&visitor.find("#o-message"), QUESTION);
    visitor.click(&visitor.find("#o-consent"));
    visitor.click(&visitor.find("#offline-btn"));
    visitor.wait_until(
        "the thanks",
        "return !document.getElementById('offline-thanks').hidden",
    );

    // The inbox address receives the notice, answering to the visitor.
    let all = smtp.wait_for(1, Duration::from_secs(60));
    let notice = mail_to(&all, INBOX);
    assert!(notice.tls, "the notice went without TLS");
    assert_eq!(notice.auth_user.as_deref(), Some(SMTP_USER));
    assert!(notice.header("To").unwrap().contains(INBOX), "{notice:?}");
    assert!(
        notice.header("Reply-To").unwrap().contains(VISITOR),
        "{:?}",
        notice.header("Reply-To")
    );
    assert_eq!(
        notice.header("Subject").as_deref(),
        Some("New message from Vera")
    );
    let text = plain_text(notice);
    assert!(text.contains(QUESTION), "{text}");

    // An agent follows the mail's link: the inbox shows that message, focused.
    let link = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{}/app/history?offline=", server.base)))
        .unwrap_or_else(|| panic!("no link to the message: {text}"))
        .to_string();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&link);
    agent.wait_until(
        "the message with its reply button, focused",
        "const i = document.querySelector('.offline-item'); \
         return !!i && i.innerText.includes('parcel 4711') && !!i.querySelector('button.reply-open') \
           && document.activeElement === i && i.classList.contains('offline-linked')",
    );
    assert_eq!(
        agent.exec(
            "return document.querySelector('.offline-item button.reply-open').getAttribute('aria-label')"
        ),
        "Reply by email to Vera"
    );
    agent.click(&agent.find(".offline-item button.reply-open"));
    // The text box opens with the focus in it, labelled with the visitor's address.
    assert_eq!(
        agent.exec(
            "const a = document.activeElement; \
             return a.tagName === 'TEXTAREA' && document.querySelector(`label[for='${a.id}']`).textContent"
        ),
        format!("Your answer to {VISITOR}")
    );
    audit.check(&agent, "the offline inbox with the reply form");
    agent.type_text(&agent.find(".offline-item textarea"), ANSWER);
    agent.click(&agent.find(".offline-item form.reply-mail button[type=submit]"));
    agent.wait_until(
        "the message shown as answered",
        "const i = document.querySelector('.offline-item'); const d = i && i.querySelector('.offline-handled'); \
         return !!d && d.textContent.startsWith('Answered by Ann on ') \
           && i.querySelector('.offline-reply').textContent.includes('left our warehouse') \
           && !i.querySelector('button.reply-open') && document.activeElement === d",
    );
    let status =
        agent.exec("return document.querySelector('.offline-panel [role=status]').textContent");
    assert!(
        status
            .as_str()
            .unwrap()
            .contains(&format!("The answer to {VISITOR} is on its way.")),
        "{status}"
    );

    // The visitor receives the answer, their message quoted.
    let all = smtp.wait_for(2, Duration::from_secs(60));
    let reply = mail_to(&all, VISITOR);
    assert!(reply.header("To").unwrap().contains(VISITOR), "{reply:?}");
    let from = reply.header("From").unwrap();
    assert!(
        from.contains("support@shop.example") && from.contains("Shop"),
        "{from}"
    );
    assert_eq!(
        reply.header("Subject").as_deref(),
        Some("Your message to Shop")
    );
    let text = plain_text(reply);
    assert!(text.contains(ANSWER), "{text}");
    assert!(text.contains(&format!("> {QUESTION}")), "{text}");

    // After a reload the inbox still shows it answered, with no reply button.
    agent.goto(&format!("{}/app/history", server.base));
    agent.wait_until(
        "the answered message after a reload",
        "const i = document.querySelector('.offline-item'); \
         return !!i && !!i.querySelector('.offline-handled') && !i.querySelector('button.reply-open')",
    );

    // Settings › General: email is on, both mails listed as sent.
    agent.goto(&format!("{}/app/settings/general", server.base));
    agent.wait_until(
        "both mails sent in the outbox",
        "const rows = [...document.querySelectorAll('#email-outbox tbody tr')]; \
         if (rows.length >= 2 && rows.every(r => r.dataset.state === 'sent')) return true; \
         const b = document.getElementById('email-refresh'); if (b && !b.closest('[hidden]')) b.click(); \
         return false",
    );
    assert_eq!(
        agent.exec(
            "return [document.getElementById('email').hidden, document.getElementById('email-off').hidden, \
             document.getElementById('email-from').textContent, document.getElementById('email-inbox').value]"
        ),
        serde_json::json!([
            false,
            true,
            "Mails are sent from Shop <support@shop.example>.",
            INBOX
        ])
    );
    if let Ok(dir) = std::env::var("KONTOR_TEST_SCREENSHOTS") {
        let shot = agent.cdp(
            "Page.captureScreenshot",
            serde_json::json!({"format": "png"}),
        );
        std::fs::write(
            format!("{dir}/settings-email.b64"),
            shot["data"].as_str().unwrap_or_default(),
        )
        .unwrap();
    }
    let outbox = agent.exec("return document.getElementById('email-outbox').innerText");
    let outbox = outbox.as_str().unwrap();
    for want in [
        INBOX,
        VISITOR,
        "New message from Vera",
        "Your message to Shop",
        "Sent",
    ] {
        assert!(outbox.contains(want), "{want} not in {outbox}");
    }
    audit.check(&agent, "Settings › General with email on");

    // With an agent online the visitor chats and asks for the transcript by email: it is
    // promised for the end of the chat and sent when the visitor ends it.
    agent.goto(&format!("{}/app/chats", server.base));
    agent.wait_until(
        "the chats page",
        "return !!document.getElementById('section-app')",
    );
    open_widget(&visitor, &format!("{origin}/"));
    visitor.wait_until(
        "the start form",
        "return !document.getElementById('v-start').hidden",
    );
    visitor.type_text(&visitor.find("#s-name"), "Vera");
    visitor.click(&visitor.find("#s-consent"));
    visitor.click(&visitor.find("#start-btn"));
    visitor.type_text(&visitor.find("#msg"), "Is the parcel insured?");
    visitor.click(&visitor.find("#send-btn"));
    visitor.wait_until(
        "the chat started",
        "return !document.getElementById('mail-row').hidden \
           && document.getElementById('log').innerText.includes('Is the parcel insured?')",
    );
    visitor.click(&visitor.find("#mail-open"));
    audit.check(&visitor, "the chat frame with the transcript-by-email form");
    // An address the server refuses: its message is shown, the field marked.
    visitor.type_text(&visitor.find("#mail-to"), "vera@@customer");
    visitor.click(&visitor.find("#mail-btn"));
    visitor.wait_until(
        "the refusal",
        "return document.getElementById('mail-error').textContent !== '' \
           && document.getElementById('mail-to').getAttribute('aria-invalid') === 'true'",
    );
    visitor.exec("document.getElementById('mail-to').value = ''; return true");
    visitor.type_text(&visitor.find("#mail-to"), VISITOR);
    visitor.click(&visitor.find("#mail-btn"));
    visitor.wait_until(
        "the promise",
        &format!(
            "return document.getElementById('mail-done').textContent === \
             'We will send the transcript to {VISITOR} when the chat ends.' \
             && document.getElementById('mail-form').hidden && document.activeElement.id === 'mail-done'"
        ),
    );
    visitor.click(&visitor.find("#end-btn"));
    visitor.click(&visitor.find("#end-yes"));
    let all = smtp.wait_for(3, Duration::from_secs(60));
    let transcript = all
        .iter()
        .find(|m| m.header("Subject").as_deref() == Some("Your chat with Shop"))
        .unwrap_or_else(|| panic!("no transcript among {all:?}"));
    assert_eq!(transcript.rcpt_tos, vec![VISITOR.to_string()]);
    assert!(
        plain_text(transcript).contains("Is the parcel insured?"),
        "{}",
        plain_text(transcript)
    );
    audit.finish(started);
}
