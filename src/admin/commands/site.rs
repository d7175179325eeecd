//! `kontor site …`: a tenant's sites, their allowed origins and visitor monitoring.

use crate::admin::{Ctx, Failure, Request, Response, tenant_audit};
use crate::domain::prechat;
use crate::domain::sites::{self, SiteChange};
use crate::error::{Error, Result};
use crate::model::forms::Form;
use crate::model::sites::{SiteLook, SiteTracking, SiteWords};
use crate::store::system::{self as sstore, SiteRecord};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// `kontor site …`
#[derive(Debug, Subcommand)]
pub enum SiteCmd {
    /// Add a site; prints its key and the snippet to embed
    Add {
        /// Tenant slug
        tenant: String,
        /// Origin allowed to embed the widget, e.g. https://shop.example (repeatable)
        #[arg(long = "origin", value_name = "ORIGIN")]
        origins: Vec<String>,
        /// Corner of the chat button: bottom-right or bottom-left [default: bottom-right]
        #[arg(long)]
        position: Option<String>,
        /// Colour of the chat button, #rrggbb [default: #0a5bd3]
        #[arg(long)]
        color: Option<String>,
        /// Address of the site's privacy notice, linked before the visitor opts in
        #[arg(long)]
        privacy_url: Option<String>,
        /// Widget language when neither the page nor the browser names one of its languages:
        /// en, de, fr, es, it, nl or pl [default: en]
        #[arg(long)]
        lang: Option<String>,
        /// Visitor monitoring: off, anonymous or consented [default: anonymous]
        #[arg(long)]
        tracking: Option<String>,
        /// Query parameters removed from reported page addresses, comma-separated; `*` removes
        /// all but utm_* [default: *]
        #[arg(long, value_name = "NAMES")]
        strip: Option<String>,
    },
    /// Change how a site's visitors are monitored (see the widget guide, "Tracking modes")
    Tracking {
        /// Tenant slug
        tenant: String,
        /// The site's key
        site_key: String,
        /// off, anonymous or consented
        #[arg(long)]
        mode: Option<String>,
        /// Query parameters removed from reported page addresses, comma-separated; `*` removes
        /// all but utm_*
        #[arg(long, value_name = "NAMES")]
        strip: Option<String>,
    },
    /// Change a site: what is given replaces what it had; the rest stays
    Set {
        /// Tenant slug
        tenant: String,
        /// The site's key
        site_key: String,
        /// Origin allowed to embed the widget (repeatable; replaces the list)
        #[arg(long = "origin", value_name = "ORIGIN")]
        origins: Vec<String>,
        /// Corner of the chat button: bottom-right or bottom-left
        #[arg(long)]
        position: Option<String>,
        /// Colour of the chat button and the chat's header, #rrggbb (at least 4.5:1 against
        /// the text the widget puts on it)
        #[arg(long)]
        color: Option<String>,
        /// Address of the site's privacy notice; "" removes it
        #[arg(long)]
        privacy_url: Option<String>,
        /// Default widget language: en, de, fr, es, it, nl or pl
        #[arg(long)]
        lang: Option<String>,
        /// The chat button's label in German ("" for kontor's own)
        #[arg(long)]
        launcher_label_de: Option<String>,
        /// The chat button's label in English
        #[arg(long)]
        launcher_label_en: Option<String>,
        /// The open chat's heading in German
        #[arg(long)]
        title_de: Option<String>,
        /// The open chat's heading in English
        #[arg(long)]
        title_en: Option<String>,
        /// Greeting above the start form, in German
        #[arg(long)]
        greeting_de: Option<String>,
        /// Greeting above the start form, in English
        #[arg(long)]
        greeting_en: Option<String>,
        /// Text of the offline form, in German
        #[arg(long)]
        offline_de: Option<String>,
        /// Text of the offline form, in English
        #[arg(long)]
        offline_en: Option<String>,
        /// Whether visitors see agents' display names: true or false
        #[arg(long)]
        show_agent_names: Option<bool>,
    },
    /// Remove a site: the widget stops working on its pages at once; its chats and
    /// statistics stay in the tenant's history
    Remove {
        /// Tenant slug
        tenant: String,
        /// The site's key
        site_key: String,
    },
    /// List a tenant's sites
    List {
        /// Tenant slug
        tenant: String,
    },
    /// Show or replace a site's pre-chat form (JSON: {"fields": […], "departments": […]}; see
    /// the widget guide, "Pre-chat form")
    Form {
        /// Tenant slug
        tenant: String,
        /// The site's key
        site_key: String,
        /// The form as JSON; `{}` removes it
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "show",
            required_unless_present = "show"
        )]
        file: Option<std::path::PathBuf>,
        /// Print the form
        #[arg(long)]
        show: bool,
    },
}

