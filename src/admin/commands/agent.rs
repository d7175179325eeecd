//! `kontor agent …`: add, list, change, block and unlock a tenant's agents.

use crate::admin::{Ctx, Failure, Request, Response, operator_log, read_secret};
use crate::crypto;
use crate::domain::agents;
use crate::error::{Error, Result};
use crate::model::tenants;
use crate::store::tenant::{self as tstore, AgentRecord};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// `kontor agent …`
#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Add an agent; prints a generated password unless --password-stdin is given
    Add {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
        /// Name visitors see
        #[arg(long)]
        name: String,
        /// admin, supervisor, agent, or a role the tenant defined
        #[arg(long, default_value = "agent")]
        role: String,
        /// Read the password from standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a tenant's agents
    List {
        /// Tenant slug
        tenant: String,
    },
    /// Set a new password (generated unless --password-stdin); ends the agent's sessions and
    /// clears their sign-in throttle
    Passwd {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
        /// Read the password from standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an agent's capacity or departments (takes effect at once)
    Set {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
        /// Chats the agent takes at once (1-50)
        #[arg(long)]
        capacity: Option<i64>,
        /// Department by name (repeatable; replaces the agent's departments)
        #[arg(long = "department", value_name = "NAME")]
        departments: Vec<String>,
        /// Remove the agent from every department
        #[arg(long, conflicts_with = "departments")]
        no_departments: bool,
    },
    /// Print a single-use link (72 hours) on which the agent chooses a new password; using
    /// it ends their sessions. An invited agent who never set a password gets a new invitation
    ResetLink {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
    },
    /// Block an agent from signing in; ends their sessions
    Disable {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
    },
    /// List an agent's active sign-ins: device, address, when begun and last used
    Sessions {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
    },
    /// End all of an agent's sign-ins (open dashboards close within a second)
    Logout {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
    },
    /// Clear an agent's sign-in throttle: forget their failed sign-ins from every address
    Unlock {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
    },
    /// Forget an agent's second factor (authenticator and recovery codes) and sign them out;
    /// they set up a new one at their next sign-in if their role requires it
    ResetTwoFactor {
        /// Tenant slug
        tenant: String,
        /// Login email
        email: String,
    },
    /// Require a second factor for a role's agents (or every role); those without one set
    /// it up at their next sign-in
    RequireTwoFactor {
        /// Tenant slug
        tenant: String,
        /// Role name, or "all" for every role
        #[arg(long, default_value = "all")]
        role: String,
        /// Make it optional again instead
        #[arg(long)]
        off: bool,
    },
}

/// The agent requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum AgentRequest {
    /// `agent add`
    #[serde(rename = "agent_add")]
    Add {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
        /// Display name.
        name: String,
        /// Role.
        role: String,
        /// Password; generated when absent.
        password: Option<String>,
    },
    /// `agent list`
    #[serde(rename = "agent_list")]
    List {
        /// Tenant slug.
        tenant: String,
    },
    /// `agent passwd`
    #[serde(rename = "agent_passwd")]
    Passwd {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
        /// New password; generated when absent.
        password: Option<String>,
    },
    /// `agent reset-link`
    #[serde(rename = "agent_reset_link")]
    ResetLink {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
    },
    /// `agent disable`
    #[serde(rename = "agent_disable")]
    Disable {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
    },
    /// `agent sessions`
    #[serde(rename = "agent_sessions")]
    Sessions {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
    },
    /// `agent logout`
    #[serde(rename = "agent_logout")]
    Logout {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
    },
    /// `agent unlock`
    #[serde(rename = "agent_unlock")]
    Unlock {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
    },
    /// `agent reset-two-factor`
    #[serde(rename = "agent_reset_two_factor")]
    ResetTwoFactor {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
    },
    /// `agent require-two-factor`
    #[serde(rename = "agent_require_two_factor")]
    RequireTwoFactor {
        /// Tenant slug.
        tenant: String,
        /// Role name or `all`.
        role: String,
        /// Required (true) or optional again.
        required: bool,
    },
    /// `agent set`
    #[serde(rename = "agent_set")]
    Set {
        /// Tenant slug.
        tenant: String,
        /// Login email.
        email: String,
        /// Chats at once.
        #[serde(default)]
        capacity: Option<i64>,
        /// Departments by name (replaces the current ones).
        #[serde(default)]
        departments: Option<Vec<String>>,
    },
}

