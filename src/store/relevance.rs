//! Visitor relevance settings: each site's weights (the defaults where none are stored) and
//! each agent's alarm threshold.

use super::rows;
use crate::error::Result;
use crate::model::relevance::Weights;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

fn weights_from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Weights> {
    let w =
        |i: usize| -> rusqlite::Result<u8> { Ok(r.get::<_, i64>(first + i)?.clamp(0, 10) as u8) };
    Ok(Weights {
        pages: w(0)?,
        time: w(1)?,
        campaign: w(2)?,
        goal: w(3)?,
        returning: w(4)?,
        chats: w(5)?,
    })
}

/// A site's weights, if set.
pub fn weights(c: &Connection, site_key: &str) -> Result<Option<Weights>> {
    Ok(c.query_row(
        "SELECT pages, time, campaign, goal, visits, chats FROM relevance_weights
         WHERE site_key = ?1",
        [site_key],
        |r| weights_from_row(r, 0),
    )
    .optional()?)
}

/// Every site's weights that are set.
pub fn all_weights(c: &Connection) -> Result<HashMap<String, Weights>> {
    rows::all(
        c,
        "SELECT site_key, pages, time, campaign, goal, visits, chats FROM relevance_weights",
        [],
        |r| Ok((r.get(0)?, weights_from_row(r, 1)?)),
    )
}

/// Sets a site's weights.
pub fn set_weights(c: &Connection, site_key: &str, w: &Weights) -> Result<()> {
    c.execute(
        "INSERT INTO relevance_weights (site_key, pages, time, campaign, goal, visits, chats)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (site_key) DO UPDATE SET pages = ?2, time = ?3, campaign = ?4, goal = ?5,
             visits = ?6, chats = ?7",
        params![
            site_key,
            w.pages,
            w.time,
            w.campaign,
            w.goal,
            w.returning,
            w.chats
        ],
    )?;
    Ok(())
}

/// Back to the defaults.
pub fn reset_weights(c: &Connection, site_key: &str) -> Result<()> {
    c.execute(
        "DELETE FROM relevance_weights WHERE site_key = ?1",
        [site_key],
    )?;
    Ok(())
}

/// Sets an agent's alarm threshold (none: off).
pub fn set_alarm(c: &Connection, agent_id: i64, threshold: Option<u8>) -> Result<()> {
    c.execute(
        "UPDATE agents SET relevance_alarm = ?2 WHERE id = ?1",
        params![agent_id, threshold],
    )?;
    Ok(())
}

/// Chats a visitor had before (consented visitors are recognised across visits).
pub fn earlier_chats(c: &Connection, visitor_id: i64) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT count(*) FROM conversations WHERE visitor_id = ?1")?
            .query_row([visitor_id], |r| r.get(0))?,
    )
}
