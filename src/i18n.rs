//! UI strings: one catalog per language (`assets/i18n/<lang>.json`), and the small template
//! renderer that fills `{{name}}` placeholders with HTML-escaped values.
//!
//! The visitor-facing widget and chat frame speak all of [`Lang::ALL`]; the dashboard and the
//! sign-in pages only [`Lang::DASHBOARD`] (their catalogs exist in those two languages only).

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English (the fallback).
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Italian.
    It,
    /// Dutch.
    Nl,
    /// Polish.
    Pl,
}

impl Lang {
    /// Every language of the widget and the chat frame (in the order of the discriminants).
    pub const ALL: [Lang; 7] = [
        Lang::En,
        Lang::De,
        Lang::Fr,
        Lang::Es,
        Lang::It,
        Lang::Nl,
        Lang::Pl,
    ];

    /// The languages of the dashboard and the sign-in pages.
    pub const DASHBOARD: [Lang; 2] = [Lang::En, Lang::De];

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::It => "it",
            Lang::Nl => "nl",
            Lang::Pl => "pl",
        }
    }

    /// Parses a code such as `de`, `fr-BE` or `EN` into a widget language.
    pub fn parse(code: &str) -> Option<Lang> {
        Lang::parse_in(code, &Lang::ALL)
    }

    /// Parses a code into a dashboard language (`en` or `de`); `fr` gives `None`.
    pub fn parse_dashboard(code: &str) -> Option<Lang> {
        Lang::parse_in(code, &Lang::DASHBOARD)
    }

    fn parse_in(code: &str, among: &[Lang]) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        among.iter().copied().find(|l| l.code() == primary)
    }

    /// The best dashboard language of an `Accept-Language` header (by q-value), else English:
    /// a French browser gets the English dashboard, not a half-translated one.
    pub fn from_accept_language(header: &str) -> Lang {
        Lang::best_accepted(header, &Lang::DASHBOARD).unwrap_or(Lang::En)
    }

    /// The best widget language of an `Accept-Language` header (by q-value), if it names one:
    /// the browser's own order, so the loader need not work it out.
    pub fn widget_from_accept_language(header: &str) -> Option<Lang> {
        Lang::best_accepted(header, &Lang::ALL)
    }

    fn best_accepted(header: &str, among: &[Lang]) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse_in(tag, among)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// The keys of the main catalog (`i18n/<lang>.json`) that visitors see; the rest of it is the
/// dashboard's and the sign-in pages' and exists in their two languages only.
pub const WIDGET_KEYS: &[&str] = &["invite.default"];

fn catalog(lang: Lang) -> &'static HashMap<String, String> {
    static CATALOGS: OnceLock<[HashMap<String, String>; Lang::ALL.len()]> = OnceLock::new();
    let all = CATALOGS.get_or_init(|| {
        Lang::ALL.map(|l| {
            // `i18n/<lang>.json` plus every area's `i18n/<area>.<lang>.json`, merged.
            let suffix = format!(".{}.json", l.code());
            let whole = format!("i18n/{}.json", l.code());
            let mut merged = HashMap::new();
            for file in crate::assets::Assets::iter() {
                if file == whole.as_str() || (file.starts_with("i18n/") && file.ends_with(&suffix))
                {
                    let raw = crate::assets::get(&file).unwrap_or_default();
                    let part: HashMap<String, String> =
                        serde_json::from_slice(&raw).unwrap_or_default();
                    merged.extend(part);
                }
            }
            merged
        })
    });
    &all[lang as usize]
}

/// The string for `key`, falling back to English; empty (and logged) for an unknown key.
pub fn t(lang: Lang, key: &str) -> &'static str {
    match catalog(lang)
        .get(key)
        .or_else(|| catalog(Lang::En).get(key))
    {
        Some(s) => s.as_str(),
        None => {
            tracing::warn!(key, "missing UI string");
            ""
        }
    }
}

/// A text the business wrote itself (stored in German and English only), for a visitor in
/// `lang`: in that language if the business wrote it, else in the site's default language if
/// written, else English, else German.
pub fn business_text<'a>(lang: Lang, site_lang: &str, de: &'a str, en: &'a str) -> &'a str {
    let written = |l: Lang| {
        match l {
            Lang::De => Some(de),
            Lang::En => Some(en),
            _ => None,
        }
        .filter(|t| !t.trim().is_empty())
    };
    let default = Lang::parse(site_lang).unwrap_or(Lang::En);
    [lang, default, Lang::En, Lang::De]
        .into_iter()
        .find_map(written)
        .unwrap_or("")
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `/static/v/<version>`: the versioned prefix of the embedded static files.
pub fn static_prefix() -> &'static str {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| format!("/static/v/{}", crate::assets::version()))
}