/// Agent as sent over the socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Agent id.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Whether sign-in is blocked.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Signs in with a second factor.
    #[serde(default)]
    pub two_factor: bool,
}

impl From<AgentRecord> for AgentInfo {
    fn from(a: AgentRecord) -> Self {
        AgentInfo {
            id: a.id,
            email: a.email,
            name: a.display_name,
            role: a.role,
            disabled: a.disabled,
            created_at: a.created_at,
            two_factor: a.two_factor,
        }
    }
}

impl AgentCmd {
    /// The request this command sends; reads a password from stdin when asked.
    pub fn request(&self) -> std::result::Result<Request, Failure> {
        let read_password = || read_secret("password");
        Ok(Request::Agent(match self {
            AgentCmd::Add {
                tenant,
                email,
                name,
                role,
                password_stdin,
            } => AgentRequest::Add {
                tenant: tenant.clone(),
                email: email.clone(),
                name: name.clone(),
                role: role.clone(),
                password: password_stdin.then(read_password).transpose()?,
            },
            AgentCmd::List { tenant } => AgentRequest::List {
                tenant: tenant.clone(),
            },
            AgentCmd::Passwd {
                tenant,
                email,
                password_stdin,
            } => AgentRequest::Passwd {
                tenant: tenant.clone(),
                email: email.clone(),
                password: password_stdin.then(read_password).transpose()?,
            },
            AgentCmd::Set {
                tenant,
                email,
                capacity,
                departments,
                no_departments,
            } => AgentRequest::Set {
                tenant: tenant.clone(),
                email: email.clone(),
                capacity: *capacity,
                departments: if *no_departments {
                    Some(Vec::new())
                } else if departments.is_empty() {
                    None
                } else {
                    Some(departments.clone())
                },
            },
            AgentCmd::ResetLink { tenant, email } => AgentRequest::ResetLink {
                tenant: tenant.clone(),
                email: email.clone(),
            },
            AgentCmd::Disable { tenant, email } => AgentRequest::Disable {
                tenant: tenant.clone(),
                email: email.clone(),
            },
            AgentCmd::Unlock { tenant, email } => AgentRequest::Unlock {
                tenant: tenant.clone(),
                email: email.clone(),
            },
            AgentCmd::Sessions { tenant, email } => AgentRequest::Sessions {
                tenant: tenant.clone(),
                email: email.clone(),
            },
            AgentCmd::Logout { tenant, email } => AgentRequest::Logout {
                tenant: tenant.clone(),
                email: email.clone(),
            },
            AgentCmd::ResetTwoFactor { tenant, email } => AgentRequest::ResetTwoFactor {
                tenant: tenant.clone(),
                email: email.clone(),
            },
            AgentCmd::RequireTwoFactor { tenant, role, off } => AgentRequest::RequireTwoFactor {
                tenant: tenant.clone(),
                role: role.clone(),
                required: !off,
            },
        }))
    }
}

