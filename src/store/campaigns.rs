//! Advertising campaigns and goals: what admins define, which campaign started a visit, the
//! goals a visit reached, and each campaign's figures over a period.

use super::aggregates::CampaignDay;
use super::period::{Period, day_of, day_start};
use super::rows;
use crate::error::{Error, Result};
use crate::model::tracking::glob;
use rusqlite::{Connection, OptionalExtension, Params, ToSql, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A campaign as the API shows and takes it (money in the tenant's currency).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// Id (ignored on input).
    #[serde(default)]
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// e.g. email, search ads.
    #[serde(default)]
    pub channel: String,
    /// Matched against the entry page's `utm_source` (empty: any).
    #[serde(default)]
    pub utm_source: String,
    /// … `utm_medium`.
    #[serde(default)]
    pub utm_medium: String,
    /// … `utm_campaign`.
    #[serde(default)]
    pub utm_campaign: String,
    /// First day, `YYYY-MM-DD`.
    pub starts_on: String,
    /// Last day, or open.
    #[serde(default)]
    pub ends_on: Option<String>,
    /// Total cost.
    #[serde(default)]
    pub cost: f64,
    /// Cost per visit (click).
    #[serde(default)]
    pub cost_per_visit: f64,
}

/// A goal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// Id (ignored on input).
    #[serde(default)]
    pub id: i64,
    /// Unique name, as the site's `kontor('goal', NAME)` uses it.
    pub name: String,
    /// Glob over page addresses (empty: reached only through the JavaScript call).
    #[serde(default)]
    pub url_pattern: String,
    /// Default value.
    #[serde(default)]
    pub value: f64,
}

fn cents(v: f64, what: &str) -> Result<i64> {
    if !(0.0..=1e9).contains(&v) || !v.is_finite() {
        return Err(Error::Invalid(format!("{what}: 0 to 1,000,000,000")));
    }
    Ok((v * 100.0).round() as i64)
}

fn text(v: &str, what: &str, min: usize, max: usize) -> Result<String> {
    let t = v.trim().to_string();
    let n = t.chars().count();
    if n < min || n > max || t.chars().any(crate::model::text::is_unsafe) {
        return Err(Error::Invalid(format!(
            "{what}: {min} to {max} characters, without control characters or bidi overrides"
        )));
    }
    Ok(t)
}

/// A campaign row ready to store.
pub struct CampaignRow {
    name: String,
    channel: String,
    utm: [String; 3],
    starts_on: i64,
    ends_on: Option<i64>,
    cost_cents: i64,
    cost_per_visit_cents: i64,
}

/// Checks what an admin sent.
pub fn check_campaign(c: &Campaign) -> Result<CampaignRow> {
    let utm = [
        text(&c.utm_source, "utm_source", 0, 100)?,
        text(&c.utm_medium, "utm_medium", 0, 100)?,
        text(&c.utm_campaign, "utm_campaign", 0, 100)?,
    ];
    if utm.iter().all(String::is_empty) {
        return Err(Error::Invalid(
            "give at least one of utm_source, utm_medium and utm_campaign".into(),
        ));
    }
    let day = |v: &str, what: &str| {
        day_start(v).ok_or_else(|| Error::Invalid(format!("{what}: a date as YYYY-MM-DD")))
    };
    let starts_on = day(&c.starts_on, "starts_on")?;
    let ends_on = c
        .ends_on
        .as_deref()
        .map(|v| day(v, "ends_on"))
        .transpose()?;
    if ends_on.is_some_and(|e| e < starts_on) {
        return Err(Error::Invalid("ends_on is before starts_on".into()));
    }
    Ok(CampaignRow {
        name: text(&c.name, "name", 1, 100)?,
        channel: text(&c.channel, "channel", 0, 50)?,
        utm,
        starts_on,
        ends_on,
        cost_cents: cents(c.cost, "cost")?,
        cost_per_visit_cents: cents(c.cost_per_visit, "cost_per_visit")?,
    })
}

