//! Characters that can hide, reorder or forge text on a terminal or in a log line, and how
//! the CLI prints them harmlessly.

use std::borrow::Cow;

/// Whether `c` acts on the text around it instead of showing itself: C0 controls (ESC, CR,
/// LF, TAB, …), DEL, C1 controls (U+0080-U+009F), the bidi embeddings, overrides and isolates
/// (U+202A-U+202E, U+2066-U+2069), and the line and paragraph separators (U+2028, U+2029).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// `s` with every unsafe character written as its Rust escape (`\u{1b}`), so that stored
/// text prints as the visible characters of one line.
pub fn escape_unsafe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_are_escaped_and_the_rest_kept() {
        let cases = [
            ("", ""),
            ("Ann", "Ann"),
            ("Zoë Ünal, 李雷 عمر 🙂", "Zoë Ünal, 李雷 عمر 🙂"),
            (r"C:\path \u{1b}", r"C:\path \u{1b}"),
            ("\u{0}", r"\u{0}"),
            ("a\u{1b}[2K\rb", r"a\u{1b}[2K\u{d}b"),
            ("x\nadmin login success", r"x\u{a}admin login success"),
            ("a\tb", r"a\u{9}b"),
            ("\u{7}\u{8}\u{1f}", r"\u{7}\u{8}\u{1f}"),
            ("del\u{7f}", r"del\u{7f}"),
            (
                "\u{80}\u{85}\u{9b}31m\u{9f}",
                r"\u{80}\u{85}\u{9b}31m\u{9f}",
            ),
            ("\u{a0}\u{a9}", "\u{a0}\u{a9}"),
            ("invoice\u{202e}fdp.exe", r"invoice\u{202e}fdp.exe"),
            (
                "\u{202a}\u{202b}\u{202c}\u{202d}",
                r"\u{202a}\u{202b}\u{202c}\u{202d}",
            ),
            (
                "\u{2066}a\u{2067}b\u{2068}c\u{2069}",
                r"\u{2066}a\u{2067}b\u{2068}c\u{2069}",
            ),
            ("a\u{2028}b\u{2029}c", r"a\u{2028}b\u{2029}c"),
            ("\u{200e}\u{2029}\u{202f}", "\u{200e}\\u{2029}\u{202f}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(escape_unsafe(raw), shown, "{raw:?}");
            assert!(!escape_unsafe(raw).chars().any(is_unsafe), "{raw:?}");
        }
    }

    #[test]
    fn safe_text_is_not_copied() {
        assert!(matches!(escape_unsafe("plain text"), Cow::Borrowed(_)));
    }
}