impl AgentRequest {
    /// The tenant whose hub must hear of a changed agent (capacity, departments, blocked).
    pub fn changes_hub(&self) -> Option<&str> {
        match self {
            AgentRequest::Set { tenant, .. } | AgentRequest::Disable { tenant, .. } => Some(tenant),
            _ => None,
        }
    }

    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let store = cx.store;
        let (tenant, action, agent, generated_password) = match self {
            AgentRequest::List { tenant } => {
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                return Ok(Response::Agents {
                    agents: db
                        .with(|c| tstore::list_agents(c))?
                        .into_iter()
                        .map(Into::into)
                        .collect(),
                });
            }
            AgentRequest::Add {
                tenant,
                email,
                name,
                role,
                password,
            } => {
                let email = agents::normalize_email(&email)?;
                let name = tenants::clean_name("display name", &name, 100)?;
                let (password, generated) = password_or_generated(password)?;
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let hash = crypto::hash_password(&password);
                let agent = db.with(|c| tstore::insert_agent(c, &email, &name, &role, &hash))?;
                (tenant, "agent.add", agent, generated.then_some(password))
            }
            AgentRequest::Passwd {
                tenant,
                email,
                password,
            } => {
                let email = agents::normalize_email(&email)?;
                let (password, generated) = password_or_generated(password)?;
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let hash = crypto::hash_password(&password);
                let agent = db.with(|c| tstore::set_password(c, &email, &hash))?;
                // Whoever guessed at the old password need not be kept out of the new one.
                cx.unlock(&tenant, &email);
                (tenant, "agent.passwd", agent, generated.then_some(password))
            }
            AgentRequest::Unlock { tenant, email } => {
                let email = agents::normalize_email(&email)?;
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let agent = db
                    .with(|c| tstore::agent_credentials(c, &email))?
                    .ok_or_else(|| Error::NotFound(format!("agent {email:?}")))?
                    .agent;
                let cleared = cx.unlock(&tenant, &email);
                operator_log(store, "agent.unlock", &tenant, agent.id);
                return Ok(unlocked(&email, cleared));
            }
            AgentRequest::Sessions { tenant, email } => {
                let email = agents::normalize_email(&email)?;
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let agent = find(&db, &email)?;
                let list =
                    db.with(|c| tstore::list_sessions(c, agent.id, None, tstore::Alive::ANY))?;
                return Ok(sessions_report(&email, &list));
            }
            AgentRequest::Logout { tenant, email } => {
                let email = agents::normalize_email(&email)?;
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let agent = find(&db, &email)?;
                let ended = db.with(|c| tstore::delete_agent_sessions(c, agent.id, None))?;
                operator_log(store, "agent.logout", &tenant, agent.id);
                return Ok(Response::Report {
                    value: serde_json::json!({ "email": email, "ended": ended }),
                    lines: vec![format!("agent {email}: {ended} session(s) ended")],
                    ok: true,
                });
            }
            AgentRequest::ResetLink { tenant, email } => {
                let email = agents::normalize_email(&email)?;
                let (rec, db) = store.tenant_db_by_slug(&tenant)?;
                let agent = find(&db, &email)?;
                let now = cx.clock.now();
                let path =
                    db.with(|c| crate::domain::setup::issue_reset(c, &rec.uuid, agent.id, now))?;
                operator_log(store, "agent.reset_link", &tenant, agent.id);
                let url = format!("{}{path}", cx.base_url.trim_end_matches('/'));
                let expires_at = now + crate::domain::setup::LINK_SECS;
                return Ok(Response::Report {
                    value: serde_json::json!({ "email": email, "url": url, "expires_at": expires_at }),
                    lines: vec![
                        format!("set-up link for {email} (works once, for 72 hours):"),
                        url,
                    ],
                    ok: true,
                });
            }
            AgentRequest::ResetTwoFactor { tenant, email } => {
                let email = agents::normalize_email(&email)?;
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let agent = find(&db, &email)?;
                let had = db.with(|c| {
                    let had = crate::domain::two_factor::reset(c, agent.id)?;
                    tstore::delete_agent_sessions(c, agent.id, None)?;
                    Ok(had)
                })?;
                operator_log(store, "agent.two_factor_reset", &tenant, agent.id);
                let what = if had {
                    "second factor forgotten and signed out"
                } else {
                    "had no second factor; signed out"
                };
                return Ok(Response::Report {
                    value: serde_json::json!({ "email": email, "had_two_factor": had }),
                    lines: vec![format!("agent {email}: {what}")],
                    ok: true,
                });
            }
            AgentRequest::RequireTwoFactor {
                tenant,
                role,
                required,
            } => return require_two_factor(cx, &tenant, &role, required),
            AgentRequest::Disable { tenant, email } => {
                let email = agents::normalize_email(&email)?;
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let agent = db.with(|c| tstore::disable_agent(c, &email))?;
                (tenant, "agent.disable", agent, None)
            }
            AgentRequest::Set {
                tenant,
                email,
                capacity,
                departments,
            } => {
                let email = agents::normalize_email(&email)?;
                if let Some(cap) = capacity
                    && !(1..=50).contains(&cap)
                {
                    return Err(Error::Invalid("capacity must be 1 to 50 chats".into()));
                }
                let (_, db) = store.tenant_db_by_slug(&tenant)?;
                let agent =
                    db.with(|c| tstore::update_agent(c, &email, capacity, departments.as_deref()))?;
                (tenant, "agent.update", agent, None)
            }
        };
        operator_log(store, action, &tenant, agent.id);
        Ok(Response::Agent {
            agent: agent.into(),
            generated_password,
        })
    }
}

