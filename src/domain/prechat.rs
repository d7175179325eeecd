//! A site's pre-chat form beyond its pure rules (`model::forms`): saving one (checked, and
//! only departments the tenant has), and the form as a visitor's chat frame shows it.

use crate::error::{Error, Result};
use crate::model::forms::Form;
use crate::store::{Store, site_forms, system, tenant};
use serde_json::{Value, json};

/// A site's form, if the site belongs to the tenant.
pub fn get(store: &Store, tenant_uuid: &str, site_key: &str) -> Result<Option<Form>> {
    store.system(|c| {
        if system::site_by_key(c, site_key)?.is_none_or(|s| s.tenant_uuid != tenant_uuid) {
            return Ok(None);
        }
        site_forms::get(c, site_key).map(Some)
    })
}

/// Checks and saves a site's form; the form as saved, or `None` when the tenant has no such
/// site. Every offered department must be one of the tenant's.
pub fn save(
    store: &Store,
    tenant_uuid: &str,
    site_key: &str,
    form: Form,
    at: i64,
) -> Result<Option<Form>> {
    let form = form.checked()?;
    if !form.departments.is_empty() {
        let known = store
            .tenant_db(tenant_uuid)?
            .read(|c| tenant::department_ids(c))?;
        if let Some(d) = form.departments.iter().find(|d| !known.contains(d)) {
            return Err(Error::Invalid(format!("departments: no department {d}")));
        }
    }
    store.system(|c| {
        if system::site_by_key(c, site_key)?.is_none_or(|s| s.tenant_uuid != tenant_uuid) {
            return Ok(None);
        }
        site_forms::set(c, site_key, &form, at)?;
        Ok(Some(form))
    })
}

/// The form as the chat frame renders it: labels in the visitor's language (`pick` chooses
/// between the German and the English text), and the offered departments with their names
/// and whether one of their agents is online now (`open`).
pub fn for_visitor(
    form: &Form,
    pick: impl Fn(&str, &str) -> String,
    names: &[(i64, String)],
    open: &[i64],
) -> Value {
    let fields: Vec<Value> = form
        .fields
        .iter()
        .map(|f| {
            let options: Vec<Value> = f
                .options
                .iter()
                .map(|o| {
                    let label = match pick(&o.label_de, &o.label_en) {
                        l if l.is_empty() => o.value.clone(),
                        l => l,
                    };
                    json!({"value": o.value, "label": label})
                })
                .collect();
            json!({
                "name": f.name,
                "kind": f.kind,
                "label": pick(&f.label_de, &f.label_en),
                "required": f.required,
                "min": f.min,
                "max": f.max,
                "pattern": f.pattern,
                "options": options,
            })
        })
        .collect();
    let departments: Vec<Value> = form
        .departments
        .iter()
        .filter_map(|d| names.iter().find(|(id, _)| id == d))
        .map(|(id, name)| json!({"id": id, "name": name, "open": open.contains(id)}))
        .collect();
    json!({"fields": fields, "departments": departments})
}
