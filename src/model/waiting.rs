//! How long a chat may wait before the agents who may take it are alerted again, and before
//! its visitor is offered to leave a message instead: the tenant's times, and a department's
//! own where it has them.

use crate::error::{Error, Result};
use std::collections::HashMap;

/// The shortest time that may be set (0 turns the step off).
pub const MIN_SECS: u32 = 30;
/// The longest.
pub const MAX_SECS: u32 = 3600;

/// Refuses a time that is neither 0 (off) nor within `MIN_SECS..=MAX_SECS`, naming the field.
pub fn check_secs(field: &str, secs: u32) -> Result<u32> {
    if secs == 0 || (MIN_SECS..=MAX_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(Error::Invalid(format!(
            "{field} must be 0 (off) or {MIN_SECS} to {MAX_SECS} seconds"
        )))
    }
}

/// Alert and offer times, in seconds (0: never).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Times {
    /// Agents are alerted again after this long.
    pub alert: u32,
    /// The visitor is offered to leave a message after this long.
    pub offer: u32,
}

/// A department's own times; `None` follows the tenant's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Own {
    /// Its alert time.
    pub alert: Option<u32>,
    /// Its offer time.
    pub offer: Option<u32>,
}

/// The tenant's times and the departments that set their own.
#[derive(Debug, Clone, Default)]
pub struct WaitingTimes {
    /// The tenant's times (chats without a department, and departments without their own).
    pub tenant: Times,
    /// Departments with at least one time of their own.
    pub departments: HashMap<i64, Own>,
}

impl WaitingTimes {
    /// The times that hold for a chat in `department`.
    pub fn of(&self, department: Option<i64>) -> Times {
        let own = department
            .and_then(|d| self.departments.get(&d))
            .copied()
            .unwrap_or_default();
        Times {
            alert: own.alert.unwrap_or(self.tenant.alert),
            offer: own.offer.unwrap_or(self.tenant.offer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_department_overrides_only_what_it_sets() {
        let w = WaitingTimes {
            tenant: Times {
                alert: 120,
                offer: 300,
            },
            departments: [(
                7,
                Own {
                    alert: Some(30),
                    offer: None,
                },
            )]
            .into(),
        };
        assert_eq!(w.of(None), w.tenant);
        assert_eq!(w.of(Some(3)), w.tenant);
        assert_eq!(
            w.of(Some(7)),
            Times {
                alert: 30,
                offer: 300
            }
        );
    }

    #[test]
    fn times_are_off_or_within_bounds() {
        assert_eq!(check_secs("alert", 0).unwrap(), 0);
        assert_eq!(check_secs("alert", 30).unwrap(), 30);
        assert_eq!(check_secs("alert", 3600).unwrap(), 3600);
        let e = check_secs("queue_alert_secs", 29).unwrap_err().to_string();
        assert!(
            e.contains("queue_alert_secs") && e.contains("30 to 3600"),
            "{e}"
        );
        assert!(check_secs("x", 3601).is_err());
    }
}
