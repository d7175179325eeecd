//! Sites: checking a site's look and tracking settings, new widget keys, the embed snippet.

// The checks are pure rules, shared with imports and restores that read sites from archives.
pub use crate::model::sites::{clean_look, clean_tracking};

use crate::config::normalize_origin;
use crate::error::{Error, Result};
use crate::model::sites::{SiteLook, SiteTracking, SiteWords, check_contrast};
use crate::store::SiteRecord;
use serde::{Deserialize, Serialize};

/// An allowed origin as a site may have it: `scheme://host[:port]` (no path, no wildcard;
/// see `config::normalize_origin`), and `http` only for this machine (localhost, loopback
/// addresses), since a public shop served over plain http cannot keep a chat private.
pub fn check_origin(raw: &str) -> Result<String> {
    let o = normalize_origin(raw)?;
    if let Some(rest) = o.strip_prefix("http://") {
        let host = match rest.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => h,
            _ => rest,
        };
        let local = host == "localhost"
            || host.ends_with(".localhost")
            || host == "[::1]"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| a.is_loopback());
        if !local {
            return Err(Error::Invalid(format!(
                "origin {raw:?}: use https (plain http is allowed only for localhost)"
            )));
        }
    }
    Ok(o)
}

/// A change to a site, as the dashboard's API and `kontor site set` ask for it: what is
/// missing stays as it is (for a new site: kontor's default).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteChange {
    /// Allowed origins (replaces the list).
    pub origins: Option<Vec<String>>,
    /// bottom-right or bottom-left.
    pub position: Option<String>,
    /// `#rrggbb`; refused below 4.5:1 against the text the widget puts on it.
    pub color: Option<String>,
    /// The site's privacy notice; empty removes it.
    pub privacy_url: Option<String>,
    /// Default widget language.
    pub lang: Option<String>,
    /// off, anonymous or consented.
    pub tracking: Option<String>,
    /// Query parameters stripped from reported URLs.
    pub strip: Option<Vec<String>>,
    /// The chat button's label, German.
    pub launcher_label_de: Option<String>,
    /// The chat button's label, English.
    pub launcher_label_en: Option<String>,
    /// The chat's heading, German.
    pub title_de: Option<String>,
    /// The chat's heading, English.
    pub title_en: Option<String>,
    /// The greeting above the start form, German.
    pub greeting_de: Option<String>,
    /// The greeting above the start form, English.
    pub greeting_en: Option<String>,
    /// The text of the offline form, German.
    pub offline_de: Option<String>,
    /// The text of the offline form, English.
    pub offline_en: Option<String>,
    /// Whether visitors see agents' display names.
    pub show_agent_names: Option<bool>,
}

/// A site's settings after a change, all checked.
#[derive(Debug, Clone)]
pub struct CleanSite {
    /// Normalised allowed origins (at least one).
    pub origins: Vec<String>,
    /// Position, colour, privacy URL, language.
    pub look: SiteLook,
    /// Visitor monitoring.
    pub tracking: SiteTracking,
    /// Texts and the agent-name switch.
    pub words: SiteWords,
}

