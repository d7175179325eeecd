//! A site's settings as values that storage and the services share: how its widget looks and
//! how its visitors are monitored.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a site's widget looks, and the notice it links to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SiteLook {
    /// `bottom-right` or `bottom-left`.
    pub position: String,
    /// `#rrggbb`.
    pub color: String,
    /// The site's privacy notice (http/https), or empty.
    pub privacy_url: String,
    /// `en` or `de`: the widget's language when the page does not say.
    pub lang: String,
}

/// How a site's visitors are monitored (see `docs/widget.md`, "Tracking modes").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SiteTracking {
    /// `off`, `anonymous` or `consented`.
    #[serde(rename = "tracking")]
    pub mode: String,
    /// Query parameters removed from reported URLs; `*` removes all but `utm_*`.
    pub strip: Vec<String>,
}

impl Default for SiteTracking {
    fn default() -> Self {
        SiteTracking {
            mode: "anonymous".into(),
            strip: vec!["*".into()],
        }
    }
}

impl Default for SiteLook {
    fn default() -> Self {
        SiteLook {
            position: "bottom-right".into(),
            color: "#0a5bd3".into(),
            privacy_url: String::new(),
            lang: "en".into(),
        }
    }
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

/// Checks and fills a site's look: position, `#rrggbb` colour, an http(s) privacy URL, and one of
/// the widget's languages (`Lang::ALL`).
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
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "language {l:?} must be one of {}",
                    crate::i18n::Lang::ALL.map(|l| l.code()).join(", ")
                ))
            })?
            .code()
            .into();
    }
    Ok(look)
}

/// A site key as kontor makes them (`site_` and 32 hex digits): it is printed into embed
/// snippets and HTML attributes, so one read from an archive must have exactly this form.
pub fn check_site_key(key: &str) -> Result<()> {
    let ok = key.strip_prefix("site_").is_some_and(|h| {
        h.len() == 32
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "site key {key:?} must be site_ and 32 hex digits"
        )))
    }
}
