//! Versioned privacy notices: the text a visitor agrees to at the chat opt-in, per site, in
//! German and English. Version 1 is kontor's built-in text; each new notice of a site gets the
//! next number and is never changed, so the version stored with a consent always says exactly
//! which words were shown.

use super::rows;
use crate::clock::now;
use crate::error::{Error, Result};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

/// One version of a site's notice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Notice {
    /// 2, 3, … (1 is the built-in text).
    pub version: i64,
    /// German text.
    pub text_de: String,
    /// English text.
    pub text_en: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Who wrote it.
    pub created_by: String,
}

fn clean(text: &str, what: &str) -> Result<String> {
    let t = text.trim().replace("\r\n", "\n");
    let n = t.chars().count();
    if !(20..=4000).contains(&n) || t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::Invalid(format!(
            "{what}: 20 to 4000 characters of text"
        )));
    }
    Ok(t)
}

impl Notice {
    /// The notice as `create` would have stored it: one read from an archive may have been
    /// crafted.
    pub fn checked(&self) -> Result<Notice> {
        if self.version < 2 {
            return Err(Error::Invalid(format!(
                "notice version {} must be 2 or more",
                self.version
            )));
        }
        Ok(Notice {
            version: self.version,
            text_de: clean(&self.text_de, "German text")?,
            text_en: clean(&self.text_en, "English text")?,
            created_at: self.created_at,
            created_by: crate::model::tenants::clean_name("notice author", &self.created_by, 320)?,
        })
    }
}

/// Adds the next version of the site's notice; returns it.
pub fn create(c: &Connection, site_key: &str, de: &str, en: &str, by: &str) -> Result<Notice> {
    let (text_de, text_en) = (clean(de, "German text")?, clean(en, "English text")?);
    let version: i64 = c.query_row(
        "SELECT coalesce(max(version), 1) + 1 FROM privacy_notices WHERE site_key = ?1",
        [site_key],
        |r| r.get(0),
    )?;
    let at = now();
    c.execute(
        "INSERT INTO privacy_notices (site_key, version, text_de, text_en, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![site_key, version, text_de, text_en, at, by],
    )?;
    Ok(Notice {
        version,
        text_de,
        text_en,
        created_at: at,
        created_by: by.into(),
    })
}

/// Every version of the site's own notices, newest first.
pub fn list(c: &Connection, site_key: &str) -> Result<Vec<Notice>> {
    rows::all(
        c,
        "SELECT version, text_de, text_en, created_at, created_by FROM privacy_notices
         WHERE site_key = ?1 ORDER BY version DESC",
        [site_key],
        |r| Ok(from_row!(r => Notice { version, text_de, text_en, created_at, created_by })),
    )
}

/// The notice shown now: the site's newest, if it has one.
pub fn current(c: &Connection, site_key: &str) -> Result<Option<Notice>> {
    Ok(list(c, site_key)?.into_iter().next())
}

/// Consents per notice version in a tenant's chats of this site (`"1+preview"` counts for 1).
pub fn consents(c: &Connection, site_key: &str) -> Result<Vec<(i64, i64)>> {
    rows::all(
        c,
        "SELECT CAST(consent_version AS INTEGER), count(*) FROM conversations
         WHERE site_key = ?1 GROUP BY 1 ORDER BY 1 DESC",
        [site_key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}