fn conflict(e: rusqlite::Error, what: &str) -> Error {
    rows::conflict(e, || format!("a {what} with this name exists already"))
}

/// Money as the API shows it, from the cents stored.
fn money(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// A stored day as the API shows it, if there is one.
fn optional_day(start: Option<i64>) -> Option<String> {
    start.map(day_of)
}

const CAMPAIGN_COLUMNS: &str = "id, name, channel, utm_source, utm_medium, utm_campaign, starts_on, ends_on, cost_cents, cost_per_visit_cents";

fn campaign_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Campaign> {
    Ok(from_row!(r => Campaign {
        id, name, channel, utm_source, utm_medium, utm_campaign, starts_on = day_of,
        ends_on = optional_day, cost = money, cost_per_visit = money,
    }))
}

/// Every campaign, oldest first.
pub fn list_campaigns(c: &Connection) -> Result<Vec<Campaign>> {
    rows::all(
        c,
        &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id"),
        [],
        campaign_from_row,
    )
}

fn campaign(c: &Connection, id: i64) -> Result<Option<Campaign>> {
    Ok(c.query_row(
        &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?1"),
        [id],
        campaign_from_row,
    )
    .optional()?)
}

impl CampaignRow {
    /// `first` as `?1`, then the row's columns as `?2` to `?10`: name, channel, utm_source,
    /// utm_medium, utm_campaign, starts_on, ends_on, cost_cents, cost_per_visit_cents.
    fn params<'a>(&'a self, first: &'a dyn ToSql) -> impl Params + 'a {
        rows::first_then(
            first,
            [
                &self.name,
                &self.channel,
                &self.utm[0],
                &self.utm[1],
                &self.utm[2],
                &self.starts_on,
                &self.ends_on,
                &self.cost_cents,
                &self.cost_per_visit_cents,
            ],
        )
    }
}

/// Stores a new campaign.
pub fn insert_campaign(c: &Connection, r: &CampaignRow, at: i64) -> Result<Campaign> {
    c.execute(
        "INSERT INTO campaigns (created_at, name, channel, utm_source, utm_medium, utm_campaign,
                                starts_on, ends_on, cost_cents, cost_per_visit_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        r.params(&at),
    )
    .map_err(|e| conflict(e, "campaign"))?;
    campaign(c, c.last_insert_rowid())?.ok_or_else(|| Error::Internal("campaign vanished".into()))
}

/// Replaces a campaign; `None` when there is none with this id.
pub fn update_campaign(c: &Connection, id: i64, r: &CampaignRow) -> Result<Option<Campaign>> {
    let n = c
        .execute(
            "UPDATE campaigns SET name = ?2, channel = ?3, utm_source = ?4, utm_medium = ?5,
                 utm_campaign = ?6, starts_on = ?7, ends_on = ?8, cost_cents = ?9,
                 cost_per_visit_cents = ?10 WHERE id = ?1",
            r.params(&id),
        )
        .map_err(|e| conflict(e, "campaign"))?;
    if n == 0 {
        return Ok(None);
    }
    campaign(c, id)
}

/// Deletes a campaign (its visits stay, unattributed).
pub fn delete_campaign(c: &Connection, id: i64) -> Result<bool> {
    Ok(c.execute("DELETE FROM campaigns WHERE id = ?1", [id])? == 1)
}

/// Checks a goal an admin sent; returns it cleaned with its value in cents.
pub fn check_goal(g: &Goal) -> Result<(Goal, i64)> {
    let name = g.name.trim().to_string();
    let ok = (1..=60).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(Error::Invalid(
            "name: 1 to 60 characters of A-Z, a-z, 0-9, _ and -".into(),
        ));
    }
    let url_pattern = text(&g.url_pattern, "url_pattern", 0, 500)?;
    let value = cents(g.value, "value")?;
    Ok((
        Goal {
            id: g.id,
            name,
            url_pattern,
            value: money(value),
        },
        value,
    ))
}

