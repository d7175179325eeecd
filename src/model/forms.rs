//! A site's pre-chat form: the fields a visitor fills before the chat opens and the
//! departments offered, the checks of a definition an admin saves, and the checks of the
//! values a visitor sends with `start`. Pure: the form is stored by `store::site_forms`, the
//! values by `store::chat` with the conversation.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Fields a form may have at most.
pub const MAX_FIELDS: usize = 20;
/// Options a select may have at most.
pub const MAX_OPTIONS: usize = 50;
/// Departments a form may offer at most.
pub const MAX_DEPARTMENTS: usize = 50;
/// Longest label (field or option), in characters.
pub const MAX_LABEL: usize = 200;
/// Longest field name or option value.
pub const MAX_NAME: usize = 40;
/// Longest pattern, in characters.
pub const MAX_PATTERN: usize = 200;
/// Most memory a compiled pattern may take: a longer alternation is refused as too expensive.
pub const PATTERN_SIZE_LIMIT: usize = 64 * 1024;
/// Longest value of a text field; of a textarea, [`MAX_TEXTAREA`].
pub const MAX_TEXT: usize = 500;
/// Longest value of a textarea.
pub const MAX_TEXTAREA: usize = 4000;

/// The kinds of field a form may have.
pub const KINDS: [&str; 7] = [
    "text", "email", "phone", "number", "select", "checkbox", "textarea",
];

/// A choice of a select.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// What is sent and stored.
    pub value: String,
    /// German label.
    #[serde(default)]
    pub label_de: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
}

/// One field of the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Key of the value (`a-z`, `0-9`, `_`), unique in the form.
    pub name: String,
    /// One of [`KINDS`].
    pub kind: String,
    /// German label.
    #[serde(default)]
    pub label_de: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
    /// Must be filled (a checkbox: ticked).
    #[serde(default)]
    pub required: bool,
    /// Fewest characters; for a number the smallest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Most characters; for a number the largest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// A regular expression the whole value must match (text, phone, textarea).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The choices of a select.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// The value is looked up in the business's own system when the chat starts (the site's
    /// look-up URL); at most one field of a form, a text or a number.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lookup: bool,
}

/// A site's pre-chat form. The empty form asks nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// The fields, in the order shown.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// The departments the visitor may choose from (ids); none: no choice.
    #[serde(default)]
    pub departments: Vec<i64>,
}

/// A value as the widget sends it: text, a tick, or a number.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A checkbox.
    Flag(bool),
    /// A number field may send a number.
    Number(f64),
    /// Everything else.
    Text(String),
}

/// A value as it is stored with the conversation: with the labels it was asked with, so
/// that a later change of the form leaves the chat as it was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filled {
    /// The field's key.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// German label when asked.
    pub label_de: String,
    /// English label when asked.
    pub label_en: String,
    /// The value (a select: the option's value; a checkbox: `yes` or `no`).
    pub value: String,
    /// For a select: the option's labels (German, English); empty otherwise.
    pub option_de: String,
    /// See `option_de`.
    pub option_en: String,
}

fn invalid(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{field}: {msg}"))
}

fn check_label(field: &str, what: &str, label: &str) -> Result<String> {
    let label = label.trim();
    if label.chars().count() > MAX_LABEL {
        return Err(invalid(
            field,
            format!("{what} has more than {MAX_LABEL} characters"),
        ));
    }
    if label.chars().any(crate::model::text::is_unsafe) {
        return Err(invalid(field, format!("{what} has control characters")));
    }
    Ok(label.to_string())
}

/// Compiles a pattern anchored to the whole value, within the size limit.
pub fn compile(pattern: &str) -> std::result::Result<regex::Regex, String> {
    if pattern.chars().count() > MAX_PATTERN {
        return Err(format!("pattern has more than {MAX_PATTERN} characters"));
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "pattern is too expensive".to_string(),
            _ => "pattern is not a valid regular expression".to_string(),
        })
}

