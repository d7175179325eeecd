//! Rendering a mail: plain text plus a simple HTML part (no remote images, no tracking),
//! `Message-ID`, `Date`, `Auto-Submitted` and `List-Unsubscribe` where they apply. Every
//! header value goes through lettre's encoder; values we put in are one line already, and
//! anything that is not is folded to one line here, so no header can be injected.

use super::Mail;
use crate::error::{Error, Result};
use crate::i18n::{Lang, escape_html};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

/// A mail to render.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Recipient address.
    pub to: String,
    /// Where answers go, if not to the From address.
    pub reply_to: Option<String>,
    /// Subject (one line).
    pub subject: String,
    /// Paragraphs of the body; the HTML part escapes each and keeps its line breaks.
    pub paragraphs: Vec<String>,
    /// A link at the end (dashboard, set-up page), with its label.
    pub link: Option<(String, String)>,
    /// Sent by kontor on its own (not an agent's answer): `Auto-Submitted: auto-generated`.
    pub automatic: bool,
    /// `List-Unsubscribe` (a mailto or https address), where the recipient can stop them.
    pub unsubscribe: Option<String>,
    /// The mail this answers (`In-Reply-To`), if any.
    pub in_reply_to: Option<String>,
}

/// A rendered mail.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The RFC 5322 bytes.
    pub bytes: Vec<u8>,
    /// Its `Message-ID` (with angle brackets).
    pub message_id: String,
}

/// Makes a value one line: controls (CR, LF, tabs, bidi overrides) become spaces.
pub fn one_line(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if crate::model::text::is_unsafe(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn mailbox(addr: &str, name: Option<&str>) -> Result<Mailbox> {
    let email = addr
        .parse()
        .map_err(|_| Error::Invalid(format!("{addr:?} is not a valid email address")))?;
    Ok(Mailbox::new(
        name.map(one_line).filter(|n| !n.is_empty()),
        email,
    ))
}

/// The HTML part: the paragraphs escaped, line breaks kept, the link as a plain `<a>`.
fn html(lang: Lang, d: &Draft) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family:sans-serif;line-height:1.5;max-width:40em\">\n",
        lang.code(),
        escape_html(&d.subject)
    );
    for p in &d.paragraphs {
        out.push_str("<p>");
        out.push_str(&escape_html(p).replace('\n', "<br>\n"));
        out.push_str("</p>\n");
    }
    if let Some((label, url)) = &d.link {
        out.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>\n",
            escape_html(url),
            escape_html(label)
        ));
    }
    out.push_str("</body></html>\n");
    out
}

/// The plain-text part.
fn text(d: &Draft) -> String {
    let mut out = d.paragraphs.join("\n\n");
    if let Some((label, url)) = &d.link {
        out.push_str(&format!("\n\n{label}:\n{url}"));
    }
    out.push('\n');
    out
}

/// Renders a draft as it will be sent, dated `at` (unix seconds).
pub fn render(mail: &Mail, lang: Lang, d: &Draft, at: i64) -> Result<Rendered> {
    let from_name = Some(mail.smtp.from_name.as_str()).filter(|n| !n.is_empty());
    let domain = mail.smtp.from.rsplit('@').next().unwrap_or("localhost");
    let message_id = format!("<{}@{domain}>", uuid::Uuid::new_v4().simple());
    let mut b = lettre::Message::builder()
        .from(mailbox(&mail.smtp.from, from_name)?)
        .to(mailbox(&d.to, None)?)
        .subject(one_line(&d.subject))
        .message_id(Some(message_id.clone()))
        .date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(at.max(0) as u64));
    let reply_to = d.reply_to.as_deref().or(mail.smtp.reply_to.as_deref());
    if let Some(r) = reply_to {
        b = b.reply_to(mailbox(r, None)?);
    }
    if let Some(id) = &d.in_reply_to {
        b = b.in_reply_to(one_line(id)).references(one_line(id));
    }
    if d.automatic {
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    }
    if let Some(u) = &d.unsubscribe {
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", one_line(u)),
        ));
    }
    let message = b
        .multipart(MultiPart::alternative_plain_html(text(d), html(lang, d)))
        .map_err(|e| Error::Invalid(format!("the mail cannot be built: {e}")))?;
    Ok(Rendered {
        bytes: message.formatted(),
        message_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SmtpConfig, SmtpSecurity};

    pub(crate) fn mail() -> Mail {
        Mail::new(
            SmtpConfig {
                host: "localhost".into(),
                port: 25,
                security: SmtpSecurity::None,
                user: None,
                password_file: None,
                from: "support@shop.example".into(),
                from_name: "Shop Support".into(),
                reply_to: None,
                operator_address: None,
                ca_file: None,
                timeout_secs: 5,
            },
            "https://chat.shop.example/",
        )
    }

    #[test]
    fn a_name_with_line_breaks_cannot_add_a_header() {
        let d = Draft {
            to: "anna@example.org".into(),
            subject: "Hello\r\nBcc: victim@example.org".into(),
            paragraphs: vec!["<b>hi</b>\nsecond line".into()],
            link: Some((
                "Open".into(),
                "https://chat.shop.example/app?a=1&b=2".into(),
            )),
            automatic: true,
            ..Draft::default()
        };
        let r = render(&mail(), Lang::En, &d, 1_700_000_000).unwrap();
        let s = String::from_utf8(r.bytes).unwrap();
        let head = s.split("\r\n\r\n").next().unwrap();
        assert!(!head.contains("\r\nBcc:"), "{head}");
        assert!(
            head.contains("Subject: Hello Bcc: victim@example.org"),
            "{head}"
        );
        assert!(head.contains("Auto-Submitted: auto-generated"), "{head}");
        assert!(
            head.contains(&format!("Message-ID: {}", r.message_id)),
            "{head}"
        );
        assert!(r.message_id.ends_with("@shop.example>"));
        assert!(
            head.contains("Date: Tue, 14 Nov 2023 22:13:20 +0000"),
            "{head}"
        );
        assert!(s.contains("&lt;b&gt;hi&lt;/b&gt;<br>"), "{s}");
        assert!(s.contains("app?a=1&amp;b=2"), "{s}");
        assert!(!s.contains("<img"), "no images: {s}");
    }

    #[test]
    fn an_address_that_is_not_one_is_refused() {
        let d = Draft {
            to: "anna@example.org\r\nRCPT TO:<x@y.z>".into(),
            subject: "x".into(),
            ..Draft::default()
        };
        assert!(render(&mail(), Lang::En, &d, 0).is_err());
    }
}