/// Every goal.
pub fn list_goals(c: &Connection) -> Result<Vec<Goal>> {
    rows::all(
        c,
        "SELECT id, name, url_pattern, value_cents FROM goals ORDER BY id",
        [],
        |r| Ok(from_row!(r => Goal { id, name, url_pattern, value = money })),
    )
}

/// Stores a new goal.
pub fn insert_goal(c: &Connection, g: &Goal, value_cents: i64, at: i64) -> Result<Goal> {
    c.execute(
        "INSERT INTO goals (name, url_pattern, value_cents, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![g.name, g.url_pattern, value_cents, at],
    )
    .map_err(|e| conflict(e, "goal"))?;
    Ok(Goal {
        id: c.last_insert_rowid(),
        ..g.clone()
    })
}

/// Replaces a goal; `false` when there is none with this id.
pub fn update_goal(c: &Connection, id: i64, g: &Goal, value_cents: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE goals SET name = ?2, url_pattern = ?3, value_cents = ?4 WHERE id = ?1",
        params![id, g.name, g.url_pattern, value_cents],
    )
    .map_err(|e| conflict(e, "goal"))?
        == 1)
}

/// Deletes a goal and its conversions.
pub fn delete_goal(c: &Connection, id: i64) -> Result<bool> {
    Ok(c.execute("DELETE FROM goals WHERE id = ?1", [id])? == 1)
}

/// What the hub needs to attribute visits and count goals.
#[derive(Debug, Clone, Default)]
pub struct Matchers {
    /// `(id, [utm_source, utm_medium, utm_campaign], starts_on, ends_on)`.
    pub campaigns: Vec<(i64, [String; 3], i64, Option<i64>)>,
    /// `(id, name, url_pattern, value_cents)`.
    pub goals: Vec<(i64, String, String, i64)>,
}

