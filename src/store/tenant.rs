//! Queries on a tenant database: agents, sessions, departments.

use super::rows;
use crate::clock::now;
use crate::error::{Error, Result};
use crate::model::rights::{self, Permission, Permissions};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// An agent as shown to admins (no password hash).
#[derive(Debug, Clone, Serialize)]
pub struct AgentRecord {
    /// Row id.
    pub id: i64,
    /// Login, lower-case.
    pub email: String,
    /// Name visitors see.
    pub display_name: String,
    /// Their role's name (`admin`, `supervisor`, `agent` or one of the tenant's own).
    pub role: String,
    /// Disabled agents cannot sign in.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Their role's id.
    pub role_id: i64,
    /// What their role allows.
    pub permissions: Permissions,
    /// They sign in with a second factor (an authenticator app).
    pub two_factor: bool,
}

impl AgentRecord {
    /// Whether their role allows `p`.
    pub fn may(&self, p: Permission) -> bool {
        self.permissions.has(p)
    }
}

/// An agent with the hash needed to check a password.
#[derive(Debug, Clone)]
pub struct AgentCredentials {
    /// The agent.
    pub agent: AgentRecord,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// A session found by its token, with its agent.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The signed-in agent.
    pub agent: AgentRecord,
    /// Unix seconds at sign-in.
    pub created_at: i64,
    /// Unix seconds of the last request.
    pub last_seen_at: i64,
}

/// An agent's columns with their role's name, id and stored permissions; columns after these
/// start at [`AGENT_COLS`].
pub(crate) const AGENT_COLUMNS: &str = "a.id, a.email, a.display_name,
    (SELECT name FROM roles WHERE id = coalesce(a.role_id, 3)), a.disabled, a.created_at,
    coalesce(a.role_id, 3), (SELECT permissions FROM roles WHERE id = coalesce(a.role_id, 3)),
    EXISTS (SELECT 1 FROM agent_totp t WHERE t.agent_id = a.id)";
pub(crate) const AGENT_COLS: usize = 9;

pub(crate) fn agent_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AgentRecord> {
    let role_id: i64 = r.get(6)?;
    let stored: Option<String> = r.get(7)?;
    // Built-in roles get their permissions from the code, the tenant's own from the table;
    // a stored name this kontor no longer knows grants nothing.
    let permissions = rights::builtin(role_id)
        .unwrap_or_else(|| Permissions::parse(stored.as_deref().unwrap_or("")).unwrap_or_default());
    Ok(AgentRecord {
        id: r.get(0)?,
        email: r.get(1)?,
        display_name: r.get(2)?,
        role: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        disabled: r.get::<_, i64>(4)? != 0,
        created_at: r.get(5)?,
        role_id,
        permissions,
        two_factor: r.get(8)?,
    })
}

/// The id of the role with this name (any case); the support login's role is no one else's.
pub fn role_id(c: &Connection, name: &str) -> Result<i64> {
    let id = named_role(c, name)?;
    if id == rights::SUPPORT {
        return Err(Error::Invalid(SUPPORT_ROLE.into()));
    }
    Ok(id)
}

/// Why nobody is given the support role.
pub const SUPPORT_ROLE: &str = "the support role belongs to the operator's support login, \
     which the business opens in Settings › Team › Support access";