/// The site requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum SiteRequest {
    /// `site add`
    #[serde(rename = "site_add")]
    Add {
        /// Tenant slug.
        tenant: String,
        /// Allowed origins.
        origins: Vec<String>,
        /// bottom-right or bottom-left.
        #[serde(default)]
        position: Option<String>,
        /// `#rrggbb`.
        #[serde(default)]
        color: Option<String>,
        /// The site's privacy notice.
        #[serde(default)]
        privacy_url: Option<String>,
        /// Default widget language: en, de, fr, es, it, nl or pl.
        #[serde(default)]
        lang: Option<String>,
        /// off, anonymous or consented.
        #[serde(default)]
        tracking: Option<String>,
        /// Query parameters stripped from reported URLs.
        #[serde(default)]
        strip: Option<Vec<String>>,
    },
    /// `site tracking`
    #[serde(rename = "site_tracking")]
    Tracking {
        /// Tenant slug.
        tenant: String,
        /// The site.
        site_key: String,
        /// off, anonymous or consented.
        #[serde(default)]
        mode: Option<String>,
        /// Query parameters stripped from reported URLs.
        #[serde(default)]
        strip: Option<Vec<String>>,
    },
    /// `site set`
    #[serde(rename = "site_set")]
    Set {
        /// Tenant slug.
        tenant: String,
        /// The site.
        site_key: String,
        /// What changes.
        change: Box<SiteChange>,
    },
    /// `site remove`
    #[serde(rename = "site_remove")]
    Remove {
        /// Tenant slug.
        tenant: String,
        /// The site.
        site_key: String,
    },
    /// `site list`
    #[serde(rename = "site_list")]
    List {
        /// Tenant slug.
        tenant: String,
    },
    /// `site form`: the form to save (read from the file on the operator's side), or none to
    /// show it.
    #[serde(rename = "site_form")]
    Form {
        /// Tenant slug.
        tenant: String,
        /// The site.
        site_key: String,
        /// The new form; `None`: show it.
        #[serde(default)]
        form: Option<Form>,
    },
}

/// Site as sent over the socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiteInfo {
    /// Public site key.
    pub site_key: String,
    /// Allowed origins.
    pub origins: Vec<String>,
    /// How the widget looks.
    #[serde(flatten)]
    pub look: SiteLook,
    /// Visitor monitoring.
    #[serde(flatten)]
    pub tracking: SiteTracking,
    /// The widget's words.
    #[serde(flatten, default)]
    pub words: Box<SiteWords>,
    /// The snippet to embed in those origins' pages.
    pub snippet: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl SiteInfo {
    /// A stored site with the snippet that loads the widget from `base_url`.
    pub fn new(s: SiteRecord, base_url: &str) -> SiteInfo {
        SiteInfo {
            snippet: sites::embed_snippet(base_url, &s.site_key),
            site_key: s.site_key,
            origins: s.origins,
            look: s.look,
            tracking: s.tracking,
            words: Box::new(s.words),
            created_at: s.created_at,
        }
    }
}

