//! `kontor hours …`: a tenant's business hours (its default, which the widget follows, or a
//! department's). A running server reads them when a chat starts or the widget asks, so a
//! change counts at once.

use crate::admin::{Ctx, Request, Response};
use crate::domain::hours;
use crate::error::{Error, Result};
use crate::model::hours::{ClosedDay, HoursInput, SpecialDay, WEEKDAYS, parse_week, status_at};
use crate::store::hours::TENANT_DEFAULT;
use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// `kontor hours …`
#[derive(Debug, Subcommand)]
pub enum HoursCmd {
    /// Show the business hours (none set: always open)
    Show {
        /// Tenant slug
        tenant: String,
        /// A department's own hours instead of the tenant's default
        #[arg(long)]
        department: Option<i64>,
    },
    /// Set the business hours, replacing what was set
    Set {
        /// Tenant slug
        tenant: String,
        /// A department's own hours instead of the tenant's default
        #[arg(long)]
        department: Option<i64>,
        /// IANA time zone, e.g. Europe/Berlin
        #[arg(long)]
        tz: String,
        /// Weekly hours: days (mon, mon-fri, mon,wed) and intervals, parts separated by `;`,
        /// e.g. "mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00" (24:00 for midnight;
        /// days not named are closed)
        #[arg(long, default_value = "")]
        week: String,
        /// A closed day, YYYY-MM-DD or YYYY-MM-DD=Label (repeatable)
        #[arg(long)]
        closed: Vec<String>,
        /// A day with its own hours instead of its weekday's, YYYY-MM-DD=09:00-12:00[,13:00-15:00]
        /// (repeatable)
        #[arg(long)]
        special: Vec<String>,
    },
    /// Remove the business hours: always open
    Clear {
        /// Tenant slug
        tenant: String,
        /// A department's own hours instead of the tenant's default
        #[arg(long)]
        department: Option<i64>,
    },
}

/// The hours requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum HoursRequest {
    /// `hours show`
    #[serde(rename = "hours_show")]
    Show {
        /// Tenant slug.
        tenant: String,
        /// Department id; absent: the tenant's default.
        department: Option<i64>,
    },
    /// `hours set` and `hours clear` (`hours: None`).
    #[serde(rename = "hours_set")]
    Set {
        /// Tenant slug.
        tenant: String,
        /// Department id; absent: the tenant's default.
        department: Option<i64>,
        /// The hours; `None`: always open.
        hours: Option<HoursInput>,
    },
}

/// `2026-12-25=Christmas` or `2026-12-25`.
fn closed_day(arg: &str) -> ClosedDay {
    let (date, label) = arg.split_once('=').unwrap_or((arg, ""));
    ClosedDay {
        date: date.trim().into(),
        label: label.trim().into(),
    }
}

/// `2026-12-24=09:00-12:00,13:00-15:00`.
fn special_day(arg: &str) -> Result<SpecialDay> {
    let (date, times) = arg.split_once('=').ok_or_else(|| {
        Error::Invalid(format!(
            "special: \"{arg}\" needs a date and hours, e.g. 2026-12-24=09:00-12:00"
        ))
    })?;
    Ok(SpecialDay {
        date: date.trim().into(),
        hours: times
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect(),
    })
}

impl HoursCmd {
    /// The request this command sends (the line syntax is checked here, the rules by the
    /// server).
    pub fn request(&self) -> Result<Request> {
        Ok(Request::Hours(match self {
            HoursCmd::Show { tenant, department } => HoursRequest::Show {
                tenant: tenant.clone(),
                department: *department,
            },
            HoursCmd::Set {
                tenant,
                department,
                tz,
                week,
                closed,
                special,
            } => HoursRequest::Set {
                tenant: tenant.clone(),
                department: *department,
                hours: Some(HoursInput {
                    time_zone: tz.clone(),
                    week: parse_week(week)?,
                    closed: closed.iter().map(|c| closed_day(c)).collect(),
                    special: special
                        .iter()
                        .map(|s| special_day(s))
                        .collect::<Result<_>>()?,
                }),
            },
            HoursCmd::Clear { tenant, department } => HoursRequest::Set {
                tenant: tenant.clone(),
                department: *department,
                hours: None,
            },
        }))
    }
}

impl HoursRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let now = cx.clock.now();
        match self {
            HoursRequest::Show { tenant, department } => {
                let scope = department.unwrap_or(TENANT_DEFAULT);
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let h = db.with(|c| hours::show(c, scope))?;
                Ok(report(department, h, now))
            }
            HoursRequest::Set {
                tenant,
                department,
                hours: input,
            } => {
                let scope = department.unwrap_or(TENANT_DEFAULT);
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let h = db.with(|c| hours::save(c, scope, input, now))?;
                let object = match department {
                    None => "hours".to_string(),
                    Some(d) => format!("hours:department#{d}"),
                };
                crate::admin::tenant_audit(cx.store, &tenant, "settings.update", &object);
                Ok(report(department, h, now))
            }
        }
    }
}

/// The hours for `--json` and as lines for people.
fn report(department: Option<i64>, h: Option<HoursInput>, now: i64) -> Response {
    let parsed = h
        .clone()
        .and_then(|i| crate::model::hours::Hours::parse(i).ok());
    let status = status_at(parsed.as_ref(), now);
    let next_open = status
        .next_open
        .map(|t| crate::clock::rfc3339(t.as_second()));
    let value = serde_json::json!({
        "department_id": department,
        "hours": h,
        "open": status.open,
        "next_open": next_open,
    });
    let mut lines = Vec::new();
    match &h {
        None => lines.push("no business hours set: always open".to_string()),
        Some(h) => {
            lines.push(format!("time zone  {}", h.time_zone));
            for d in WEEKDAYS {
                let times = h.week.get(d).map(|l| l.join(", "));
                lines.push(format!("{d:<10} {}", times.as_deref().unwrap_or("closed")));
            }
            for c in &h.closed {
                lines.push(
                    format!("closed     {} {}", c.date, c.label)
                        .trim_end()
                        .into(),
                );
            }
            for s in &h.special {
                lines.push(format!("special    {} {}", s.date, s.hours.join(", ")));
            }
            lines.push(match (status.open, next_open) {
                (true, _) => "now        open".into(),
                (false, Some(t)) => format!("now        closed, opens {t}"),
                (false, None) => "now        closed, no opening within a year".into(),
            });
        }
    }
    Response::Report {
        value,
        lines,
        ok: true,
    }
}