fn named_role(c: &Connection, name: &str) -> Result<i64> {
    c.query_row(
        "SELECT id FROM roles WHERE name = ?1 COLLATE NOCASE",
        [name.trim()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| {
        let names: Vec<String> = c
            .prepare("SELECT name FROM roles ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .unwrap_or_default();
        Error::Invalid(format!(
            "role {name:?} does not exist; roles: {}",
            names.join(", ")
        ))
    })
}

/// One agent by id.
pub fn agent_by_id(c: &Connection, id: i64) -> Result<Option<AgentRecord>> {
    Ok(c.query_row(
        &format!("SELECT {AGENT_COLUMNS} FROM agents a WHERE a.id = ?1"),
        [id],
        agent_from_row,
    )
    .optional()?)
}

/// Adds an agent; the email must be unused in this tenant.
pub fn insert_agent(
    c: &Connection,
    email: &str,
    display_name: &str,
    role: &str,
    password_hash: &str,
) -> Result<AgentRecord> {
    let role_id = role_id(c, role)?;
    // The old two-valued column, kept for older readers.
    let legacy = if role_id == rights::ADMIN {
        "admin"
    } else {
        "agent"
    };
    c.execute(
        "INSERT INTO agents (email, display_name, role, role_id, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![email, display_name, legacy, role_id, password_hash, now()],
    )
    .map_err(|e| {
        rows::conflict(e, || {
            format!("an agent with email {email:?} exists already")
        })
    })?;
    agent_by_id(c, c.last_insert_rowid())?
        .ok_or_else(|| Error::Internal("the new agent vanished".into()))
}

/// Every agent, by email.
pub fn list_agents(c: &Connection) -> Result<Vec<AgentRecord>> {
    rows::all(
        c,
        &format!("SELECT {AGENT_COLUMNS} FROM agents a ORDER BY a.email"),
        [],
        agent_from_row,
    )
}

/// The agent with this email and its password hash, if any.
pub fn agent_credentials(c: &Connection, email: &str) -> Result<Option<AgentCredentials>> {
    Ok(c.query_row(
        &format!("SELECT {AGENT_COLUMNS}, a.password_hash FROM agents a WHERE a.email = ?1"),
        [email],
        |r| {
            Ok(AgentCredentials {
                agent: agent_from_row(r)?,
                password_hash: r.get(AGENT_COLS)?,
            })
        },
    )
    .optional()?)
}

/// Sets a new password hash and ends all of the agent's sessions.
pub fn set_password(c: &mut Connection, email: &str, password_hash: &str) -> Result<AgentRecord> {
    change_and_end_sessions(
        c,
        email,
        "UPDATE agents SET password_hash = ?2 WHERE email = ?1",
        &password_hash,
    )
}

/// Disables an agent and ends all of their sessions; their unused set-up links die.
pub fn disable_agent(c: &mut Connection, email: &str) -> Result<AgentRecord> {
    c.execute(
        "DELETE FROM agent_links WHERE used_at IS NULL
           AND agent_id = (SELECT id FROM agents WHERE email = ?1)",
        [email],
    )?;
    change_and_end_sessions(
        c,
        email,
        "UPDATE agents SET disabled = ?2 WHERE email = ?1",
        &1,
    )
}

/// Runs `update` (parameters: email, value) and deletes the agent's sessions, in one
/// transaction, so a changed password or a disabled account leaves no session alive.
fn change_and_end_sessions(
    c: &mut Connection,
    email: &str,
    update: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<AgentRecord> {
    let tx = c.transaction()?;
    if tx.execute(update, params![email, value])? == 0 {
        return Err(Error::NotFound(format!("agent {email:?}")));
    }
    tx.execute(
        "DELETE FROM sessions WHERE agent_id = (SELECT id FROM agents WHERE email = ?1)",
        [email],
    )?;
    let rec = tx.query_row(
        &format!("SELECT {AGENT_COLUMNS} FROM agents a WHERE a.email = ?1"),
        [email],
        agent_from_row,
    )?;
    tx.commit()?;
    Ok(rec)
}

/// Where and with what a session was begun (shown to its agent; never the raw User-Agent).
#[derive(Debug, Clone, Default)]
pub struct SessionOrigin {
    /// Browser and system, "Chrome 120 on Windows 10" (empty when unknown).
    pub device: String,
    /// The truncated address (IPv4 /24, IPv6 /48).
    pub ip: String,
}

/// Stores a new session, begun at `at`, under the hash of its token, with a fresh public id.
pub fn insert_session(
    c: &Connection,
    token_hash: &[u8],
    agent_id: i64,
    at: i64,
    origin: &SessionOrigin,
) -> Result<()> {
    let public_id = crate::crypto::hex(&crate::crypto::random_array::<12>());
    c.execute(
        "INSERT INTO sessions (token_hash, agent_id, created_at, last_seen_at, public_id, device, ip)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
        params![token_hash, agent_id, at, public_id, origin.device, origin.ip],
    )?;
    Ok(())
}

/// One of an agent's sign-ins as they see it: no token, no hash.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SessionInfo {
    /// The opaque public id.
    pub id: String,
    /// Browser and system at sign-in.
    pub device: String,
    /// Truncated address at sign-in.
    pub ip: String,
    /// Unix seconds at sign-in.
    pub created_at: i64,
    /// Unix seconds of the last use (written at most once a minute).
    pub last_seen_at: i64,
    /// The session of the request that asked.
    pub current: bool,
}

/// Which stored sessions still count: used at or after `seen_since` and begun at or after
/// `begun_since` (Unix seconds). A session past its limits stays stored until its cookie is
/// next presented, and is not shown.
#[derive(Debug, Clone, Copy)]
pub struct Alive {
    /// Earliest last use that is not idle too long.
    pub seen_since: i64,
    /// Earliest sign-in that is not past the absolute limit.
    pub begun_since: i64,
}

impl Alive {
    /// Every stored session.
    pub const ANY: Alive = Alive {
        seen_since: i64::MIN,
        begun_since: i64::MIN,
    };
}

/// The agent's live sessions, most recently used first; `current` marks the one with this
/// hash.
pub fn list_sessions(
    c: &Connection,
    agent_id: i64,
    current: Option<&[u8]>,
    alive: Alive,
) -> Result<Vec<SessionInfo>> {
    rows::all(
        c,
        "SELECT coalesce(public_id, ''), device, ip, created_at, last_seen_at,
                token_hash IS ?2
         FROM sessions WHERE agent_id = ?1 AND last_seen_at >= ?3 AND created_at >= ?4
         ORDER BY last_seen_at DESC, created_at DESC",
        params![agent_id, current, alive.seen_since, alive.begun_since],
        |r| {
            Ok(SessionInfo {
                id: r.get(0)?,
                device: r.get(1)?,
                ip: r.get(2)?,
                created_at: r.get(3)?,
                last_seen_at: r.get(4)?,
                current: r.get(5)?,
            })
        },
    )
}

/// Ends the agent's session with this public id; false when they have none such.
pub fn delete_session_by_id(c: &Connection, agent_id: i64, public_id: &str) -> Result<bool> {
    Ok(c.execute(
        "DELETE FROM sessions WHERE agent_id = ?1 AND public_id = ?2",
        params![agent_id, public_id],
    )? > 0)
}

/// Ends all the agent's sessions but the one with `keep` (all of them when `None`); returns
/// how many ended.
pub fn delete_agent_sessions(c: &Connection, agent_id: i64, keep: Option<&[u8]>) -> Result<usize> {
    Ok(c.execute(
        "DELETE FROM sessions WHERE agent_id = ?1 AND token_hash IS NOT ?2",
        params![agent_id, keep],
    )?)
}

/// The live session with this token hash, if any (disabled agents have none).
pub fn session(c: &Connection, token_hash: &[u8]) -> Result<Option<SessionRecord>> {
    Ok(c.query_row(
        &format!(
            "SELECT {AGENT_COLUMNS}, s.created_at, s.last_seen_at FROM sessions s
             JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = ?1 AND a.disabled = 0"
        ),
        [token_hash],
        |r| {
            Ok(SessionRecord {
                agent: agent_from_row(r)?,
                created_at: r.get(AGENT_COLS)?,
                last_seen_at: r.get(AGENT_COLS + 1)?,
            })
        },
    )
    .optional()?)
}

/// Marks a session as used at `at`.
pub fn touch_session(c: &Connection, token_hash: &[u8], at: i64) -> Result<()> {
    c.execute(
        "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
        params![token_hash, at],
    )?;
    Ok(())
}

/// Ends one session.
pub fn delete_session(c: &Connection, token_hash: &[u8]) -> Result<()> {
    c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

/// Number of agents (for `tenant show`).
pub fn agent_count(c: &Connection) -> Result<i64> {
    Ok(c.query_row("SELECT count(*) FROM agents", [], |r| r.get(0))?)
}

/// A department.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DepartmentRecord {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Its own time before agents are alerted again about a waiting chat (`None`: the
    /// tenant's; 0: never).
    #[serde(default)]
    pub queue_alert_secs: Option<u32>,
    /// Its own time before a waiting visitor is offered to leave a message (`None`: the
    /// tenant's; 0: never).
    #[serde(default)]
    pub offline_offer_secs: Option<u32>,
}

/// The columns of a [`DepartmentRecord`].
const DEPARTMENT_COLUMNS: &str = "id, name, queue_alert_secs, offline_offer_secs";

fn department_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DepartmentRecord> {
    Ok(from_row!(r => DepartmentRecord { id, name, queue_alert_secs, offline_offer_secs }))
}

/// One department.
pub fn department(c: &Connection, id: i64) -> Result<DepartmentRecord> {
    c.query_row(
        &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE id = ?1"),
        [id],
        department_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound("department".into()))
}

/// Sets a department's own waiting times (`None`: follow the tenant's).
pub fn set_department_waiting(
    c: &Connection,
    id: i64,
    own: crate::model::waiting::Own,
) -> Result<DepartmentRecord> {
    c.execute(
        "UPDATE departments SET queue_alert_secs = ?2, offline_offer_secs = ?3 WHERE id = ?1",
        params![id, own.alert, own.offer],
    )?;
    department(c, id)
}

/// Adds a department; names are unique.
pub fn insert_department(c: &Connection, name: &str) -> Result<DepartmentRecord> {
    c.execute("INSERT INTO departments (name) VALUES (?1)", [name])
        .map_err(|e| rows::conflict(e, || format!("department {name:?} exists already")))?;
    department(c, c.last_insert_rowid())
}

/// Every department, by name.
pub fn list_departments(c: &Connection) -> Result<Vec<DepartmentRecord>> {
    rows::all(
        c,
        &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments ORDER BY name"),
        [],
        department_from_row,
    )
}

/// Sets an agent's capacity and, when given, replaces their departments (by name).
pub fn update_agent(
    c: &mut Connection,
    email: &str,
    capacity: Option<i64>,
    departments: Option<&[String]>,
) -> Result<AgentRecord> {
    let tx = c.transaction()?;
    let id: i64 = tx
        .query_row("SELECT id FROM agents WHERE email = ?1", [email], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("agent {email:?}")))?;
    if let Some(cap) = capacity {
        tx.execute(
            "UPDATE agents SET capacity = ?2 WHERE id = ?1",
            params![id, cap],
        )?;
    }
    if let Some(names) = departments {
        tx.execute("DELETE FROM agent_departments WHERE agent_id = ?1", [id])?;
        for name in names {
            let dep: i64 = tx
                .query_row("SELECT id FROM departments WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| Error::NotFound(format!("department {name:?}")))?;
            tx.execute(
                "INSERT INTO agent_departments (agent_id, department_id) VALUES (?1, ?2)",
                params![id, dep],
            )?;
        }
    }
    let rec = tx.query_row(
        &format!("SELECT {AGENT_COLUMNS} FROM agents a WHERE a.id = ?1"),
        [id],
        agent_from_row,
    )?;
    tx.commit()?;
    Ok(rec)
}

/// The ids of every department.
pub fn department_ids(c: &Connection) -> Result<Vec<i64>> {
    rows::all(c, "SELECT id FROM departments ORDER BY id", [], |r| {
        r.get(0)
    })
}

/// Renames a department; names are unique.
pub fn rename_department(c: &Connection, id: i64, name: &str) -> Result<DepartmentRecord> {
    let n = c
        .execute(
            "UPDATE departments SET name = ?2 WHERE id = ?1",
            params![id, name],
        )
        .map_err(|e| rows::conflict(e, || format!("department {name:?} exists already")))?;
    if n == 0 {
        return Err(Error::NotFound("department".into()));
    }
    department(c, id)
}

/// Deletes a department: its agents leave it, and its chats (waiting ones included) lose
/// it, so waiting chats go to the general queue. Gives the number of waiting chats moved.
pub fn delete_department(c: &mut Connection, id: i64) -> Result<usize> {
    let tx = c.transaction()?;
    let moved = tx.execute(
        "UPDATE conversations SET department_id = NULL
         WHERE department_id = ?1 AND status = 'waiting'",
        [id],
    )?;
    tx.execute(
        "UPDATE conversations SET department_id = NULL WHERE department_id = ?1",
        [id],
    )?;
    tx.execute(
        "DELETE FROM agent_departments WHERE department_id = ?1",
        [id],
    )?;
    if tx.execute("DELETE FROM departments WHERE id = ?1", [id])? == 0 {
        return Err(Error::NotFound("department".into()));
    }
    tx.commit()?;
    Ok(moved)
}

/// Every agent's capacity and department ids, by agent id.
pub fn agent_loads(c: &Connection) -> Result<Vec<(i64, i64, Vec<i64>)>> {
    let caps: Vec<(i64, i64)> =
        rows::all(c, "SELECT id, capacity FROM agents ORDER BY id", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let pairs: Vec<(i64, i64)> = rows::all(
        c,
        "SELECT agent_id, department_id FROM agent_departments ORDER BY department_id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(caps
        .into_iter()
        .map(|(id, cap)| {
            let deps = pairs.iter().filter(|p| p.0 == id).map(|p| p.1).collect();
            (id, cap, deps)
        })
        .collect())
}
