//! Campaigns and goals (the campaigns permission): list, create, change, delete, through
//! [`super::crud`]; each change is audited and makes the tenant's hub read them again.

use super::agent::Agent;
use super::crud::HubRows;
use crate::error::{ApiError, Result};
use crate::model::rights::Permission;
use crate::store::campaigns::{self as cstore, Campaign, CampaignRow, Goal};
use rusqlite::Connection;

/// `/api/campaigns[/{id}]`.
pub struct Campaigns;

impl HubRows for Campaigns {
    const KIND: &'static str = "campaign";
    const LIST: &'static str = "campaigns";
    const READ: &'static [Permission] = &[Permission::CampaignsManage];
    const PERMISSION: Permission = Permission::CampaignsManage;
    type Row = Campaign;
    type Checked = CampaignRow;

    fn list(c: &Connection) -> Result<Vec<Campaign>> {
        cstore::list_campaigns(c)
    }
    async fn check(_: &Agent, row: Campaign) -> std::result::Result<CampaignRow, ApiError> {
        Ok(cstore::check_campaign(&row)?)
    }
    fn insert(c: &Connection, row: &CampaignRow, at: i64) -> Result<Campaign> {
        cstore::insert_campaign(c, row, at)
    }
    fn update(c: &Connection, id: i64, row: CampaignRow) -> Result<Option<Campaign>> {
        cstore::update_campaign(c, id, &row)
    }
    fn delete(c: &Connection, id: i64) -> Result<bool> {
        cstore::delete_campaign(c, id)
    }
    fn id(row: &Campaign) -> i64 {
        row.id
    }
}

/// `/api/goals[/{id}]`; a goal is stored with its value in cents.
pub struct Goals;

impl HubRows for Goals {
    const KIND: &'static str = "goal";
    const LIST: &'static str = "goals";
    const READ: &'static [Permission] = &[Permission::CampaignsManage];
    const PERMISSION: Permission = Permission::CampaignsManage;
    type Row = Goal;
    type Checked = (Goal, i64);

    fn list(c: &Connection) -> Result<Vec<Goal>> {
        cstore::list_goals(c)
    }
    async fn check(_: &Agent, row: Goal) -> std::result::Result<(Goal, i64), ApiError> {
        Ok(cstore::check_goal(&row)?)
    }
    fn insert(c: &Connection, (goal, value): &(Goal, i64), at: i64) -> Result<Goal> {
        cstore::insert_goal(c, goal, *value, at)
    }
    fn update(c: &Connection, id: i64, (goal, value): (Goal, i64)) -> Result<Option<Goal>> {
        let found = cstore::update_goal(c, id, &goal, value)?;
        Ok(found.then_some(Goal { id, ..goal }))
    }
    fn delete(c: &Connection, id: i64) -> Result<bool> {
        cstore::delete_goal(c, id)
    }
    fn id(row: &Goal) -> i64 {
        row.id
    }
}
