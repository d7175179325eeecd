//! `kontor stats`: a tenant's headline statistics, or with `--agents` its agents' work time.

use crate::admin::{Ctx, Request, Response};
use crate::error::Result;
use crate::store::{period::Period, stats, worktime};
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
    /// The agents' work time instead: per agent (and per day with --json) and the team
    #[arg(long)]
    pub agents: bool,
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
    /// `stats --agents`
    StatsAgents {
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
        let (tenant, from, to) = (self.tenant.clone(), self.from.clone(), self.to.clone());
        Request::Stats(if self.agents {
            StatsRequest::StatsAgents { tenant, from, to }
        } else {
            StatsRequest::Stats { tenant, from, to }
        })
    }
}

impl StatsRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let now = cx.clock.now();
        match self {
            StatsRequest::Stats { tenant, from, to } => {
                let p = Period::days(from.as_deref(), to.as_deref(), now)?;
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let h = db.with(|c| stats::headline(c, p, now))?;
                Ok(Response::Stats(Box::new(h)))
            }
            StatsRequest::StatsAgents { tenant, from, to } => {
                let p = Period::days(from.as_deref(), to.as_deref(), now)?;
                let (_, db) = cx.store.tenant_db_by_slug(&tenant)?;
                let r = db.read(|c| worktime::report(c, p, now, None))?;
                Ok(Response::Report {
                    value: serde_json::to_value(&r).unwrap_or_default(),
                    lines: work_lines(&r),
                    ok: true,
                })
            }
        }
    }
}

/// `1:05` for seconds as hours and minutes.
fn hours(secs: i64) -> String {
    let m = secs.max(0) / 60;
    format!("{}:{:02}", m / 60, m % 60)
}

/// The work-time table for people: one line per agent and the team's.
fn work_lines(r: &worktime::WorkReport) -> Vec<String> {
    let mut lines = vec![
        format!("{} to {} (UTC); times in hours:minutes", r.from, r.to),
        format!(
            "{:<24} {:>9} {:>7} {:>7} {:>7} {:>5} {:>8} {:>11} {:>6} {:>10}",
            "agent",
            "signed in",
            "online",
            "away",
            "in chat",
            "chats",
            "messages",
            "1st answer",
            "rating",
            "chats/hour"
        ),
    ];
    let row = |name: &str, f: &worktime::WorkFigures| {
        let opt = |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
        let name: String = name.chars().take(24).collect();
        format!(
            "{:<24} {:>9} {:>7} {:>7} {:>7} {:>5} {:>8} {:>11} {:>6} {:>10}",
            name,
            hours(f.signed_in_seconds),
            hours(f.online_seconds),
            hours(f.away_seconds),
            hours(f.in_chat_seconds),
            f.chats,
            f.messages,
            opt(f.median_first_response_seconds, 0),
            opt(f.rating, 1),
            opt(f.chats_per_online_hour, 2),
        )
    };
    lines.extend(r.agents.iter().map(|a| row(&a.name, &a.figures)));
    lines.push(row("team", &r.team));
    lines
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