impl Field {
    fn check(self, seen: &mut BTreeSet<String>, i: usize) -> Result<Field> {
        let name = self.name.trim().to_string();
        let at = if name.is_empty() {
            format!("fields[{i}]")
        } else {
            format!("field {name}")
        };
        if name.is_empty() {
            return Err(invalid(&at, "name is empty"));
        }
        if name.len() > MAX_NAME
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(invalid(
                &at,
                format!("name must be 1-{MAX_NAME} characters of a-z, 0-9 and _"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(invalid(&at, "name is used twice"));
        }
        if !KINDS.contains(&self.kind.as_str()) {
            return Err(invalid(
                &at,
                format!("unknown kind {:?} (one of {})", self.kind, KINDS.join(", ")),
            ));
        }
        let label_de = check_label(&at, "label_de", &self.label_de)?;
        let label_en = check_label(&at, "label_en", &self.label_en)?;
        if label_de.is_empty() && label_en.is_empty() {
            return Err(invalid(&at, "give a label (label_de or label_en)"));
        }
        if let (Some(lo), Some(hi)) = (self.min, self.max)
            && lo > hi
        {
            return Err(invalid(&at, "min is larger than max"));
        }
        if self.kind != "number" && self.min.is_some_and(|m| m < 0) {
            return Err(invalid(&at, "min may not be negative"));
        }
        let pattern = match self.pattern.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => {
                if !matches!(self.kind.as_str(), "text" | "phone" | "textarea") {
                    return Err(invalid(&at, "only text, phone and textarea take a pattern"));
                }
                compile(p).map_err(|m| invalid(&at, m))?;
                Some(p.to_string())
            }
        };
        if self.lookup && !matches!(self.kind.as_str(), "text" | "number") {
            return Err(invalid(&at, "only a text or a number can be looked up"));
        }
        let mut options = Vec::new();
        if self.kind == "select" {
            if self.options.is_empty() {
                return Err(invalid(&at, "a select needs options"));
            }
            if self.options.len() > MAX_OPTIONS {
                return Err(invalid(&at, format!("at most {MAX_OPTIONS} options")));
            }
            let mut values = BTreeSet::new();
            for o in self.options {
                let value = o.value.trim().to_string();
                if value.is_empty() || value.chars().count() > MAX_NAME {
                    return Err(invalid(
                        &at,
                        format!("option values have 1-{MAX_NAME} characters"),
                    ));
                }
                if !values.insert(value.clone()) {
                    return Err(invalid(&at, format!("option {value:?} is given twice")));
                }
                let check_option = |what, l: &str| check_label(&at, what, l);
                options.push(Choice {
                    label_de: check_option("option label_de", &o.label_de)?,
                    label_en: check_option("option label_en", &o.label_en)?,
                    value,
                });
            }
        } else if !self.options.is_empty() {
            return Err(invalid(&at, "only a select has options"));
        }
        Ok(Field {
            name,
            label_de,
            label_en,
            pattern,
            options,
            ..self
        })
    }

    /// The most characters a value may have.
    fn max_chars(&self) -> usize {
        let cap = if self.kind == "textarea" {
            MAX_TEXTAREA
        } else {
            MAX_TEXT
        };
        self.max.map_or(cap, |m| (m.max(0) as usize).min(cap))
    }

    /// The value as stored, or why it is refused (in English; the widget shows its own text
    /// per code).
    fn value_of(&self, given: Option<&Value>) -> std::result::Result<Option<Filled>, String> {
        let text = match given {
            None => String::new(),
            Some(Value::Text(t)) => t.trim().to_string(),
            Some(Value::Number(n)) if self.kind == "number" => n.to_string(),
            Some(Value::Flag(b)) if self.kind == "checkbox" => {
                if *b {
                    "yes".into()
                } else {
                    String::new()
                }
            }
            Some(_) => return Err("wrong type".into()),
        };
        if text.is_empty() {
            return if self.required {
                Err("required".into())
            } else {
                Ok(None)
            };
        }
        let mut option = (String::new(), String::new());
        match self.kind.as_str() {
            "checkbox" if text != "yes" && text != "true" => return Err("wrong type".into()),
            "number" => {
                let n: f64 = text.parse().map_err(|_| "not a number".to_string())?;
                if !n.is_finite() {
                    return Err("not a number".into());
                }
                if self.min.is_some_and(|m| n < m as f64) || self.max.is_some_and(|m| n > m as f64)
                {
                    return Err("out of range".into());
                }
            }
            "select" => {
                let Some(o) = self.options.iter().find(|o| o.value == text) else {
                    return Err("not one of the options".into());
                };
                option = (o.label_de.clone(), o.label_en.clone());
            }
            "email" => {
                let ok = text.len() <= 254
                    && text.split_once('@').is_some_and(|(l, d)| {
                        !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
                    })
                    && !text.chars().any(|c| c.is_whitespace() || c.is_control());
                if !ok {
                    return Err("not an email address".into());
                }
            }
            "phone" => {
                let ok = text
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-/().".contains(c))
                    && text.chars().filter(char::is_ascii_digit).count() >= 3;
                if !ok {
                    return Err("not a phone number".into());
                }
            }
            _ => {}
        }
        let n = text.chars().count();
        if self.kind != "number" && self.kind != "checkbox" {
            if n > self.max_chars() {
                return Err(format!("at most {} characters", self.max_chars()));
            }
            if self.min.is_some_and(|m| n < m.max(0) as usize) {
                return Err(format!("at least {} characters", self.min.unwrap_or(0)));
            }
            let control = |c: char| c.is_control() && !(self.kind == "textarea" && c == '\n');
            if text.chars().any(control) {
                return Err("control characters".into());
            }
        }
        if let Some(p) = &self.pattern {
            // Checked when saved; a pattern that no longer compiles refuses nothing.
            if let Ok(re) = compile(p)
                && !re.is_match(&text)
            {
                return Err("does not match the expected format".into());
            }
        }
        let value = if self.kind == "checkbox" {
            "yes".into()
        } else {
            text
        };
        Ok(Some(Filled {
            name: self.name.clone(),
            kind: self.kind.clone(),
            label_de: self.label_de.clone(),
            label_en: self.label_en.clone(),
            value,
            option_de: option.0,
            option_en: option.1,
        }))
    }
}

impl Form {
    /// The form as it may be saved, or the first problem, naming its field.
    pub fn checked(self) -> Result<Form> {
        if self.fields.len() > MAX_FIELDS {
            return Err(Error::Invalid(format!(
                "fields: at most {MAX_FIELDS} fields"
            )));
        }
        let mut seen = BTreeSet::new();
        let fields = self
            .fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| f.check(&mut seen, i))
            .collect::<Result<Vec<_>>>()?;
        if let Some(second) = fields.iter().filter(|f| f.lookup).nth(1) {
            return Err(invalid(
                &format!("field {}", second.name),
                "only one field of a form can be looked up",
            ));
        }
        if self.departments.len() > MAX_DEPARTMENTS {
            return Err(Error::Invalid(format!(
                "departments: at most {MAX_DEPARTMENTS}"
            )));
        }
        let mut departments = Vec::new();
        for d in self.departments {
            if !departments.contains(&d) {
                departments.push(d);
            }
        }
        Ok(Form {
            fields,
            departments,
        })
    }

