//! Sites: widget keys and the origins allowed to embed them.

use crate::error::{Error, Result};
use crate::store::SiteTracking;

/// Normalises an origin to `scheme://host[:port]`: http or https only, lower-case host, the
/// default port dropped, no path, query, fragment or credentials. IDNs must be given in their
/// `xn--` form so that what we compare is exactly what browsers send.
pub fn normalize_origin(raw: &str) -> Result<String> {
    let bad = |why: &str| Error::Invalid(format!("origin {raw:?}: {why}"));
    let lower = raw.trim().to_ascii_lowercase();
    let (scheme, rest) = lower
        .split_once("://")
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return Err(bad("only http and https are allowed")),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(bad("has no host"));
    }
    if rest.contains(['/', '?', '#', '@', '\\']) {
        return Err(bad(
            "must be scheme and host only, without path, query or user",
        ));
    }
    if !rest.is_ascii() {
        return Err(bad(
            "use the xn-- (punycode) form of international domain names",
        ));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        addr.parse::<std::net::Ipv6Addr>()
            .map_err(|_| bad("invalid IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
        };
        (format!("[{addr}]"), port)
    } else {
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(bad("invalid host name"));
        }
        (host.to_string(), port)
    };
    let port = match port {
        None => None,
        Some(p) => {
            let n: u16 = p.parse().map_err(|_| bad("invalid port"))?;
            if n == 0 {
                return Err(bad("invalid port"));
            }
            (p != default_port).then(|| n.to_string())
        }
    };
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

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
) -> Result<crate::store::system::SiteLook> {
    let mut look = crate::store::system::SiteLook::default();
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
    fn origins_normalise() {
        let cases = [
            ("https://Shop.Example", "https://shop.example"),
            ("https://shop.example/", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("https://xn--mller-kva.de", "https://xn--mller-kva.de"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_origin(raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn bad_origins_are_refused() {
        for bad in [
            "shop.example",
            "javascript:alert(1)",
            "ftp://shop.example",
            "https://shop.example/path",
            "https://user@shop.example",
            "https://shop.example?x",
            "https://",
            "https://müller.de",
            "https://shop.example:99999",
            "https://shop..example",
            "https://evil.example\\@shop.example",
            "https://'or 1=1--",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

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
            crate::store::system::SiteLook::default()
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
