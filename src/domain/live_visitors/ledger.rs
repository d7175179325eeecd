//! The rows the live-visitor rules write and the few they read, as one trait: the hub's
//! shell implements it over the batch's transaction, unit tests over memory.

use crate::domain::conversation::ledger::Tx;
use crate::error::Result;
use crate::model::relevance::Weights;
use crate::store::campaigns::{self, Matchers};
use crate::store::visits::{self, NewInvitation, NewVisit, Rule};

/// What the live-visitor rules store and look up.
pub trait VisitLedger {
    /// The invitation rules.
    fn rules(&mut self) -> Result<Vec<Rule>>;
    /// Campaigns and goals, for attribution and conversions.
    fn matchers(&mut self) -> Result<Matchers>;
    /// Each site's relevance weights that are set.
    fn relevance_weights(&mut self) -> Result<std::collections::HashMap<String, Weights>>;
    /// Chats a visitor had before.
    fn earlier_chats(&mut self, visitor_id: i64) -> Result<i64>;
    /// A consented visitor by the hash of their browser's id: `(id, visits)`.
    fn visitor_by_vid(&mut self, vid_hash: &[u8]) -> Result<Option<(i64, i64)>>;
    /// A new visitor; their id.
    fn new_visitor(&mut self, site: &str, mode: &str, vid: Option<&[u8]>, at: i64) -> Result<i64>;
    /// A consented visitor's browser id.
    fn set_vid(&mut self, visitor_id: i64, vid_hash: &[u8]) -> Result<()>;
    /// A visit moves to the visitor it turned out to be.
    fn move_visit(&mut self, visit_id: i64, from: i64, to: i64) -> Result<()>;
    /// Counts a visit; the visitor's visits so far.
    fn count_visit(&mut self, visitor_id: i64, at: i64) -> Result<i64>;
    /// A new visit; its id.
    fn insert_visit(&mut self, v: &NewVisit<'_>) -> Result<i64>;
    /// The visit came through a campaign.
    fn attribute(&mut self, visit_id: i64, campaign_id: i64) -> Result<()>;
    /// The visit reached a goal.
    fn convert(&mut self, visit_id: i64, goal_id: i64, value_cents: i64, at: i64) -> Result<()>;
    /// A visit's last sign of life and page count.
    fn touch_visit(&mut self, visit_id: i64, last_seen: i64, pages: i64) -> Result<()>;
    /// A visitor's last sign of life.
    fn touch_visitor(&mut self, visitor_id: i64, last_seen: i64) -> Result<()>;
    /// The id of a page (address and title).
    fn page_id(&mut self, url: &str, title: &str) -> Result<i64>;
    /// A page view; its id.
    fn insert_page_view(&mut self, visit_id: i64, page_id: i64, at: i64) -> Result<i64>;
    /// The time spent on a page.
    fn set_page_seconds(&mut self, view_id: i64, seconds: i64) -> Result<()>;
    /// A new invitation; its id.
    fn insert_invitation(&mut self, n: &NewInvitation<'_>) -> Result<i64>;
    /// What became of an invitation.
    fn set_invitation_state(&mut self, id: i64, state: &str) -> Result<()>;
    /// A chat started during a visit.
    fn link_chat(&mut self, chat: i64, visitor_id: i64, visit: i64) -> Result<()>;
}

impl VisitLedger for Tx<'_> {
    fn rules(&mut self) -> Result<Vec<Rule>> {
        visits::list_rules(self.0)
    }
    fn matchers(&mut self) -> Result<Matchers> {
        campaigns::matchers(self.0)
    }
    fn relevance_weights(&mut self) -> Result<std::collections::HashMap<String, Weights>> {
        crate::store::relevance::all_weights(self.0)
    }
    fn earlier_chats(&mut self, visitor_id: i64) -> Result<i64> {
        crate::store::relevance::earlier_chats(self.0, visitor_id)
    }
    fn visitor_by_vid(&mut self, vid_hash: &[u8]) -> Result<Option<(i64, i64)>> {
        visits::visitor_by_vid(self.0, vid_hash)
    }
    fn new_visitor(&mut self, site: &str, mode: &str, vid: Option<&[u8]>, at: i64) -> Result<i64> {
        visits::insert_visitor(self.0, site, mode, vid, at)
    }
    fn set_vid(&mut self, visitor_id: i64, vid_hash: &[u8]) -> Result<()> {
        visits::set_vid(self.0, visitor_id, vid_hash)
    }
    fn move_visit(&mut self, visit_id: i64, from: i64, to: i64) -> Result<()> {
        visits::move_visit(self.0, visit_id, from, to)
    }
    fn count_visit(&mut self, visitor_id: i64, at: i64) -> Result<i64> {
        visits::count_visit(self.0, visitor_id, at)
    }
    fn insert_visit(&mut self, v: &NewVisit<'_>) -> Result<i64> {
        visits::insert_visit(self.0, v)
    }
    fn attribute(&mut self, visit_id: i64, campaign_id: i64) -> Result<()> {
        campaigns::attribute(self.0, visit_id, campaign_id)
    }
    fn convert(&mut self, visit_id: i64, goal_id: i64, value_cents: i64, at: i64) -> Result<()> {
        campaigns::convert(self.0, visit_id, goal_id, value_cents, at)?;
        // A goal counts once per visit: the event too (no row, no event).
        if self.0.changes() == 1 {
            let data = || {
                serde_json::json!({
                    "visit_id": visit_id,
                    "goal_id": goal_id,
                    "value_cents": value_cents,
                })
            };
            crate::domain::webhooks::emit(self.0, "goal.reached", data, at)?;
        }
        Ok(())
    }
    fn touch_visit(&mut self, visit_id: i64, last_seen: i64, pages: i64) -> Result<()> {
        visits::touch_visit(self.0, visit_id, last_seen, pages)
    }
    fn touch_visitor(&mut self, visitor_id: i64, last_seen: i64) -> Result<()> {
        visits::touch_visitor(self.0, visitor_id, last_seen)
    }
    fn page_id(&mut self, url: &str, title: &str) -> Result<i64> {
        visits::page_id(self.0, url, title)
    }
    fn insert_page_view(&mut self, visit_id: i64, page_id: i64, at: i64) -> Result<i64> {
        let id = visits::insert_page_view(self.0, visit_id, page_id, at)?;
        crate::metrics::stage_page_view();
        Ok(id)
    }
    fn set_page_seconds(&mut self, view_id: i64, seconds: i64) -> Result<()> {
        visits::set_page_seconds(self.0, view_id, seconds)
    }
    fn insert_invitation(&mut self, n: &NewInvitation<'_>) -> Result<i64> {
        visits::insert_invitation(self.0, n)
    }
    fn set_invitation_state(&mut self, id: i64, state: &str) -> Result<()> {
        visits::set_invitation_state(self.0, id, state)
    }
    fn link_chat(&mut self, chat: i64, visitor_id: i64, visit: i64) -> Result<()> {
        visits::link_conversation(self.0, chat, visitor_id, visit)
    }
}
