//! Sites: checking a site's look and tracking settings, new widget keys, the embed snippet.

use crate::error::{Error, Result};
use crate::model::sites::{SiteLook, SiteTracking};

/// Checks a tracking mode and the list of stripped query parameters (`*`: all but `utm_*`).
pub fn clean_tracking(mode: Option<&str>, strip: Option<&[String]>) -> Result<SiteTracking> {
    let d = SiteTracking::default();
    let mode = match mode.map(str::trim) {
        None => d.mode,
        Some(m @ ("off" | "anonymous" | "consented")) => m.to_string(),
        Some(m) => {
            return Err(Error::Invalid(format!(
                "tracking mode {m:?}: use off, anonymous or consented"
            )));
        }
    };
    let strip = match strip {
        None => d.strip,
        Some(list) => {
            let mut names: Vec<String> = Vec::new();
            for raw in list.iter().flat_map(|s| s.split(',')) {
                let n = raw.trim();
                if n.is_empty() {
                    continue;
                }
                let ok = n == "*"
                    || (n.len() <= 64
                        && n.bytes().all(|b| {
                            b.is_ascii_alphanumeric()
                                || matches!(b, b'_' | b'-' | b'.' | b'[' | b']')
                        }));
                if !ok {
                    return Err(Error::Invalid(format!(
                        "query parameter {n:?}: use names of letters, digits, _ - . [ ] or *"
                    )));
                }
                if !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
            }
            if names.len() > 50 {
                return Err(Error::Invalid(
                    "at most 50 stripped query parameters".into(),
                ));
            }
            names
        }
    };
    Ok(SiteTracking { mode, strip })
}

/// Checks and fills a site's look: position, `#rrggbb` colour, an http(s) privacy URL, en/de.
pub fn clean_look(
    position: Option<&str>,
    color: Option<&str>,
    privacy_url: Option<&str>,
    lang: Option<&str>,
) -> Result<SiteLook> {
    let mut look = SiteLook::default();
    if let Some(p) = position {
        if p != "bottom-right" && p != "bottom-left" {
            return Err(Error::Invalid(format!(
                "position {p:?} must be bottom-right or bottom-left"
            )));
        }
        look.position = p.into();
    }
    if let Some(c) = color {
        let c = c.trim().to_ascii_lowercase();
        let ok =
            c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(Error::Invalid(format!(
                "color {c:?} must look like #0a5bd3"
            )));
        }
        look.color = c;
    }
    if let Some(u) = privacy_url.map(str::trim).filter(|u| !u.is_empty()) {
        let lower = u.to_ascii_lowercase();
        let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
            && u.len() <= 500
            && !u
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
        if !ok {
            return Err(Error::Invalid(format!(
                "privacy URL {u:?} must be an http or https address"
            )));
        }
        look.privacy_url = u.into();
    }
    if let Some(l) = lang {
        look.lang = crate::i18n::Lang::parse(l)
            .ok_or_else(|| Error::Invalid(format!("language {l:?} must be en or de")))?
            .code()
            .into();
    }
    Ok(look)
}

/// A new public site key: 128 random bits, URL- and attribute-safe.
pub fn new_site_key() -> String {
    format!(
        "site_{}",
        crate::crypto::hex(&crate::crypto::random_array::<16>())
    )
}

/// The snippet a customer pastes into their pages.
pub fn embed_snippet(base_url: &str, site_key: &str) -> String {
    format!("<script src=\"{base_url}/widget.js\" data-site=\"{site_key}\" async></script>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_are_checked() {
        let l = clean_look(
            Some("bottom-left"),
            Some("#AABBCC"),
            Some("https://shop.example/datenschutz"),
            Some("de"),
        )
        .unwrap();
        assert_eq!(
            (l.position.as_str(), l.color.as_str(), l.lang.as_str()),
            ("bottom-left", "#aabbcc", "de")
        );
        assert!(clean_look(Some("top"), None, None, None).is_err());
        assert!(clean_look(None, Some("red"), None, None).is_err());
        assert!(clean_look(None, Some("#12345g"), None, None).is_err());
        assert!(clean_look(None, None, Some("javascript:alert(1)"), None).is_err());
        assert!(clean_look(None, None, Some("https://x.example/\"><script>"), None).is_err());
        assert!(clean_look(None, None, None, Some("fr")).is_err());
        assert_eq!(
            clean_look(None, None, None, None).unwrap(),
            SiteLook::default()
        );
    }

    #[test]
    fn snippet_shape() {
        assert_eq!(
            embed_snippet("https://chat.example", "site_ab"),
            "<script src=\"https://chat.example/widget.js\" data-site=\"site_ab\" async></script>"
        );
    }
}
