//! What a tenant's database holds about one of its sites, removed with the site (from the
//! dashboard or the CLI): its logo, its online look-up, its FAQ entries and its relevance
//! weights. Past figures (FAQ counts, visits) stay in the statistics.

use crate::error::Result;
use rusqlite::Connection;

/// Removes every per-site row of `site_key`.
pub fn remove(c: &Connection, site_key: &str) -> Result<()> {
    super::site_logos::delete(c, site_key)?;
    super::lookups::delete(c, site_key)?;
    super::faqs::delete_site(c, site_key)?;
    super::relevance::reset_weights(c, site_key)
}
