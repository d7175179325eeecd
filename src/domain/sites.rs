//! Sites: widget keys and the origins allowed to embed them.

use crate::error::{Error, Result};

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
    fn snippet_shape() {
        assert_eq!(
            embed_snippet("https://chat.example", "site_ab"),
            "<script src=\"https://chat.example/widget.js\" data-site=\"site_ab\" async></script>"
        );
    }
}
