//! Tenant slugs and names.

use crate::error::{Error, Result};
use crate::model::text;

/// A slug is 2-63 characters of `a-z`, `0-9` and `-`, starting with a letter or digit.
pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = (2..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "tenant slug {slug:?} must be 2-63 characters of a-z, 0-9 and '-', not starting with '-'"
        )))
    }
}

/// The longest name a visitor may give (chat, offline form, rectification).
pub const VISITOR_NAME_MAX: usize = 100;

/// A name (of a tenant, agent, department, rule, visitor …): 1-`max` characters, none that
/// acts on the text around it (control characters, bidi overrides and isolates, line
/// separators: [`text::is_unsafe`]); surrounding space trimmed.
pub fn clean_name(what: &str, name: &str, max: usize) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > max {
        return Err(Error::Invalid(format!("{what} must be 1-{max} characters")));
    }
    if name.chars().any(text::is_unsafe) {
        return Err(Error::Invalid(format!(
            "{what} must not contain control characters (newlines, escapes) or bidi overrides"
        )));
    }
    Ok(name.to_string())
}

/// A tenant id as kontor stores it: a hyphenated uuid in lower case. Upper case is accepted
/// and lowered, so a copy of an existing id in another case is the same tenant, never a
/// second one; other spellings (no hyphens, braces, `urn:`) are refused.
pub fn canonical_uuid(raw: &str) -> Result<String> {
    match uuid::Uuid::try_parse(raw) {
        Ok(u) if raw.len() == 36 => Ok(u.hyphenated().to_string()),
        _ => Err(Error::Invalid(format!(
            "tenant id {raw:?} must be a uuid like 0f8fad5b-d9cb-469f-a165-70867728950e"
        ))),
    }
}

/// A tenant as the admin socket and export manifests name it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TenantInfo {
    /// Stable id (kept across a move).
    pub uuid: String,
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl TenantInfo {
    /// The tenant as `tenant create` would take it (slug, name) with its id in canonical
    /// form: what an archive says about its tenant may have been crafted.
    pub fn checked(&self) -> Result<TenantInfo> {
        validate_slug(&self.slug)?;
        Ok(TenantInfo {
            uuid: canonical_uuid(&self.uuid)?,
            slug: self.slug.clone(),
            name: clean_name("tenant name", &self.name, 200)?,
            created_at: self.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["acme", "shop-24", "a1"] {
            validate_slug(ok).unwrap();
        }
        for bad in ["", "a", "Acme", "-x", "a b", "../x", "a_b", &"x".repeat(64)] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_reject_control_characters() {
        assert_eq!(
            clean_name("name", "  Acme GmbH ", 200).unwrap(),
            "Acme GmbH"
        );
        assert_eq!(
            clean_name("name", "Zoë عمر 李雷", 200).unwrap(),
            "Zoë عمر 李雷"
        );
        for bad in [
            "x\n admin login OK",
            "\u{1b}[31mred",
            "a\rb",
            "a\tb",
            "a\u{7f}b",
            "a\u{9b}b",
            "invoice\u{202e}fdp.exe",
            "a\u{2067}b",
            "a\u{2028}b",
            "   ",
        ] {
            assert!(clean_name("name", bad, 200).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn uuids_are_canonical() {
        let lower = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(canonical_uuid(lower).unwrap(), lower);
        assert_eq!(canonical_uuid(&lower.to_uppercase()).unwrap(), lower);
        for bad in [
            "0f8fad5bd9cb469fa16570867728950e",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            "../../etc/passwd",
            "",
        ] {
            assert!(canonical_uuid(bad).is_err(), "{bad}");
        }
    }
}
