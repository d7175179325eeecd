//! A site's relevance weights, as the dashboard reads and changes them: only the tenant's own
//! sites, checked within range, with the defaults where none are set.

use crate::error::Result;
use crate::model::relevance::Weights;
use crate::store::{Store, TenantDb, relevance, system};

/// A site's weights and whether they are the defaults; `None` when the tenant has no such site.
pub fn get(store: &Store, db: &TenantDb, site_key: &str) -> Result<Option<(Weights, bool)>> {
    if !owns(store, &db.uuid, site_key)? {
        return Ok(None);
    }
    let set = db.read(|c| relevance::weights(c, site_key))?;
    Ok(Some((set.unwrap_or_default(), set.is_none())))
}

/// Sets (or with `None` resets) a site's weights; `false` when the tenant has no such site.
pub fn put(store: &Store, db: &TenantDb, site_key: &str, w: Option<Weights>) -> Result<bool> {
    if !owns(store, &db.uuid, site_key)? {
        return Ok(false);
    }
    if let Some(w) = &w {
        w.validate()?;
    }
    db.with(|c| match &w {
        Some(w) => relevance::set_weights(c, site_key, w),
        None => relevance::reset_weights(c, site_key),
    })?;
    Ok(true)
}

fn owns(store: &Store, tenant_uuid: &str, site_key: &str) -> Result<bool> {
    store.system(|c| {
        Ok(system::site_by_key(c, site_key)?.is_some_and(|s| s.tenant_uuid == tenant_uuid))
    })
}
