//! Sites' look-up addresses and secrets (`site_lookups`), one per site of the tenant.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A site's look-up as saved (with its secret: for the caller, never for a listing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteLookup {
    /// The business's address.
    pub url: String,
    /// Sent as `Kontor-Lookup-Secret`.
    pub secret: String,
    /// Saved at.
    pub created_at: i64,
}

/// A site's look-up, if it has one.
pub fn get(c: &Connection, site_key: &str) -> Result<Option<SiteLookup>> {
    Ok(
        c.prepare_cached("SELECT url, secret, created_at FROM site_lookups WHERE site_key = ?1")?
            .query_row([site_key], |r| {
                Ok(SiteLookup {
                    url: r.get(0)?,
                    secret: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })
            .optional()?,
    )
}

/// Saves a site's address; a new site look-up gets `new_secret`, an existing one keeps its
/// secret. Whether the secret was used (the look-up is new).
pub fn set_url(
    c: &Connection,
    site_key: &str,
    url: &str,
    new_secret: &str,
    at: i64,
) -> Result<bool> {
    let changed = c.execute(
        "UPDATE site_lookups SET url = ?2 WHERE site_key = ?1",
        params![site_key, url],
    )?;
    if changed > 0 {
        return Ok(false);
    }
    c.execute(
        "INSERT INTO site_lookups (site_key, url, secret, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![site_key, url, new_secret, at],
    )?;
    Ok(true)
}

/// Gives a site's look-up a new secret; whether it has one.
pub fn set_secret(c: &Connection, site_key: &str, secret: &str) -> Result<bool> {
    Ok(c.execute(
        "UPDATE site_lookups SET secret = ?2 WHERE site_key = ?1",
        params![site_key, secret],
    )? > 0)
}

/// Removes a site's look-up; whether it had one.
pub fn delete(c: &Connection, site_key: &str) -> Result<bool> {
    Ok(c.execute("DELETE FROM site_lookups WHERE site_key = ?1", [site_key])? > 0)
}
