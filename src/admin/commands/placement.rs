//! `kontor placement export`: the HAProxy map lines that route this host's tenants here
//! (`docs/scale-out.md`). Each request names its tenant by one of three keys, all of which
//! stay the same when a tenant moves between hosts: a site key (`site:KEY`, the widget, its
//! frame and its socket), the tenant's slug (`tenant:SLUG`, the sign-in form) and the tenant's
//! uuid (`uuid:UUID`, which starts every session and sign-in cookie, set-up link and API
//! token).

use crate::admin::{Ctx, Failure, Request, Response, absolute};
use crate::error::{Code, Error, Result};
use crate::store::system as sstore;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `kontor placement …`
#[derive(Debug, Subcommand)]
pub enum PlacementCmd {
    /// Print (or write) the HAProxy map lines `KEY BACKEND` for every tenant served here:
    /// its site keys, slug and uuid; the proxy's map is every host's lines together. Drained
    /// tenants (moving away) are left out
    Export {
        /// This host's backend name in haproxy.cfg [default: kontor_ and this host's name]
        #[arg(long)]
        backend: Option<String>,
        /// Write the map to this file (atomically: a temporary file renamed into place)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only this tenant
        #[arg(long)]
        tenant: Option<String>,
        /// Instead of map lines, print the commands for HAProxy's admin socket that point the
        /// keys at BACKEND in the running proxy's map file MAP (`set map`, or `add map` with
        /// --add for keys the map does not hold yet)
        #[arg(long, value_name = "MAP")]
        runtime: Option<String>,
        /// With --runtime: add the keys (a new tenant) instead of changing them (a move)
        #[arg(long, requires = "runtime")]
        add: bool,
    },
}

/// The placement requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum PlacementRequest {
    /// `placement export`
    #[serde(rename = "placement_export")]
    Export {
        /// The backend the keys route to.
        backend: String,
        /// Absolute path of the map file to write.
        #[serde(default)]
        out: Option<PathBuf>,
        /// Only this tenant.
        #[serde(default)]
        tenant: Option<String>,
        /// Runtime API commands for this map file instead of map lines.
        #[serde(default)]
        runtime: Option<String>,
        /// `add map` instead of `set map`.
        #[serde(default)]
        add: bool,
    },
}

/// One routing key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// `site:KEY`, `tenant:SLUG` or `uuid:UUID`.
    pub key: String,
    /// The backend.
    pub backend: String,
    /// The tenant it belongs to (slug).
    pub tenant: String,
}

/// The backend name of this host when none is given: `kontor_` and the host name, with what
/// HAProxy does not take in a name replaced by `_` (`db-1.example` gives `kontor_db-1.example`).
fn default_backend() -> std::result::Result<String, Failure> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        return Err(Failure::new(
            Code::InvalidInput,
            "this host's name is unknown: give --backend NAME (its backend in haproxy.cfg)",
        ));
    }
    Ok(format!(
        "kontor_{}",
        name.chars()
            .map(|c| if backend_char(c) { c } else { '_' })
            .collect::<String>()
    ))
}

impl PlacementCmd {
    /// The request this command sends.
    pub fn request(&self) -> std::result::Result<Request, Failure> {
        Ok(match self {
            PlacementCmd::Export {
                backend,
                out,
                tenant,
                runtime,
                add,
            } => Request::Placement(PlacementRequest::Export {
                backend: match backend {
                    Some(b) => b.clone(),
                    None => default_backend()?,
                },
                out: out.as_deref().map(absolute),
                tenant: tenant.clone(),
                runtime: runtime.clone(),
                add: *add,
            }),
        })
    }
}

/// A name HAProxy takes for a backend, and a map path without spaces or control characters
/// (both go into lines HAProxy splits at spaces).
fn check_word(what: &str, s: &str, allowed: impl Fn(char) -> bool) -> Result<()> {
    if s.is_empty() || s.len() > 200 || !s.chars().all(allowed) {
        return Err(Error::Invalid(format!(
            "{what} {s:?}: use letters, digits and - _ . : (a map path also /)"
        )));
    }
    Ok(())
}

fn backend_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.:".contains(c)
}

impl PlacementRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let PlacementRequest::Export {
            backend,
            out,
            tenant,
            runtime,
            add,
        } = self;
        check_word("backend", &backend, backend_char)?;
        if let Some(map) = &runtime {
            check_word("map file", map, |c| backend_char(c) || c == '/')?;
        }
        let entries = entries(cx, &backend, tenant.as_deref())?;
        let lines: Vec<String> = match &runtime {
            Some(map) => entries
                .iter()
                .map(|e| {
                    let verb = if add { "add" } else { "set" };
                    format!("{verb} map {map} {} {}", e.key, e.backend)
                })
                .collect(),
            None => entries
                .iter()
                .map(|e| format!("{} {}", e.key, e.backend))
                .collect(),
        };
        let value = serde_json::json!({ "backend": backend, "entries": entries });
        match out {
            Some(path) => {
                let mut body = format!(
                    "# kontor placement: {} keys to backend {backend}, {}\n",
                    entries.len(),
                    crate::clock::rfc3339(cx.clock.now())
                );
                for l in &lines {
                    body.push_str(l);
                    body.push('\n');
                }
                write_map(&path, body.as_bytes())?;
                Ok(Response::Report {
                    value,
                    lines: vec![format!(
                        "{} keys written to {}",
                        entries.len(),
                        path.display()
                    )],
                    ok: true,
                })
            }
            None => Ok(Response::Report {
                value,
                lines,
                ok: true,
            }),
        }
    }
}

/// The keys of every tenant served here (or of `only`), in a stable order.
fn entries(cx: &Ctx<'_>, backend: &str, only: Option<&str>) -> Result<Vec<Entry>> {
    let store = cx.store;
    let tenants = match only {
        Some(slug) => {
            let rec = store.tenant_record(slug)?;
            if store.is_drained(&rec.uuid) {
                return Err(Error::Conflict(format!(
                    "tenant {slug} is moving away from this host: it is not routed here"
                )));
            }
            vec![rec]
        }
        None => store
            .list_tenants()?
            .into_iter()
            .filter(|t| !store.is_drained(&t.uuid))
            .collect(),
    };
    let mut out = Vec::new();
    for t in tenants {
        let entry = |key: String| Entry {
            key,
            backend: backend.to_string(),
            tenant: t.slug.clone(),
        };
        out.push(entry(format!("tenant:{}", t.slug)));
        out.push(entry(format!("uuid:{}", t.uuid)));
        for s in store.system(|c| sstore::list_sites(c, &t.uuid))? {
            out.push(entry(format!("site:{}", s.site_key)));
        }
    }
    Ok(out)
}

/// Writes the map through a temporary file renamed into place, so HAProxy (at a reload)
/// reads the old map or the new one, never half of one. Readable by all: the proxy reads it,
/// and it holds no secret (site keys are in every customer page).
fn write_map(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::store::tenant_export::write_atomically(path, bytes, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_and_map_names_cannot_smuggle_words() {
        assert!(check_word("backend", "kontor_h2", backend_char).is_ok());
        for bad in ["", "a b", "a\nset map x y z", "a;b", "ä"] {
            assert!(check_word("backend", bad, backend_char).is_err(), "{bad:?}");
        }
    }
}