    /// The field whose value is looked up, if one is marked.
    pub fn lookup_field(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.lookup)
    }

    /// Whether the form asks nothing.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.departments.is_empty()
    }

    /// Checks a visitor's values: what to store (filled fields in the form's order), or a
    /// message per refused field. Values of fields the form does not have are refused too:
    /// the widget showed an older form, and the visitor should see the current one.
    pub fn check_values(
        &self,
        given: &BTreeMap<String, Value>,
    ) -> std::result::Result<Vec<Filled>, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let mut out = Vec::new();
        for f in &self.fields {
            match f.value_of(given.get(&f.name)) {
                Ok(Some(v)) => out.push(v),
                Ok(None) => {}
                Err(m) => {
                    errors.insert(f.name.clone(), m);
                }
            }
        }
        for name in given.keys() {
            if !self.fields.iter().any(|f| &f.name == name) {
                let name: String = name.chars().take(MAX_NAME).collect();
                errors.insert(name, "no such field".into());
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: &str) -> Field {
        Field {
            name: name.into(),
            kind: kind.into(),
            label_de: "Feld".into(),
            label_en: "Field".into(),
            required: false,
            min: None,
            max: None,
            pattern: None,
            options: vec![],
            lookup: false,
        }
    }

    fn refused(fields: Vec<Field>) -> String {
        Form {
            fields,
            departments: vec![],
        }
        .checked()
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn definitions_are_checked_naming_the_field() {
        let e = refused(vec![field("order", "text"), field("order", "email")]);
        assert!(e.contains("field order") && e.contains("twice"), "{e}");
        let e = refused(vec![field("a", "text"), field(" ", "text")]);
        assert!(e.contains("fields[1]") && e.contains("empty"), "{e}");
        let e = refused(vec![field("topic", "select")]);
        assert!(e.contains("field topic") && e.contains("options"), "{e}");
        let e = refused(vec![field("size", "colour")]);
        assert!(
            e.contains("field size") && e.contains("unknown kind"),
            "{e}"
        );
        let mut p = field("code", "text");
        p.pattern = Some("(".into());
        let e = refused(vec![p.clone()]);
        assert!(e.contains("field code") && e.contains("not a valid"), "{e}");
        p.pattern = Some("(a|b|c|d|e){1000}{1000}".into());
        let e = refused(vec![p.clone()]);
        assert!(
            e.contains("field code") && e.contains("too expensive"),
            "{e}"
        );
        p.pattern = Some("a".repeat(MAX_PATTERN + 1));
        assert!(refused(vec![p]).contains("more than"));
        let many = (0..=MAX_FIELDS)
            .map(|i| field(&format!("f{i}"), "text"))
            .collect();
        assert!(refused(many).contains("at most 20"));
        let mut long = field("note", "text");
        long.label_en = "x".repeat(MAX_LABEL + 1);
        let e = refused(vec![long]);
        assert!(e.contains("field note") && e.contains("label_en"), "{e}");
        let mut upper = field("Order", "text");
        upper.label_de.clear();
        assert!(refused(vec![upper]).contains("field Order"));
    }

    #[test]
    fn one_text_or_number_field_may_be_looked_up() {
        let mut order = field("order", "text");
        order.lookup = true;
        let mut customer = field("customer", "number");
        customer.lookup = true;
        let e = refused(vec![order.clone(), customer.clone()]);
        assert!(
            e.contains("field customer") && e.contains("only one"),
            "{e}"
        );
        let mut mail = field("mail", "email");
        mail.lookup = true;
        let e = refused(vec![mail]);
        assert!(
            e.contains("field mail") && e.contains("text or a number"),
            "{e}"
        );
        let form = Form {
            fields: vec![field("name", "text"), order],
            departments: vec![],
        }
        .checked()
        .unwrap();
        assert_eq!(form.lookup_field().map(|f| f.name.as_str()), Some("order"));
        // The flag is left out of the stored definition when it is not set.
        let json = serde_json::to_string(&form).unwrap();
        assert_eq!(json.matches("lookup").count(), 1, "{json}");
    }

    #[test]
    fn a_good_form_passes_and_values_are_checked() {
        let mut order = field("order", "text");
        order.required = true;
        order.pattern = Some("[A-Z]{2}-[0-9]{4}".into());
        let mut topic = field("topic", "select");
        topic.options = vec![Choice {
            value: "billing".into(),
            label_de: "Rechnung".into(),
            label_en: "Billing".into(),
        }];
        let mut age = field("age", "number");
        age.min = Some(18);
        age.max = Some(120);
        let form = Form {
            fields: vec![
                order,
                topic,
                age,
                field("ok", "checkbox"),
                field("mail", "email"),
            ],
            departments: vec![3, 3, 4],
        }
        .checked()
        .unwrap();
        assert_eq!(form.departments, vec![3, 4]);
        let given = |pairs: &[(&str, Value)]| -> BTreeMap<String, Value> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let ok = form
            .check_values(&given(&[
                ("order", Value::Text("AB-1234".into())),
                ("topic", Value::Text("billing".into())),
                ("age", Value::Number(30.0)),
                ("ok", Value::Flag(true)),
            ]))
            .unwrap();
        assert_eq!(ok.len(), 4);
        assert_eq!(ok[1].option_en, "Billing");
        assert_eq!(ok[3].value, "yes");
        let errs = form
            .check_values(&given(&[
                ("topic", Value::Text("other".into())),
                ("age", Value::Text("12".into())),
                ("mail", Value::Text("nope".into())),
                ("extra", Value::Text("x".into())),
            ]))
            .unwrap_err();
        assert_eq!(
            errs.keys().collect::<Vec<_>>(),
            ["age", "extra", "mail", "order", "topic"]
        );
        assert_eq!(errs["order"], "required");
        let errs = form
            .check_values(&given(&[("order", Value::Text("ab-1234".into()))]))
            .unwrap_err();
        assert!(errs["order"].contains("format"));
    }
}