/// `agent require-two-factor`: sets the policy of one role or all of them.
fn require_two_factor(
    cx: &mut Ctx<'_>,
    tenant: &str,
    role: &str,
    required: bool,
) -> Result<Response> {
    let (_, db) = cx.store.tenant_db_by_slug(tenant)?;
    let names = db.with(|c| {
        let roles = crate::store::roles::list(c)?;
        let chosen: Vec<_> = if role.trim().eq_ignore_ascii_case("all") {
            roles
        } else {
            let id = tstore::role_id(c, role)?;
            roles.into_iter().filter(|r| r.id == id).collect()
        };
        for r in &chosen {
            crate::store::two_factor::set_role_requires(c, r.id, required)?;
        }
        Ok(chosen.into_iter().map(|r| r.name).collect::<Vec<_>>())
    })?;
    let action = if required {
        "role.two_factor_required"
    } else {
        "role.two_factor_optional"
    };
    for name in &names {
        crate::admin::tenant_audit(cx.store, tenant, action, &format!("role {name}"));
    }
    let state = if required { "required" } else { "optional" };
    Ok(Response::Report {
        value: serde_json::json!({ "roles": names, "required": required }),
        lines: vec![format!("second factor {state} for: {}", names.join(", "))],
        ok: true,
    })
}

/// The agent with this (normalized) email.
fn find(db: &crate::store::TenantDb, email: &str) -> Result<AgentRecord> {
    Ok(db
        .with(|c| tstore::agent_credentials(c, email))?
        .ok_or_else(|| Error::NotFound(format!("agent {email:?}")))?
        .agent)
}

/// What `agent sessions` answers: one line per sign-in (printed escaped, as every line).
fn sessions_report(email: &str, list: &[tstore::SessionInfo]) -> Response {
    let when = crate::clock::rfc3339;
    let mut lines = Vec::new();
    if list.is_empty() {
        lines.push(format!("agent {email} has no active sessions"));
    } else {
        lines.push(format!(
            "{:<24} {:<32} {:<20} {:<20} {:<20}",
            "ID", "DEVICE", "ADDRESS", "SIGNED IN", "LAST USED"
        ));
        for s in list {
            let device = if s.device.is_empty() {
                "unknown"
            } else {
                &s.device
            };
            lines.push(format!(
                "{:<24} {:<32} {:<20} {:<20} {:<20}",
                s.id,
                device,
                s.ip,
                when(s.created_at),
                when(s.last_seen_at)
            ));
        }
    }
    Response::Report {
        value: serde_json::json!({ "email": email, "sessions": list }),
        lines,
        ok: true,
    }
}

/// What `agent unlock` answers: whether a running server forgot failures (`None`: no server
/// runs, and only a running one counts them).
fn unlocked(email: &str, cleared: Option<bool>) -> Response {
    let why = match cleared {
        Some(true) => "their failed sign-ins from every address are forgotten",
        Some(false) => "they had no recent failed sign-ins",
        None => "no server is running, and only a running server counts failed sign-ins",
    };
    Response::Report {
        value: serde_json::json!({
            "email": email,
            "server_running": cleared.is_some(),
            "cleared": cleared == Some(true),
        }),
        lines: vec![format!("agent {email} unlocked: {why}")],
        ok: true,
    }
}

fn password_or_generated(password: Option<String>) -> Result<(String, bool)> {
    match password {
        Some(p) => {
            agents::check_password(&p)?;
            Ok((p, false))
        }
        None => Ok((crypto::generate_password(), true)),
    }
}

/// Prints one agent as text, with a generated password once.
pub fn print_agent(agent: &AgentInfo, generated_password: Option<&str>) {
    let state = if agent.disabled { ", disabled" } else { "" };
    say!(
        "agent {} ({}, {}{state})",
        agent.email,
        agent.name,
        agent.role
    );
    if let Some(p) = generated_password {
        say!("password: {p}");
        say!("(shown once; kontor stores only its argon2id hash)");
    }
}

/// Prints `agent list` as text.
pub fn print_list(agents: &[AgentInfo]) {
    if agents.is_empty() {
        say!("no agents yet; add one with `kontor agent add TENANT EMAIL --name NAME`");
    }
    for a in agents {
        let state = if a.disabled { "disabled" } else { "active" };
        let factor = if a.two_factor { "2fa" } else { "-" };
        say!(
            "{:<32} {:<24} {:<10} {:<4} {state}",
            a.email,
            a.name,
            a.role,
            factor
        );
    }
}