/// Loads the matchers.
pub fn matchers(c: &Connection) -> Result<Matchers> {
    let campaigns = rows::all(
        c,
        "SELECT id, utm_source, utm_medium, utm_campaign, starts_on, ends_on FROM campaigns ORDER BY id",
        [],
        |r| {
            Ok((
                r.get(0)?,
                [r.get(1)?, r.get(2)?, r.get(3)?],
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    let goals = rows::all(
        c,
        "SELECT id, name, url_pattern, value_cents FROM goals ORDER BY id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(Matchers { campaigns, goals })
}

impl Matchers {
    /// The campaign that a visit with these `utm_*` values starting at `at` belongs to: the
    /// first (by id) whose given values all match, running that day.
    pub fn campaign_for(&self, utm: [&str; 3], at: i64) -> Option<i64> {
        self.campaigns
            .iter()
            .find(|(_, want, starts, ends)| {
                at >= *starts
                    && ends.is_none_or(|e| at < e + 86_400)
                    && want.iter().any(|w| !w.is_empty())
                    && want.iter().zip(utm).all(|(w, v)| w.is_empty() || w == v)
            })
            .map(|(id, ..)| *id)
    }

    /// Goals whose address pattern this page matches: `(id, value_cents)`.
    pub fn goals_for_url<'a>(&'a self, url: &'a str) -> impl Iterator<Item = (i64, i64)> + 'a {
        self.goals
            .iter()
            .filter(move |(_, _, p, _)| !p.is_empty() && glob(p, url))
            .map(|(id, _, _, v)| (*id, *v))
    }

    /// The goal with this name: `(id, value_cents)`.
    pub fn goal_named(&self, name: &str) -> Option<(i64, i64)> {
        self.goals
            .iter()
            .find(|(_, n, _, _)| n == name)
            .map(|(id, _, _, v)| (*id, *v))
    }
}

/// Records that a visit reached a goal (once per visit and goal).
pub fn convert(
    c: &Connection,
    visit_id: i64,
    goal_id: i64,
    value_cents: i64,
    at: i64,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO conversions (visit_id, goal_id, value_cents, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (visit_id, goal_id) DO NOTHING",
    )?
    .execute(params![visit_id, goal_id, value_cents, at])?;
    Ok(())
}

/// Attributes a visit to a campaign.
pub fn attribute(c: &Connection, visit_id: i64, campaign_id: i64) -> Result<()> {
    c.prepare_cached("UPDATE visits SET campaign_id = ?2 WHERE id = ?1")?
        .execute(params![visit_id, campaign_id])?;
    Ok(())
}

/// One campaign's figures over a period (`docs/statistics.md`, "Campaigns").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CampaignFigures {
    /// The campaign.
    pub campaign_id: i64,
    /// Its name.
    pub name: String,
    /// Its channel.
    pub channel: String,
    /// Visits it started in the period.
    pub visits: i64,
    /// Distinct visitors of those visits.
    pub visitors: i64,
    /// Chats started in those visits.
    pub chats: i64,
    /// Goals reached in those visits.
    pub conversions: i64,
    /// Share of those visits that reached a goal.
    pub conversion_rate: f64,
    /// Sum of the reached goals' values.
    pub revenue: f64,
    /// The campaign's cost in the period.
    pub cost: f64,
    /// Cost per visit, chat and conversion (none when dividing by zero).
    pub cost_per_visit: Option<f64>,
    /// …
    pub cost_per_chat: Option<f64>,
    /// …
    pub cost_per_conversion: Option<f64>,
    /// (revenue − cost) / cost, none without cost.
    pub roi: Option<f64>,
}

/// Every campaign with a visit in the period or running in it. The total cost is spread evenly
/// over the campaign's days (an open campaign's over the days up to the period's end); the
/// cost per visit counts the period's visits. `counts` are the period's aggregated figures.
pub fn figures(
    c: &Connection,
    p: Period,
    counts: &BTreeMap<i64, CampaignDay>,
) -> Result<Vec<CampaignFigures>> {
    let mut out = Vec::new();
    // (id, name, channel, starts_on, ends_on, cost_cents, cost_per_visit_cents)
    type Row = (i64, String, String, i64, Option<i64>, i64, i64);
    let campaigns: Vec<Row> = rows::all(
        c,
        "SELECT id, name, channel, starts_on, ends_on, cost_cents, cost_per_visit_cents
         FROM campaigns ORDER BY id",
        [],
        |r| Row::try_from(r),
    )?;
    for (id, name, channel, starts, ends, cost_cents, per_visit_cents) in campaigns {
        let k = counts.get(&id).cloned().unwrap_or_default();
        let (visits, chats, conversions) = (k.visits as i64, k.chats as i64, k.conversions as i64);
        let (visitors, converted) = (k.visitors.estimate() as i64, k.converted as i64);
        let revenue_cents = k.revenue_cents;
        let last = ends
            .map(|e| e + 86_400)
            .unwrap_or(p.end)
            .max(starts + 86_400);
        let overlap = (last.min(p.end) - starts.max(p.start)).max(0);
        let running = overlap > 0;
        if visits == 0 && !running {
            continue;
        }
        let share = overlap as f64 / (last - starts) as f64;
        let cost = (cost_cents as f64 * share + (per_visit_cents * visits) as f64) / 100.0;
        let per = |n: i64| (n > 0).then(|| cost / n as f64);
        let revenue = money(revenue_cents);
        out.push(CampaignFigures {
            campaign_id: id,
            name,
            channel,
            visits,
            visitors,
            chats,
            conversions,
            conversion_rate: if visits == 0 {
                0.0
            } else {
                converted as f64 / visits as f64
            },
            revenue,
            cost,
            cost_per_visit: per(visits),
            cost_per_chat: per(chats),
            cost_per_conversion: per(conversions),
            roi: (cost > 0.0).then(|| (revenue - cost) / cost),
        });
    }
    Ok(out)
}