/// Renders `assets/templates/<name>`: `{{t:key}}` becomes the catalog string, `{{var}}` the
/// value from `vars`. Every value is escaped; a template cannot evaluate anything.
pub fn render(name: &str, lang: Lang, vars: &[(&str, &str)]) -> String {
    let raw = crate::assets::get(&format!("templates/{name}")).unwrap_or_default();
    let src = String::from_utf8_lossy(&raw);
    let mut out = String::with_capacity(src.len() + 256);
    let mut rest: &str = &src;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        let value = match name.strip_prefix("t:") {
            Some(key) => t(lang, key),
            None => match name {
                "lang" => lang.code(),
                // Where the pages' scripts and styles are: a year-long cache, new per build.
                "static" => static_prefix(),
                _ => vars
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| *v)
                    .unwrap_or(""),
            },
        };
        out.push_str(&escape_html(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn accept_language_picks_best_supported() {
        assert_eq!(
            Lang::from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
            Lang::De
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR,en;q=0.5,de;q=0.7"),
            Lang::De
        );
        assert_eq!(Lang::from_accept_language("fr"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn the_widget_takes_the_browsers_first_language_it_speaks() {
        let w = Lang::widget_from_accept_language;
        assert_eq!(w("pt-PT,pt;q=0.9,fr;q=0.8,de;q=0.7"), Some(Lang::Fr));
        assert_eq!(w("nl-BE"), Some(Lang::Nl));
        assert_eq!(w("pt-PT,pt;q=0.9"), None);
        assert_eq!(w("it;q=0,es;q=0.1"), Some(Lang::Es), "q=0 is a refusal");
        assert_eq!(w(""), None);
    }

    #[test]
    fn business_texts_fall_back_in_the_documented_order() {
        // The visitor's language when written.
        assert_eq!(business_text(Lang::De, "en", "Hallo", "Hello"), "Hallo");
        assert_eq!(business_text(Lang::En, "de", "Hallo", "Hello"), "Hello");
        // Else the site's default language when written.
        assert_eq!(business_text(Lang::Fr, "de", "Hallo", "Hello"), "Hallo");
        assert_eq!(business_text(Lang::Pl, "en", "Hallo", "Hello"), "Hello");
        // Else English, else German.
        assert_eq!(business_text(Lang::Fr, "it", "Hallo", "Hello"), "Hello");
        assert_eq!(business_text(Lang::Fr, "it", "Hallo", ""), "Hallo");
        assert_eq!(business_text(Lang::En, "en", "Hallo", " "), "Hallo");
    }

    #[test]
    fn catalogs_have_the_same_keys() {
        let en: std::collections::BTreeSet<_> = catalog(Lang::En).keys().collect();
        let de: std::collections::BTreeSet<_> = catalog(Lang::De).keys().collect();
        assert!(!en.is_empty());
        assert_eq!(en, de, "en and de catalogs must define the same keys");
    }

    #[test]
    fn all_is_in_discriminant_order() {
        for (i, l) in Lang::ALL.into_iter().enumerate() {
            assert_eq!(l as usize, i, "{l:?}");
        }
    }

    #[test]
    fn dashboard_stays_english_and_german() {
        assert_eq!(Lang::parse("fr-BE"), Some(Lang::Fr));
        assert_eq!(Lang::parse("PL"), Some(Lang::Pl));
        assert_eq!(Lang::parse("pt"), None);
        assert_eq!(Lang::parse_dashboard("fr"), None);
        assert_eq!(Lang::parse_dashboard("de-AT"), Some(Lang::De));
        assert_eq!(Lang::from_accept_language("fr-FR,fr;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("nl,de;q=0.5"), Lang::De);
    }

    /// One catalog file, as a map.
    fn file(name: &str) -> BTreeMap<String, String> {
        let raw = crate::assets::get(&format!("i18n/{name}"))
            .unwrap_or_else(|| panic!("missing catalog {name}"));
        serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The `{name}` placeholders of a string.
    fn placeholders(s: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            rest = &rest[i + 1..];
            if let Some(j) = rest.find('}') {
                out.insert(rest[..j].to_string());
                rest = &rest[j + 1..];
            }
        }
        out
    }

    /// What a visitor can see: the widget and transcript catalogs whole, and the keys of the
    /// main catalog that the widget shows.
    #[test]
    fn widget_catalogs_are_complete_in_every_language() {
        let areas = ["widget", "transcript"];
        for l in Lang::ALL {
            for area in areas {
                let en = file(&format!("{area}.en.json"));
                let other = file(&format!("{area}.{}.json", l.code()));
                let ek: BTreeSet<_> = en.keys().collect();
                let ok: BTreeSet<_> = other.keys().collect();
                assert_eq!(
                    ek,
                    ok,
                    "{area}.{}.json must have the keys of {area}.en.json",
                    l.code()
                );
                for (k, v) in &en {
                    assert_eq!(
                        placeholders(v),
                        placeholders(&other[k]),
                        "{area}.{}.json {k}: placeholders",
                        l.code()
                    );
                    assert!(
                        !other[k].trim().is_empty(),
                        "{area}.{}.json {k} is empty",
                        l.code()
                    );
                }
            }
            let en = file("en.json");
            let main = file(&format!("{}.json", l.code()));
            for k in WIDGET_KEYS {
                let v = main
                    .get(*k)
                    .unwrap_or_else(|| panic!("{}.json lacks {k}", l.code()));
                assert_eq!(
                    placeholders(&en[*k]),
                    placeholders(v),
                    "{}.json {k}",
                    l.code()
                );
            }
        }
    }

    #[test]
    fn rendered_values_are_escaped() {
        let html = render(
            "login.html",
            Lang::De,
            &[("tenant", "\"><img src=x onerror=alert(1)>")],
        );
        assert!(html.contains("Mandant"));
        assert!(!html.contains("<img src=x"));
        assert!(html.contains("&quot;&gt;&lt;img"));
    }
}
