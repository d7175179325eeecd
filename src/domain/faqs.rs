//! A site's questions and answers beyond their pure rules (`model::faq`): editing them for a
//! site of the tenant (at most [`MAX_ENTRIES`] a site), what the chat frame gets in the
//! visitor's language, and the anonymous view count.

use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::model::faq::{Entry, MAX_ENTRIES};
use crate::store::faqs::{self, Faq};
use crate::store::{SiteRecord, Store, system};
use serde_json::{Value, json};

/// Whether `site_key` is one of the tenant's sites.
fn owns(store: &Store, tenant_uuid: &str, site_key: &str) -> Result<bool> {
    store.system(|c| {
        Ok(system::site_by_key(c, site_key)?.is_some_and(|s| s.tenant_uuid == tenant_uuid))
    })
}

/// A site's entries, if the site belongs to the tenant.
pub fn list(store: &Store, tenant_uuid: &str, site_key: &str) -> Result<Option<Vec<Faq>>> {
    if !owns(store, tenant_uuid, site_key)? {
        return Ok(None);
    }
    store
        .tenant_db(tenant_uuid)?
        .read(|c| faqs::list(c, site_key))
        .map(Some)
}

/// Checks and adds an entry; `None` when the tenant has no such site. Refused (invalid input)
/// past [`MAX_ENTRIES`] entries.
pub fn create(
    store: &Store,
    tenant_uuid: &str,
    site_key: &str,
    entry: Entry,
    at: i64,
) -> Result<Option<Faq>> {
    let entry = entry.checked()?;
    if !owns(store, tenant_uuid, site_key)? {
        return Ok(None);
    }
    store.tenant_db(tenant_uuid)?.with(|c| {
        let tx = c.transaction()?;
        if faqs::count(&tx, site_key)? >= MAX_ENTRIES {
            return Err(Error::Invalid(format!(
                "a site may have at most {MAX_ENTRIES} questions"
            )));
        }
        let id = faqs::insert(&tx, site_key, &entry, at)?;
        tx.commit()?;
        Ok(Some(Faq { id, entry }))
    })
}

/// Checks and replaces an entry; `None` when the tenant has no such site, not found when
/// the site has no such entry.
pub fn update(
    store: &Store,
    tenant_uuid: &str,
    site_key: &str,
    id: i64,
    entry: Entry,
    at: i64,
) -> Result<Option<Faq>> {
    let entry = entry.checked()?;
    if !owns(store, tenant_uuid, site_key)? {
        return Ok(None);
    }
    let changed = store
        .tenant_db(tenant_uuid)?
        .with(|c| faqs::update(c, site_key, id, &entry, at))?;
    match changed {
        true => Ok(Some(Faq { id, entry })),
        false => Err(Error::NotFound(format!("question {id}"))),
    }
}

/// Removes an entry; `None` when the tenant has no such site, not found when the site has
/// no such entry.
pub fn delete(store: &Store, tenant_uuid: &str, site_key: &str, id: i64) -> Result<Option<()>> {
    if !owns(store, tenant_uuid, site_key)? {
        return Ok(None);
    }
    match store
        .tenant_db(tenant_uuid)?
        .with(|c| faqs::delete(c, site_key, id))?
    {
        true => Ok(Some(())),
        false => Err(Error::NotFound(format!("question {id}"))),
    }
}

/// What the chat frame gets: `{"lang", "faqs": [{"id", "q", "a"}]}`, each entry in German for
/// a German widget and in English otherwise (the other language where that one is empty).
pub fn for_visitor(store: &Store, site: &SiteRecord, lang: Lang) -> Result<Value> {
    let list = store
        .tenant_db(&site.tenant_uuid)?
        .read(|c| faqs::list(c, &site.site_key))?;
    let german = lang == Lang::De;
    let entries: Vec<Value> = list
        .iter()
        .map(|f| {
            let (q, a) = f.entry.pick(german);
            json!({"id": f.id, "q": q, "a": a})
        })
        .collect();
    Ok(json!({"lang": lang.code(), "faqs": entries}))
}

/// Counts one opened answer of the site (nothing about who opened it); not found when the
/// site has no such entry.
pub fn count_view(store: &Store, site: &SiteRecord, id: i64, at: i64) -> Result<()> {
    let counted = store
        .tenant_db(&site.tenant_uuid)?
        .with(|c| faqs::count_view(c, &site.site_key, id, at))?;
    match counted {
        true => Ok(()),
        false => Err(Error::NotFound(format!("question {id}"))),
    }
}
