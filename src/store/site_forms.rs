//! Sites' pre-chat forms in `system.db`, one JSON definition per site (checked by
//! `model::forms` before it is saved; read back without checking again).

use crate::error::{Error, Result};
use crate::model::forms::Form;
use rusqlite::{Connection, OptionalExtension, params};

/// A site's form; the empty form when it has none.
pub fn get(c: &Connection, site_key: &str) -> Result<Form> {
    let json: Option<String> = c
        .prepare_cached("SELECT definition FROM site_forms WHERE site_key = ?1")?
        .query_row([site_key], |r| r.get(0))
        .optional()?;
    match json {
        None => Ok(Form::default()),
        Some(j) => serde_json::from_str(&j)
            .map_err(|e| Error::Internal(format!("the form of site {site_key}: {e}"))),
    }
}

/// Replaces a site's form (the empty form removes it).
pub fn set(c: &Connection, site_key: &str, form: &Form, at: i64) -> Result<()> {
    if form.is_empty() {
        c.execute("DELETE FROM site_forms WHERE site_key = ?1", [site_key])?;
        return Ok(());
    }
    let json = serde_json::to_string(form).map_err(|e| Error::Internal(e.to_string()))?;
    c.execute(
        "INSERT INTO site_forms (site_key, definition, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (site_key) DO UPDATE SET definition = excluded.definition,
             updated_at = excluded.updated_at",
        params![site_key, json, at],
    )?;
    Ok(())
}