impl SiteCmd {
    /// The request this command sends; reads a form's file.
    pub fn request(&self) -> std::result::Result<Request, Failure> {
        Ok(Request::Site(match self {
            SiteCmd::Add {
                tenant,
                origins,
                position,
                color,
                privacy_url,
                lang,
                tracking,
                strip,
            } => SiteRequest::Add {
                tenant: tenant.clone(),
                origins: origins.clone(),
                position: position.clone(),
                color: color.clone(),
                privacy_url: privacy_url.clone(),
                lang: lang.clone(),
                tracking: tracking.clone(),
                strip: strip.clone().map(|s| vec![s]),
            },
            SiteCmd::Tracking {
                tenant,
                site_key,
                mode,
                strip,
            } => SiteRequest::Tracking {
                tenant: tenant.clone(),
                site_key: site_key.clone(),
                mode: mode.clone(),
                strip: strip.clone().map(|s| vec![s]),
            },
            SiteCmd::Set {
                tenant,
                site_key,
                origins,
                position,
                color,
                privacy_url,
                lang,
                launcher_label_de,
                launcher_label_en,
                title_de,
                title_en,
                greeting_de,
                greeting_en,
                offline_de,
                offline_en,
                show_agent_names,
            } => SiteRequest::Set {
                tenant: tenant.clone(),
                site_key: site_key.clone(),
                change: Box::new(SiteChange {
                    origins: (!origins.is_empty()).then(|| origins.clone()),
                    position: position.clone(),
                    color: color.clone(),
                    privacy_url: privacy_url.clone(),
                    lang: lang.clone(),
                    tracking: None,
                    strip: None,
                    launcher_label_de: launcher_label_de.clone(),
                    launcher_label_en: launcher_label_en.clone(),
                    title_de: title_de.clone(),
                    title_en: title_en.clone(),
                    greeting_de: greeting_de.clone(),
                    greeting_en: greeting_en.clone(),
                    offline_de: offline_de.clone(),
                    offline_en: offline_en.clone(),
                    show_agent_names: *show_agent_names,
                }),
            },
            SiteCmd::Remove { tenant, site_key } => SiteRequest::Remove {
                tenant: tenant.clone(),
                site_key: site_key.clone(),
            },
            SiteCmd::List { tenant } => SiteRequest::List {
                tenant: tenant.clone(),
            },
            SiteCmd::Form {
                tenant,
                site_key,
                file,
                show: _,
            } => SiteRequest::Form {
                tenant: tenant.clone(),
                site_key: site_key.clone(),
                form: file.as_deref().map(read_form).transpose()?,
            },
        }))
    }
}

/// A form definition from a JSON file (checked by the server, not here).
fn read_form(path: &std::path::Path) -> std::result::Result<Form, Failure> {
    let invalid = |m: String| Failure::new(crate::error::Code::InvalidInput, m);
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("reading {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))
}

impl SiteRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let (store, base_url) = (cx.store, cx.base_url);
        match self {
            SiteRequest::Add {
                tenant,
                origins,
                position,
                color,
                privacy_url,
                lang,
                tracking,
                strip,
            } => {
                if origins.is_empty() {
                    return Err(Error::Invalid("give at least one --origin".into()));
                }
                let clean = sites::apply_change(
                    None,
                    SiteChange {
                        origins: Some(origins),
                        position,
                        color,
                        privacy_url,
                        lang,
                        tracking,
                        strip,
                        ..SiteChange::default()
                    },
                )?;
                let (origins, look, tracking) = (clean.origins, clean.look, clean.tracking);
                let rec = store.tenant_record(&tenant)?;
                let key = sites::new_site_key();
                let site = store.system(|c| {
                    sstore::insert_site(c, &rec.uuid, &key, &origins, &look, &tracking)
                })?;
                tenant_audit(store, &tenant, "site.create", &key);
                Ok(Response::Site(SiteInfo::new(site, base_url)))
            }
            SiteRequest::Tracking {
                tenant,
                site_key,
                mode,
                strip,
            } => {
                let rec = store.tenant_record(&tenant)?;
                let site = store
                    .system(|c| sstore::site_by_key(c, &site_key))?
                    .filter(|s| s.tenant_uuid == rec.uuid)
                    .ok_or_else(|| {
                        Error::NotFound(format!("site {site_key} of tenant {tenant}"))
                    })?;
                let tracking = sites::clean_tracking(
                    Some(mode.as_deref().unwrap_or(&site.tracking.mode)),
                    Some(strip.as_deref().unwrap_or(&site.tracking.strip)),
                )?;
                store.system(|c| sstore::set_site_tracking(c, &site_key, &tracking))?;
                tenant_audit(store, &tenant, "site.tracking", &site_key);
                let site = store
                    .system(|c| sstore::site_by_key(c, &site_key))?
                    .ok_or_else(|| Error::NotFound(format!("site {site_key}")))?;
                Ok(Response::Site(SiteInfo::new(site, base_url)))
            }
            SiteRequest::Set {
                tenant,
                site_key,
                change,
            } => {
                let rec = store.tenant_record(&tenant)?;
                let site = store
                    .system(|c| sstore::site_by_key(c, &site_key))?
                    .filter(|s| s.tenant_uuid == rec.uuid)
                    .ok_or_else(|| {
                        Error::NotFound(format!("site {site_key} of tenant {tenant}"))
                    })?;
                let clean = sites::apply_change(Some(&site), *change)?;
                store.system(|c| {
                    sstore::update_site(
                        c,
                        &rec.uuid,
                        &site_key,
                        &clean.origins,
                        &clean.look,
                        &clean.tracking,
                        &clean.words,
                    )
                })?;
                tenant_audit(store, &tenant, "site.update", &site_key);
                let site = store
                    .system(|c| sstore::site_by_key(c, &site_key))?
                    .ok_or_else(|| Error::NotFound(format!("site {site_key}")))?;
                Ok(Response::Site(SiteInfo::new(site, base_url)))
            }
            SiteRequest::Remove { tenant, site_key } => {
                let rec = store.tenant_record(&tenant)?;
                if !store.system(|c| sstore::delete_site(c, &rec.uuid, &site_key))? {
                    return Err(Error::NotFound(format!(
                        "site {site_key} of tenant {tenant}"
                    )));
                }
                let db = store.tenant_db(&rec.uuid)?;
                db.with(|c| crate::store::site_rows::remove(c, &site_key))?;
                tenant_audit(store, &tenant, "site.remove", &site_key);
                Ok(Response::Report {
                    value: serde_json::json!({
                        "site_key": site_key,
                        "removed": true,
                        "effect": sites::REMOVE_EFFECT,
                    }),
                    lines: vec![
                        format!("site {site_key} removed"),
                        format!("{}.", sites::REMOVE_EFFECT),
                    ],
                    ok: true,
                })
            }
            SiteRequest::Form {
                tenant,
                site_key,
                form,
            } => site_form(store, &tenant, &site_key, form),
            SiteRequest::List { tenant } => {
                let rec = store.tenant_record(&tenant)?;
                let list = store.system(|c| sstore::list_sites(c, &rec.uuid))?;
                Ok(Response::Sites {
                    sites: list
                        .into_iter()
                        .map(|s| SiteInfo::new(s, base_url))
                        .collect(),
                })
            }
        }
    }
}

