//! Sites: checking a site's look and tracking settings, new widget keys, the embed snippet.

// The checks are pure rules, shared with imports and restores that read sites from archives.
pub use crate::model::sites::{clean_look, clean_tracking};

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
    use crate::model::sites::SiteLook;

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
        assert!(clean_look(None, None, None, Some("pt")).is_err());
        for code in ["en", "de", "fr", "es", "it", "nl", "pl"] {
            assert_eq!(clean_look(None, None, None, Some(code)).unwrap().lang, code);
        }
        assert_eq!(
            clean_look(None, None, None, Some("fr-BE")).unwrap().lang,
            "fr"
        );
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