/// Checks `change` applied to `base` (a stored site, or `None` for a new one): origins as
/// `config::normalize_origin` wants them, the look, a colour with enough contrast, tracking,
/// and the texts' lengths and characters. Errors name the field first (`color: …`).
pub fn apply_change(base: Option<&SiteRecord>, change: SiteChange) -> Result<CleanSite> {
    let field = |name: &str, e: Error| match e {
        Error::Invalid(m) => Error::Invalid(format!("{name}: {m}")),
        other => other,
    };
    let old_look = base.map(|b| b.look.clone()).unwrap_or_default();
    let old_tracking = base.map(|b| b.tracking.clone()).unwrap_or_default();
    let old_words = base.map(|b| b.words.clone()).unwrap_or_default();
    let origins = match change.origins {
        Some(list) => list,
        None => base.map(|b| b.origins.clone()).unwrap_or_default(),
    };
    let origins: Vec<String> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(|o| check_origin(o).map_err(|e| field("origins", e)))
        .collect::<Result<_>>()?;
    if origins.is_empty() {
        return Err(Error::Invalid(
            "origins: give at least one origin, e.g. https://shop.example".into(),
        ));
    }
    if origins.len() > 20 {
        return Err(Error::Invalid("origins: at most 20 origins".into()));
    }
    let pick = |new: Option<String>, old: String| Some(new.unwrap_or(old));
    let position = pick(change.position, old_look.position);
    let color = pick(change.color, old_look.color);
    let privacy = pick(change.privacy_url, old_look.privacy_url);
    let lang = pick(change.lang, old_look.lang);
    let look =
        clean_look(position.as_deref(), None, None, None).map_err(|e| field("position", e))?;
    let look = SiteLook {
        color: clean_look(None, color.as_deref(), None, None)
            .map_err(|e| field("color", e))?
            .color,
        privacy_url: clean_look(None, None, privacy.as_deref(), None)
            .map_err(|e| field("privacy_url", e))?
            .privacy_url,
        lang: clean_look(None, None, None, lang.as_deref())
            .map_err(|e| field("lang", e))?
            .lang,
        ..look
    };
    check_contrast(&look.color).map_err(|e| field("color", e))?;
    let tracking = clean_tracking(
        Some(change.tracking.as_deref().unwrap_or(&old_tracking.mode)),
        Some(change.strip.as_deref().unwrap_or(&old_tracking.strip)),
    )
    .map_err(|e| match (&e, change.tracking.is_some()) {
        (Error::Invalid(m), true) if m.starts_with("tracking") => field("tracking", e),
        _ => field("strip", e),
    })?;
    let or = |new: Option<String>, old: String| new.unwrap_or(old);
    let words = SiteWords {
        launcher_label_de: or(change.launcher_label_de, old_words.launcher_label_de),
        launcher_label_en: or(change.launcher_label_en, old_words.launcher_label_en),
        title_de: or(change.title_de, old_words.title_de),
        title_en: or(change.title_en, old_words.title_en),
        greeting_de: or(change.greeting_de, old_words.greeting_de),
        greeting_en: or(change.greeting_en, old_words.greeting_en),
        offline_de: or(change.offline_de, old_words.offline_de),
        offline_en: or(change.offline_en, old_words.offline_en),
        show_agent_names: change
            .show_agent_names
            .unwrap_or(old_words.show_agent_names),
    }
    .clean()?;
    Ok(CleanSite {
        origins,
        look,
        tracking,
        words,
    })
}

/// What removing a site does, as the CLI prints it and the API answers.
pub const REMOVE_EFFECT: &str = "the widget stops working on the site's pages at once (its \
    key is no longer accepted); the site's chats, offline messages and statistics stay in the \
    tenant's history and statistics; its allowed origins, privacy notices, pre-chat form and logo are deleted";

/// The largest logo, in bytes.
pub const LOGO_MAX_BYTES: usize = 256 * 1024;

/// Checks an uploaded logo: PNG, JPEG, WebP or GIF (sniffed from the bytes), at most
/// [`LOGO_MAX_BYTES`]. Returns its type.
pub fn check_logo(bytes: &[u8]) -> Result<&'static str> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(Error::Invalid(format!(
            "logo: at most {} KiB",
            LOGO_MAX_BYTES / 1024
        )));
    }
    match crate::domain::files::sniff(bytes) {
        Ok(m) if m.starts_with("image/") => Ok(m),
        _ => Err(Error::Invalid(
            "logo: only PNG, JPEG, WebP or GIF images".into(),
        )),
    }
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
    fn origins_are_checked_like_the_cli() {
        assert_eq!(
            check_origin("https://Shop.example/").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            check_origin("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert!(check_origin("http://shop.example").is_err());
        assert!(check_origin("https://shop.example/shop").is_err());
        assert!(check_origin("https://*.shop.example").is_err());
    }

    #[test]
    fn changes_keep_what_they_do_not_name() {
        let new = apply_change(
            None,
            SiteChange {
                origins: Some(vec!["https://a.example".into()]),
                greeting_de: Some("Hallo".into()),
                ..SiteChange::default()
            },
        )
        .unwrap();
        assert_eq!(new.look.color, "#0a5bd3");
        assert!(new.words.show_agent_names);
        let e = apply_change(
            None,
            SiteChange {
                origins: Some(vec!["https://a.example".into()]),
                color: Some("#777777".into()),
                ..SiteChange::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("color:"), "{e}");
        assert!(apply_change(None, SiteChange::default()).is_err());
    }
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