/// `site form`: shows a site's pre-chat form, or sets it (audited as a site change).
fn site_form(
    store: &crate::store::Store,
    tenant: &str,
    site_key: &str,
    form: Option<crate::model::forms::Form>,
) -> Result<Response> {
    let rec = store.tenant_record(tenant)?;
    let missing = || Error::NotFound(format!("site {site_key} of tenant {tenant}"));
    let form = match form {
        None => prechat::get(store, &rec.uuid, site_key)?.ok_or_else(missing)?,
        Some(f) => {
            let at = crate::clock::now();
            let saved = prechat::save(store, &rec.uuid, site_key, f, at)?;
            let saved = saved.ok_or_else(missing)?;
            tenant_audit(store, tenant, "site.update", site_key);
            saved
        }
    };
    let lines = form_lines(&form);
    Ok(Response::Report {
        value: serde_json::to_value(&form).unwrap_or_default(),
        lines,
        ok: true,
    })
}

/// Prints one site as text, with the snippet to embed.
pub fn print_site(s: &SiteInfo) {
    say!("site key: {}", s.site_key);
    say!("allowed origins: {}", s.origins.join(" "));
    say!(
        "look: {} {} (language {})",
        s.look.color,
        s.look.position,
        s.look.lang
    );
    say!(
        "visitor monitoring: {} (query parameters stripped: {})",
        s.tracking.mode,
        s.tracking.strip.join(",")
    );
    say!("embed this in the pages of those origins:");
    say!("{}", s.snippet);
}

/// A form as text: one line per field, then the departments offered.
fn form_lines(form: &Form) -> Vec<String> {
    if form.is_empty() {
        return vec!["no pre-chat form".into()];
    }
    let mut lines: Vec<String> = form
        .fields
        .iter()
        .map(|f| {
            let label = if f.label_en.is_empty() {
                &f.label_de
            } else {
                &f.label_en
            };
            let required = if f.required { ", required" } else { "" };
            format!("{} ({}{required}): {label}", f.name, f.kind)
        })
        .collect();
    if !form.departments.is_empty() {
        let ids: Vec<String> = form.departments.iter().map(i64::to_string).collect();
        lines.push(format!("departments offered: {}", ids.join(", ")));
    }
    lines
}

/// Prints `site list` as text.
pub fn print_list(list: &[SiteInfo]) {
    if list.is_empty() {
        say!("no sites yet; add one with `kontor site add TENANT --origin https://…`");
    }
    for s in list {
        say!(
            "{}  {}  (tracking: {})",
            s.site_key,
            s.origins.join(" "),
            s.tracking.mode
        );
        say!("  {}", s.snippet);
    }
}
