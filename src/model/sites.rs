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

/// The words a site's widget shows, written by the business in German and English, and
/// whether visitors see the agents' display names. Empty texts mean kontor's own wording.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SiteWords {
    /// The chat button's label (its accessible name and tooltip).
    pub launcher_label_de: String,
    /// The chat button's label in English.
    pub launcher_label_en: String,
    /// The heading of the open chat.
    pub title_de: String,
    /// The heading of the open chat in English.
    pub title_en: String,
    /// Shown above the start form.
    pub greeting_de: String,
    /// Shown above the start form, in English.
    pub greeting_en: String,
    /// Shown on the form for a message while nobody is online.
    pub offline_de: String,
    /// Shown on the offline form, in English.
    pub offline_en: String,
    /// Whether visitors see the agent's display name (else the widget's word for an agent).
    pub show_agent_names: bool,
}

impl Default for SiteWords {
    fn default() -> Self {
        SiteWords {
            launcher_label_de: String::new(),
            launcher_label_en: String::new(),
            title_de: String::new(),
            title_en: String::new(),
            greeting_de: String::new(),
            greeting_en: String::new(),
            offline_de: String::new(),
            offline_en: String::new(),
            show_agent_names: true,
        }
    }
}

/// Longest launcher label, in characters.
pub const LAUNCHER_LABEL_MAX: usize = 40;
/// Longest chat heading, in characters.
pub const TITLE_MAX: usize = 60;
/// Longest greeting or offline text, in characters.
pub const GREETING_MAX: usize = 300;

impl SiteWords {
    /// Each text with its field name and limit.
    pub fn fields_mut(&mut self) -> [(&'static str, &mut String, usize); 8] {
        [
            (
                "launcher_label_de",
                &mut self.launcher_label_de,
                LAUNCHER_LABEL_MAX,
            ),
            (
                "launcher_label_en",
                &mut self.launcher_label_en,
                LAUNCHER_LABEL_MAX,
            ),
            ("title_de", &mut self.title_de, TITLE_MAX),
            ("title_en", &mut self.title_en, TITLE_MAX),
            ("greeting_de", &mut self.greeting_de, GREETING_MAX),
            ("greeting_en", &mut self.greeting_en, GREETING_MAX),
            ("offline_de", &mut self.offline_de, GREETING_MAX),
            ("offline_en", &mut self.offline_en, GREETING_MAX),
        ]
    }

    /// Trims every text and refuses one over its limit or with control or bidi characters.
    pub fn clean(mut self) -> Result<SiteWords> {
        for (name, text, max) in self.fields_mut() {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                text.clear();
                continue;
            }
            if trimmed.chars().count() > max {
                return Err(Error::Invalid(format!(
                    "{name} must be at most {max} characters"
                )));
            }
            *text = crate::model::tenants::clean_name(name, trimmed, max)?;
        }
        Ok(self)
    }
}

/// The relative luminance of `#rrggbb` (WCAG 2).
fn luminance(color: &str) -> f64 {
    let lin = |i: usize| {
        let v = f64::from(u8::from_str_radix(&color[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(1) + 0.7152 * lin(3) + 0.0722 * lin(5)
}

/// The text colour the widget puts on `color` (`#rrggbb`), white or near-black, whichever
/// contrasts more (as the loader and the chat frame choose it), and the contrast ratio.
pub fn text_on(color: &str) -> (&'static str, f64) {
    let y = luminance(color);
    let (white, black) = (1.05 / (y + 0.05), (y + 0.05) / 0.05);
    if white >= black {
        ("#ffffff", white)
    } else {
        ("#111111", (y + 0.05) / (luminance("#111111") + 0.05))
    }
}

/// WCAG AA for normal text.
pub const MIN_CONTRAST: f64 = 4.5;

/// Refuses a colour on which the widget's text would be hard to read (below 4.5:1).
pub fn check_contrast(color: &str) -> Result<()> {
    let (fg, ratio) = text_on(color);
    if ratio < MIN_CONTRAST {
        let on = if fg == "#ffffff" { "white" } else { "black" };
        return Err(Error::Invalid(format!(
            "color {color}: {on} text on it has a contrast of only {:.1}:1; choose a darker or \
             lighter colour (at least 4.5:1)",
            (ratio * 10.0).floor() / 10.0
        )));
    }
    Ok(())
}

#[cfg(test)]
mod look_tests {
    use super::*;

    #[test]
    fn contrast_is_checked_against_the_chosen_text_colour() {
        assert!(check_contrast("#0a5bd3").is_ok());
        assert!(check_contrast("#ffffff").is_ok());
        assert!(check_contrast("#000000").is_ok());
        assert!(check_contrast("#ff0000").is_ok());
        let e = check_contrast("#777777").unwrap_err().to_string();
        assert!(e.contains("4.5:1"), "{e}");
    }

    #[test]
    fn words_are_limited_and_plain() {
        let w = SiteWords {
            greeting_de: "  Hallo!  ".into(),
            ..SiteWords::default()
        };
        assert_eq!(w.clean().unwrap().greeting_de, "Hallo!");
        let long = SiteWords {
            greeting_en: "x".repeat(GREETING_MAX + 1),
            ..SiteWords::default()
        };
        assert!(long.clean().is_err());
        let bidi = SiteWords {
            title_de: "a\u{202e}b".into(),
            ..SiteWords::default()
        };
        assert!(bidi.clean().is_err());
    }
}
