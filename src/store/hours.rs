//! Business hours rows: the tenant's default (`department_id` 0) and departments' own.

use crate::error::{Error, Result};
use crate::model::hours::{Hours, HoursInput};
use rusqlite::{Connection, OptionalExtension, params};

/// The row of the tenant's default hours.
pub const TENANT_DEFAULT: i64 = 0;

/// The hours of `department` (0: the tenant's default); `None` is always open.
pub fn get(c: &Connection, department: i64) -> Result<Option<Hours>> {
    let rules: Option<String> = c
        .query_row(
            "SELECT rules FROM business_hours WHERE department_id = ?1",
            [department],
            |r| r.get(0),
        )
        .optional()?;
    let Some(rules) = rules else {
        return Ok(None);
    };
    let input: HoursInput = serde_json::from_str(&rules)
        .map_err(|e| Error::Invalid(format!("stored business hours: {e}")))?;
    Hours::parse(input).map(Some)
}

/// Sets (`Some`) or removes (`None`: always open) the hours of `department`.
pub fn set(c: &Connection, department: i64, hours: Option<&Hours>, at: i64) -> Result<()> {
    match hours {
        Some(h) => {
            let rules = serde_json::to_string(h.input())
                .map_err(|e| Error::Invalid(format!("business hours: {e}")))?;
            c.execute(
                "INSERT INTO business_hours (department_id, rules, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (department_id) DO UPDATE SET rules = ?2, updated_at = ?3",
                params![department, rules, at],
            )?;
        }
        None => {
            c.execute(
                "DELETE FROM business_hours WHERE department_id = ?1",
                [department],
            )?;
        }
    }
    Ok(())
}

/// Whether `department` exists (0, the tenant's default, always does).
pub fn scope_exists(c: &Connection, department: i64) -> Result<bool> {
    if department == TENANT_DEFAULT {
        return Ok(true);
    }
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM departments WHERE id = ?1)",
        [department],
        |r| r.get(0),
    )?)
}
