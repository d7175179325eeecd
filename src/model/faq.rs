//! A site's questions and answers (FAQ) and their limits: plain text in German and English,
//! shown by the chat frame before a chat starts. Checked here before anything is stored.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Most entries one site may have.
pub const MAX_ENTRIES: usize = 100;
/// Longest question, in characters (each language).
pub const MAX_QUESTION_CHARS: usize = 200;
/// Longest answer, in characters (each language).
pub const MAX_ANSWER_CHARS: usize = 2000;

/// One entry as the dashboard sends it (`position` orders the list; lower first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// German question.
    #[serde(default)]
    pub question_de: String,
    /// German answer.
    #[serde(default)]
    pub answer_de: String,
    /// English question.
    #[serde(default)]
    pub question_en: String,
    /// English answer.
    #[serde(default)]
    pub answer_en: String,
    /// Place in the list.
    #[serde(default)]
    pub position: i64,
}

/// Whether a character may not be in a plain-text entry: those that act on the text around
/// them (`model::text`), except the line breaks and tabs an answer may have.
fn bad_char(c: char) -> bool {
    super::text::is_unsafe(c) && c != '\n' && c != '\t'
}

fn check_text(field: &str, text: &str, max: usize, one_line: bool) -> Result<String> {
    let text = text.trim().replace("\r\n", "\n");
    let n = text.chars().count();
    if n > max {
        return Err(Error::Invalid(format!(
            "{field}: at most {max} characters (this one has {n})"
        )));
    }
    if text.chars().any(bad_char) || (one_line && text.contains(['\n', '\t'])) {
        return Err(Error::Invalid(format!(
            "{field}: control characters are not allowed"
        )));
    }
    Ok(text)
}

impl Entry {
    /// The entry trimmed and checked: each language's question at most
    /// [`MAX_QUESTION_CHARS`], its answer at most [`MAX_ANSWER_CHARS`], a question only with
    /// its answer and the other way round, and at least one language written. A refusal names
    /// the field first (`answer_de: at most 2000 characters …`).
    pub fn checked(self) -> Result<Entry> {
        let e = Entry {
            question_de: check_text("question_de", &self.question_de, MAX_QUESTION_CHARS, true)?,
            answer_de: check_text("answer_de", &self.answer_de, MAX_ANSWER_CHARS, false)?,
            question_en: check_text("question_en", &self.question_en, MAX_QUESTION_CHARS, true)?,
            answer_en: check_text("answer_en", &self.answer_en, MAX_ANSWER_CHARS, false)?,
            position: self.position.clamp(0, 1_000_000),
        };
        for l in ["de", "en"] {
            let (q, a) = match l {
                "de" => (&e.question_de, &e.answer_de),
                _ => (&e.question_en, &e.answer_en),
            };
            if q.is_empty() != a.is_empty() {
                let missing = if q.is_empty() { "question" } else { "answer" };
                return Err(Error::Invalid(format!(
                    "{missing}_{l}: a question needs its answer in the same language"
                )));
            }
        }
        if e.question_de.is_empty() && e.question_en.is_empty() {
            return Err(Error::Invalid(
                "question_en: write the question and answer in German, English or both".into(),
            ));
        }
        Ok(e)
    }

    /// The question and answer in the visitor's language: German for `de`, else English;
    /// the other language when that one is empty.
    pub fn pick(&self, german: bool) -> (&str, &str) {
        let de = (self.question_de.as_str(), self.answer_de.as_str());
        let en = (self.question_en.as_str(), self.answer_en.as_str());
        match (german, de.0.is_empty(), en.0.is_empty()) {
            (true, false, _) | (false, false, true) => de,
            _ => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(qde: &str, ade: &str, qen: &str, aen: &str) -> Entry {
        Entry {
            question_de: qde.into(),
            answer_de: ade.into(),
            question_en: qen.into(),
            answer_en: aen.into(),
            position: 0,
        }
    }

    #[test]
    fn an_entry_needs_one_language_with_question_and_answer() {
        assert!(entry("Wie?", "So.", "", "").checked().is_ok());
        assert!(entry("", "", "How?", "Like so.").checked().is_ok());
        assert!(entry("", "", "", "").checked().is_err());
        let e = entry("Wie?", "", "", "").checked().unwrap_err();
        assert!(e.to_string().starts_with("answer_de:"), "{e}");
    }

    #[test]
    fn limits_are_in_characters_and_name_the_field() {
        let long = "ä".repeat(MAX_ANSWER_CHARS);
        assert!(entry("Q", &long, "", "").checked().is_ok());
        let e = entry("Q", &format!("{long}x"), "", "")
            .checked()
            .unwrap_err();
        assert!(e.to_string().starts_with("answer_de: at most 2000"), "{e}");
        let e = entry("", "", &"q".repeat(201), "a").checked().unwrap_err();
        assert!(e.to_string().starts_with("question_en:"), "{e}");
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_in_answers_kept() {
        assert!(entry("Q\u{1b}[31m", "a", "", "").checked().is_err());
        assert!(entry("Q", "a\u{202e}b", "", "").checked().is_err());
        assert!(entry("Q\nR", "a", "", "").checked().is_err());
        let e = entry("Q", "line 1\r\nline 2", "", "").checked().unwrap();
        assert_eq!(e.answer_de, "line 1\nline 2");
    }

    #[test]
    fn the_visitors_language_falls_back_to_the_other() {
        let both = entry("Frage", "Antwort", "Question", "Answer");
        assert_eq!(both.pick(true), ("Frage", "Antwort"));
        assert_eq!(both.pick(false), ("Question", "Answer"));
        let de = entry("Frage", "Antwort", "", "");
        assert_eq!(de.pick(false), ("Frage", "Antwort"));
        let en = entry("", "", "Question", "Answer");
        assert_eq!(en.pick(true), ("Question", "Answer"));
    }
}
