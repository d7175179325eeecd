//! Roles and the agents' role, display name and state, as admins with the agents permission
//! manage them. A change of an agent's role or state, or of a role's permissions, ends the
//! affected agents' sessions (their sockets close within a second), so nobody keeps rights
//! they no longer have. The tenant never loses its last agent who may manage agents.

use super::tenant::{self as tstore, AgentRecord, agent_by_id};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::model::rights::{self, Permission, Permissions};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// A role as the dashboard lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Role {
    /// Id (1 to 3 are built in).
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Admin, Supervisor and Agent cannot be changed or deleted.
    pub builtin: bool,
    /// What it allows.
    pub permissions: Permissions,
    /// How many agents have it.
    pub agents: i64,
    /// Its agents must sign in with a second factor.
    pub two_factor: bool,
}

/// Every role, built-in ones first.
pub fn list(c: &Connection) -> Result<Vec<Role>> {
    let mut stmt = c.prepare(
        "SELECT r.id, r.name, r.builtin, r.permissions,
                (SELECT count(*) FROM agents a WHERE coalesce(a.role_id, 3) = r.id),
                r.two_factor
         FROM roles r ORDER BY r.builtin DESC, r.id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let id: i64 = r.get(0)?;
            Ok(Role {
                id,
                name: r.get(1)?,
                builtin: r.get::<_, i64>(2)? != 0,
                permissions: role_permissions(id, &r.get::<_, String>(3)?),
                agents: r.get(4)?,
                two_factor: r.get::<_, i64>(5)? == 1,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A role's permissions: a built-in role's from the code, the others' as stored.
fn role_permissions(id: i64, stored: &str) -> Permissions {
    rights::builtin(id).unwrap_or_else(|| Permissions::parse(stored).unwrap_or_default())
}

/// The permissions of role `id`, if there is one.
pub fn permissions(c: &Connection, id: i64) -> Result<Option<Permissions>> {
    let stored: Option<String> = c
        .query_row("SELECT permissions FROM roles WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(stored.map(|s| role_permissions(id, &s)))
}

fn clean_name(name: &str) -> Result<String> {
    let n = name.trim();
    let ok = (1..=40).contains(&n.chars().count())
        && n.chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_');
    if !ok {
        return Err(Error::Invalid(
            "role name: 1 to 40 letters, digits, spaces, '-' or '_'".into(),
        ));
    }
    Ok(n.to_string())
}

fn conflict_on_name(name: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            Error::Conflict(format!("a role named {name:?} exists already"))
        }
        _ => e.into(),
    }
}

/// Creates a role.
pub fn create(c: &Connection, name: &str, permissions: Permissions) -> Result<Role> {
    let name = clean_name(name)?;
    c.execute(
        "INSERT INTO roles (name, permissions, created_at) VALUES (?1, ?2, ?3)",
        params![name, permissions.to_text(), now()],
    )
    .map_err(conflict_on_name(&name))?;
    let id = c.last_insert_rowid();
    Ok(Role {
        id,
        name,
        builtin: false,
        permissions,
        agents: 0,
        two_factor: false,
    })
}

fn own_role(c: &Connection, id: i64) -> Result<()> {
    let builtin: Option<i64> = c
        .query_row("SELECT builtin FROM roles WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match builtin {
        None => Err(Error::NotFound("role".into())),
        Some(1) => Err(Error::Conflict(
            "built-in roles cannot be changed or deleted; create a role of your own".into(),
        )),
        Some(_) => Ok(()),
    }
}

/// Renames a role and/or sets its permissions; its agents sign in again.
pub fn update(
    c: &mut Connection,
    id: i64,
    name: Option<&str>,
    permissions: Option<Permissions>,
) -> Result<()> {
    let tx = c.transaction()?;
    own_role(&tx, id)?;
    if let Some(n) = name {
        let n = clean_name(n)?;
        tx.execute("UPDATE roles SET name = ?2 WHERE id = ?1", params![id, n])
            .map_err(conflict_on_name(&n))?;
    }
    if let Some(p) = permissions {
        tx.execute(
            "UPDATE roles SET permissions = ?2 WHERE id = ?1",
            params![id, p.to_text()],
        )?;
        tx.execute(
            "DELETE FROM sessions WHERE agent_id IN (SELECT id FROM agents WHERE role_id = ?1)",
            [id],
        )?;
    }
    keeps_a_manager(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Deletes a role nobody has.
pub fn delete(c: &Connection, id: i64) -> Result<()> {
    own_role(c, id)?;
    let used: i64 = c.query_row(
        "SELECT count(*) FROM agents WHERE role_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if used > 0 {
        return Err(Error::Conflict(format!(
            "{used} agents have this role; give them another one first"
        )));
    }
    c.execute("DELETE FROM roles WHERE id = ?1", [id])?;
    Ok(())
}

/// Refuses a state in which no enabled agent may manage agents (nobody could undo it).
fn keeps_a_manager(c: &Connection) -> Result<()> {
    let agents = super::tenant::list_agents(c)?;
    if agents
        .iter()
        .any(|a| !a.disabled && a.may(Permission::AgentsManage))
    {
        Ok(())
    } else {
        Err(Error::Conflict(
            "this would leave no active agent who may manage agents and roles".into(),
        ))
    }
}

/// What an admin changes on an agent.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentChange {
    /// The name visitors see.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Their role.
    #[serde(default)]
    pub role_id: Option<i64>,
    /// Disabled agents cannot sign in.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Chats the agent takes at once (1-50).
    #[serde(default)]
    pub capacity: Option<i64>,
    /// Their departments by id (replaces the ones they had).
    #[serde(default)]
    pub department_ids: Option<Vec<i64>>,
}

/// Applies `change` to agent `id`; a new role or a disabling ends their sessions.
pub fn change_agent(c: &mut Connection, id: i64, change: &AgentChange) -> Result<AgentRecord> {
    let tx = c.transaction()?;
    if agent_by_id(&tx, id)?.is_none() {
        return Err(Error::NotFound("agent".into()));
    }
    if let Some(name) = &change.display_name {
        let name = crate::model::tenants::clean_name("display name", name, 100)?;
        tx.execute(
            "UPDATE agents SET display_name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
    }
    let mut end_sessions = false;
    if let Some(role) = change.role_id {
        let exists: Option<i64> = tx
            .query_row("SELECT id FROM roles WHERE id = ?1", [role], |r| r.get(0))
            .optional()?;
        if exists.is_none() {
            return Err(Error::Invalid(format!("role {role} does not exist")));
        }
        let legacy = if role == rights::ADMIN {
            "admin"
        } else {
            "agent"
        };
        tx.execute(
            "UPDATE agents SET role_id = ?2, role = ?3 WHERE id = ?1",
            params![id, role, legacy],
        )?;
        end_sessions = true;
    }
    if let Some(disabled) = change.disabled {
        tx.execute(
            "UPDATE agents SET disabled = ?2 WHERE id = ?1",
            params![id, i64::from(disabled)],
        )?;
        end_sessions |= disabled;
        if disabled {
            // A disabled agent's unused set-up links die: an invitation is withdrawn.
            tx.execute(
                "DELETE FROM agent_links WHERE agent_id = ?1 AND used_at IS NULL",
                [id],
            )?;
        }
    }
    if let Some(cap) = change.capacity {
        if !(1..=50).contains(&cap) {
            return Err(Error::Invalid("capacity must be 1 to 50 chats".into()));
        }
        tx.execute(
            "UPDATE agents SET capacity = ?2 WHERE id = ?1",
            params![id, cap],
        )?;
    }
    if let Some(deps) = &change.department_ids {
        tx.execute("DELETE FROM agent_departments WHERE agent_id = ?1", [id])?;
        for dep in deps {
            let n = tx.execute(
                "INSERT OR IGNORE INTO agent_departments (agent_id, department_id)
                 SELECT ?1, id FROM departments WHERE id = ?2",
                params![id, dep],
            )?;
            if n == 0 && !tstore::department_ids(&tx)?.contains(dep) {
                return Err(Error::Invalid(format!("department {dep} does not exist")));
            }
        }
    }
    if end_sessions {
        tx.execute("DELETE FROM sessions WHERE agent_id = ?1", [id])?;
    }
    keeps_a_manager(&tx)?;
    let rec = agent_by_id(&tx, id)?.ok_or_else(|| Error::NotFound("agent".into()))?;
    tx.commit()?;
    Ok(rec)
}
