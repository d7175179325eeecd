//! `kontor stats`: a tenant's headline statistics.

use crate::admin::{Ctx, Request, Response};
use crate::error::Result;
use crate::store::{period::Period, stats};
use serde::{Deserialize, Serialize};

/// The arguments of `kontor stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Tenant slug
    pub tenant: String,
    /// First day, YYYY-MM-DD [default: 29 days before --to]
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day, included, YYYY-MM-DD [default: today]
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
}

/// The statistics request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum StatsRequest {
    /// `stats`
    Stats {
        /// Tenant slug.
        tenant: String,
        /// First day, YYYY-MM-DD.
        #[serde(default)]
        from: Option<String>,
        /// Last day, included.
        #[serde(default)]
        to: Option<String>,
    },
}

impl StatsArgs {
    /// The request this command sends.
    pub fn request(&self) -> Request {
        Request::Stats(StatsRequest::Stats {
            tenant: self.tenant.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        })
    }
}

impl StatsRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let StatsRequest::Stats { tenant, from, to } = self;
        let now = cx.clock.now();
        let p = Period::days(from.as_deref(), to.as_deref(), now)?;
        let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
        let h = db.with(|c| stats::headline(c, p, now))?;
        Ok(Response::Stats(Box::new(h)))
    }
}

/// Prints the headline as text.
pub fn print(h: &stats::Headline) {
    say!("{} to {} (UTC)", h.from, h.to);
    say!("visitors:          {}", h.visitors);
    say!("visits:            {}", h.visits);
    say!("page views:        {}", h.page_views);
    say!("pages per visit:   {:.2}", h.pages_per_visit);
    say!("bounce rate:       {:.1} %", h.bounce_rate * 100.0);
    say!("median visit:      {:.0} s", h.median_visit_seconds);
    say!("chats:             {}", h.chats);
    say!("  accepted:        {}", h.accepted_chats);
    say!("  missed:          {}", h.missed_chats);
    say!("offline messages:  {}", h.offline_messages);
    say!("FAQ answers read:  {}", h.faq_views);
    say!("chats after FAQ:   {}", h.chats_after_faq);
    match h.median_first_response_seconds {
        Some(s) => say!("median first answer: {s:.0} s"),
        None => say!("median first answer: -"),
    }
}
