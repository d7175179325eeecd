//! The online look-up as pure rules: what the business's system answered, turned into the
//! flat list of fields an agent sees, and every way a look-up can fail, in words. The call
//! itself is `domain::lookup`.

use serde::Serialize;

/// Pairs shown at most; an answer with more is shown cut off.
pub const MAX_PAIRS: usize = 50;
/// Longest key shown, in characters.
pub const MAX_KEY: usize = 100;
/// Longest value shown, in characters (nested values as compact JSON text).
pub const MAX_VALUE: usize = 500;
/// Longest value sent to the business's system, in characters.
pub const MAX_QUERY: usize = 500;

/// One field of the answer as shown: its key and its value as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    /// The answer's key.
    pub key: String,
    /// The value as text.
    pub value: String,
}

/// Why a look-up gave no fields: a stable code the dashboard words in the agent's language,
/// and the details in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// `not_configured`, `refused`, `unreachable`, `timeout`, `http_status`, `too_big`,
    /// `not_json`, `not_object`, `invalid_value`, `busy`.
    pub code: &'static str,
    /// What happened.
    pub message: String,
}

impl Failure {
    /// A failure with its code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: clip(&message.into(), MAX_VALUE),
        }
    }
}

/// `s` without control characters, at most `max` characters (an ellipsis marks a cut).
pub fn clip(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Checks a value before it is sent: trimmed, not empty, not too long, no control
/// characters.
pub fn query_value(raw: &str) -> Result<String, Failure> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(Failure::new(
            "invalid_value",
            "there is no value to look up",
        ));
    }
    if v.chars().count() > MAX_QUERY {
        return Err(Failure::new(
            "invalid_value",
            format!("the value is longer than {MAX_QUERY} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Failure::new(
            "invalid_value",
            "the value has control characters",
        ));
    }
    Ok(v.to_string())
}

/// The fields of an answer: the status must be 2xx, the body whole (not over the cap) and
/// a JSON object. Its keys in alphabetical order, nested values as compact JSON text, at
/// most [`MAX_PAIRS`]; the flag says whether pairs were left out.
pub fn read_answer(status: u16, body: &[u8], over_cap: bool) -> Result<(Vec<Pair>, bool), Failure> {
    if !(200..300).contains(&status) {
        return Err(Failure::new(
            "http_status",
            format!("the system answered with HTTP status {status}"),
        ));
    }
    if over_cap {
        return Err(Failure::new("too_big", "the answer is larger than 64 KiB"));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| Failure::new("not_json", "the answer is not JSON"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(Failure::new(
            "not_object",
            "the answer is JSON but not an object of fields",
        ));
    };
    let more = map.len() > MAX_PAIRS;
    let pairs = map
        .into_iter()
        .take(MAX_PAIRS)
        .map(|(k, v)| Pair {
            key: clip(&k, MAX_KEY),
            value: clip(
                &match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
                MAX_VALUE,
            ),
        })
        .collect();
    Ok((pairs, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_becomes_flat_pairs_in_key_order() {
        let body = br#"{"status":"shipped","order":{"id":7,"items":[1,2]},"paid":true,"n":null,"note":"a\nb"}"#;
        let (pairs, more) = read_answer(200, body, false).unwrap();
        assert!(!more);
        let got: Vec<(&str, &str)> = pairs
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("n", "null"),
                ("note", "a b"),
                ("order", r#"{"id":7,"items":[1,2]}"#),
                ("paid", "true"),
                ("status", "shipped"),
            ]
        );
    }

    #[test]
    fn long_values_and_many_keys_are_cut() {
        let long = "x".repeat(MAX_VALUE + 10);
        let mut map = serde_json::Map::new();
        map.insert("a_long".into(), long.into());
        for i in 0..MAX_PAIRS + 5 {
            map.insert(format!("k{i:03}"), i.into());
        }
        let body = serde_json::Value::Object(map).to_string();
        let (pairs, more) = read_answer(200, body.as_bytes(), false).unwrap();
        assert!(more);
        assert_eq!(pairs.len(), MAX_PAIRS);
        assert_eq!(pairs[0].value.chars().count(), MAX_VALUE);
        assert!(pairs[0].value.ends_with('…'));
    }

    #[test]
    fn bad_answers_fail_with_a_code() {
        let code = |status, body: &[u8], over| read_answer(status, body, over).unwrap_err().code;
        assert_eq!(code(500, b"{}", false), "http_status");
        assert_eq!(code(302, b"", false), "http_status");
        assert_eq!(code(200, b"{}", true), "too_big");
        assert_eq!(code(200, b"<html>", false), "not_json");
        assert_eq!(code(200, b"", false), "not_json");
        assert_eq!(code(200, b"[1,2]", false), "not_object");
        assert_eq!(code(200, b"\"text\"", false), "not_object");
    }

    #[test]
    fn values_to_look_up_are_checked() {
        assert_eq!(query_value("  AB-1234 ").unwrap(), "AB-1234");
        assert!(query_value(" ").is_err());
        assert!(query_value("a\u{0}b").is_err());
        assert!(query_value(&"x".repeat(MAX_QUERY + 1)).is_err());
    }
}
