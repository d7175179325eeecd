//! Uploaded files: the type is decided from the bytes, never from the name or the client's
//! Content-Type, and names are cleaned for display and for `Content-Disposition`.

use crate::error::{Error, Result};

/// Largest upload.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The MIME type of an allowed file (images and PDF), from its first bytes.
pub fn sniff(bytes: &[u8]) -> Result<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let mime = if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else if starts(b"%PDF-") {
        "application/pdf"
    } else {
        return Err(Error::Invalid(
            "only images (PNG, JPEG, GIF, WebP) and PDF files can be sent".into(),
        ));
    };
    Ok(mime)
}

/// A display name: the last path component, without control or bidirectional-override
/// characters, at most 100 characters; `file` when nothing is left.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}'))
        .take(100)
        .collect();
    // Dots and spaces in any order: ". .x" must not leave the hidden name ".x".
    let trimmed = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
    if trimmed.is_empty() {
        "file".into()
    } else {
        trimmed.into()
    }
}

/// The extensions a stored type may keep; the first is the one given when the name has none
/// of them.
fn extensions(mime: &str) -> &'static [&'static str] {
    match mime {
        "image/png" => &["png"],
        "image/jpeg" => &["jpg", "jpeg"],
        "image/gif" => &["gif"],
        "image/webp" => &["webp"],
        "application/pdf" => &["pdf"],
        _ => &[],
    }
}

/// The name a file is offered under: its extension follows the sniffed type, so a PNG
/// uploaded as `invoice.html` is `invoice.png`. A last extension of letters and digits (with
/// at least one letter) that does not fit is replaced; otherwise the right one is appended.
pub fn download_name(name: &str, mime: &str) -> String {
    let Some(ext) = extensions(mime).first() else {
        return name.to_string();
    };
    let (stem, last) = match name.rsplit_once('.') {
        Some((stem, last))
            if !stem.is_empty()
                && last.len() <= 8
                && last.bytes().all(|b| b.is_ascii_alphanumeric())
                && last.bytes().any(|b| b.is_ascii_alphabetic()) =>
        {
            (stem, Some(last))
        }
        _ => (name, None),
    };
    match last {
        Some(l) if extensions(mime).iter().any(|e| l.eq_ignore_ascii_case(e)) => name.to_string(),
        _ => format!("{stem}.{ext}"),
    }
}

/// `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert_eq!(
            sniff(b"%PDF-1.7 <html><script>").unwrap(),
            "application/pdf"
        );
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), "image/webp");
        for bad in [
            &b"<svg onload=alert(1)>"[..],
            b"<html><body>",
            b"",
            b"MZ\x90\x00",
            b"GIF8",
        ] {
            assert!(sniff(bad).is_err());
        }
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\x\\bild.png"), "bild.png");
        assert_eq!(clean_name("a\r\nb.png"), "ab.png");
        assert_eq!(clean_name("invoice\u{202e}gnp.exe"), "invoicegnp.exe");
        assert_eq!(clean_name(".htaccess"), "htaccess");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(&"x".repeat(500)).chars().count(), 100);
    }

    #[test]
    fn download_names_follow_the_stored_type() {
        for (name, mime, want) in [
            ("invoice.html", "image/png", "invoice.png"),
            ("invoice.pdf.exe", "application/pdf", "invoice.pdf.pdf"),
            ("Foto.JPEG", "image/jpeg", "Foto.JPEG"),
            ("Foto.jpg", "image/jpeg", "Foto.jpg"),
            ("scan", "application/pdf", "scan.pdf"),
            ("Bericht v1.2", "application/pdf", "Bericht v1.2.pdf"),
            ("file", "image/gif", "file.gif"),
            ("bild.png", "image/webp", "bild.webp"),
        ] {
            assert_eq!(download_name(name, mime), want, "{name} as {mime}");
        }
    }

    #[test]
    fn disposition_is_attachment_with_both_names() {
        let d = content_disposition("Rechnung März \"x\".pdf");
        assert!(d.starts_with("attachment; filename=\"Rechnung M_rz _x_.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz%20%22x%22.pdf"), "{d}");
    }
}
