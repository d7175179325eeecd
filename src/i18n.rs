//! UI strings: one catalog per language (`assets/i18n/<lang>.json`), and the small template
//! renderer that fills `{{name}}` placeholders with HTML-escaped values.

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
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// Parses a code such as `de`, `de-AT` or `EN`.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The best supported language of an `Accept-Language` header (by q-value), else English.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::En)
    }
}

fn catalog(lang: Lang) -> &'static HashMap<String, String> {
    static CATALOGS: OnceLock<[HashMap<String, String>; 2]> = OnceLock::new();
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
    fn catalogs_have_the_same_keys() {
        let en: std::collections::BTreeSet<_> = catalog(Lang::En).keys().collect();
        let de: std::collections::BTreeSet<_> = catalog(Lang::De).keys().collect();
        assert!(!en.is_empty());
        assert_eq!(en, de, "en and de catalogs must define the same keys");
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
