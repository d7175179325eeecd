//! `POST /api/track?site=KEY`: page views, heartbeats and invitation answers from the widget
//! loader on a customer's page. Only the site's origins are heard; an unknown site and a
//! foreign origin get the same refusal. The report is stored by the tenant's hub in its next
//! group commit, and answered after that commit.

use super::State;
use super::client::Client;
use crate::config::TrackingConfig;
use crate::error::{ApiError, Code, Error};
use crate::model::tracking::{self as track, DailyKeys};
use crate::realtime::hub::{Command, PageView, TrackEvent, TrackKind, TrackReply};
use crate::store::SiteRecord;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The answer to a stored report without an invitation (what `{"invite": null}` encodes to).
const NO_INVITE: &str = r#"{"invite":null}"#;

/// Largest report body.
pub const MAX_BODY: usize = 4096;
/// How long a looked-up site is trusted (a changed origin list takes effect within this).
const SITE_TTL: Duration = Duration::from_secs(2);

/// What the tracking endpoints share: the daily key secret, the optional GeoIP database and
/// a short-lived cache of sites (a report per heartbeat must not hit the system database).
pub struct Tracking {
    /// The anonymous daily keys.
    pub keys: DailyKeys,
    geo: Option<maxminddb::Reader<Vec<u8>>>,
    /// Shared, not copied: a site record is a few dozen strings and every report reads it.
    sites: Mutex<HashMap<String, CachedSite>>,
    /// User-Agents parsed lately: a visitor sends the same one with every page, and most
    /// visitors share a few browsers, so most reports skip woothee's rules (substring
    /// searches and regular expressions over the whole string).
    agents: Mutex<HashMap<Box<str>, track::Agent>>,
    limit: crate::model::ratelimit::RateLimit,
}

/// A looked-up site (or its absence) and when it was looked up.
type CachedSite = (Instant, Option<Arc<SiteRecord>>);

/// User-Agents kept parsed at most (then the cache starts again, so a flood of made-up ones
/// costs bounded memory).
const AGENTS_CACHED: usize = 4096;
/// Longer User-Agents are parsed every time, not kept.
const AGENT_CACHED_LEN: usize = 512;

impl Tracking {
    /// Opens the GeoIP database when one is configured; a broken file is an error at start.
    pub fn new(cfg: &TrackingConfig) -> crate::error::Result<Tracking> {
        let geo =
            match &cfg.geoip_db {
                Some(p) => Some(maxminddb::Reader::open_readfile(p).map_err(|e| {
                    Error::Config(format!("tracking.geoip_db {}: {e}", p.display()))
                })?),
                None => None,
            };
        Ok(Tracking {
            keys: DailyKeys::default(),
            geo,
            sites: Mutex::new(HashMap::new()),
            agents: Mutex::new(HashMap::new()),
            limit: crate::model::ratelimit::RateLimit::new(cfg.reports_per_minute),
        })
    }

    /// The ISO country of an address, from the offline database only.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let reader = self.geo.as_ref()?;
        let found = reader.lookup(ip).ok()?;
        let code: Option<&str> = found
            .decode_path(&maxminddb::path!["country", "iso_code"])
            .ok()
            .flatten();
        code.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase())
    }

    /// Browser, OS and device of a User-Agent, from the cache when it was parsed lately.
    pub fn agent(&self, ua: &str) -> track::Agent {
        if ua.len() > AGENT_CACHED_LEN {
            return track::parse_agent(ua);
        }
        if let Some(a) = self
            .agents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(ua)
        {
            return a.clone();
        }
        // Parsed outside the lock: the other workers go on meanwhile.
        let agent = track::parse_agent(ua);
        let mut cache = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= AGENTS_CACHED {
            cache.clear();
        }
        cache.insert(ua.into(), agent.clone());
        agent
    }

    /// Takes one report from `ip`'s budget (page views and the chat frame's FAQ-view
    /// reports share it); the seconds to wait when it is spent.
    pub fn take_report(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        self.limit.take(ip, now)
    }

    /// Drops a site from the cache (its settings changed here).
    pub fn forget_site(&self, key: &str) {
        self.sites
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// A site by key, from the cache when fresh.
    pub async fn site(
        &self,
        state: &State,
        key: &str,
    ) -> Result<Option<Arc<SiteRecord>>, ApiError> {
        {
            let cache = self.sites.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, site)) = cache.get(key)
                && state.clock.instant() < *at + SITE_TTL
            {
                return Ok(site.clone());
            }
        }
        let site = super::widget::site(state, key).await?.map(Arc::new);
        let mut cache = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(key.to_string(), (state.clock.instant(), site.clone()));
        Ok(site)
    }
}

/// Query naming the site.
#[derive(Deserialize)]
pub struct TrackQuery {
    site: String,
}

/// One report, as the loader sends it (`docs/http-api.md`, "Visitor tracking").
#[derive(Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
enum Report {
    View {
        pv: String,
        url: String,
        #[serde(default)]
        title: String,
        #[serde(default, rename = "ref")]
        referrer: String,
        #[serde(default)]
        lang: String,
        #[serde(default)]
        ui: String,
        #[serde(default)]
        screen: String,
        #[serde(default)]
        vid: Option<String>,
    },
    Ping {
        pv: String,
        #[serde(default)]
        vid: Option<String>,
    },
    Leave {
        pv: String,
    },
    Invite {
        pv: String,
        id: i64,
        result: String,
    },
    Goal {
        pv: String,
        name: String,
        #[serde(default)]
        value: Option<f64>,
    },
}

fn refused() -> ApiError {
    ApiError::of(
        Code::OriginRefused,
        "this origin may not report to this site",
    )
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `POST /api/track?site=KEY`.
pub async fn report(
    req: HttpRequest,
    state: State,
    client: Client,
    q: web::Query<TrackQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // One address cannot flood the tenant's hub (it answers 503 when its queue is full too).
    if let Err(wait) = state.tracking.limit.take(client.ip, state.clock.instant()) {
        crate::domain::intrusion::rate_limited(client.ip, "track");
        return Err(ApiError::of(
            Code::TooManyRequests,
            "too many reports from this address; try again later",
        )
        .with_retry_after(wait));
    }
    let origin = super::client::request_origin(&req);
    let own = !origin.is_empty() && origin == client.origin;
    let site = state
        .tracking
        .site(&state, &q.site)
        .await?
        .filter(|s| own || s.origins.contains(&origin))
        .ok_or_else(refused)?;
    let cors = |mut r: actix_web::HttpResponseBuilder| {
        r.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()))
            .insert_header((header::VARY, "Origin"));
        r
    };
    if site.tracking.mode == "off" {
        return Err(ApiError::of(
            Code::TrackingOff,
            "visitor monitoring is off for this site",
        ));
    }
    let too_large = ApiError::of(Code::TooLarge, "a report may have at most 4096 bytes");
    let body = super::body::read(body, MAX_BODY, too_large).await?;
    let report: Report = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("not a valid report: {e}")))?;
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let consented_site = site.tracking.mode == "consented";
    let vid_hash = |vid: Option<String>| -> Result<Option<Vec<u8>>, ApiError> {
        match vid {
            None => Ok(None),
            Some(v) if is_hex(&v, 32) => Ok(consented_site.then(|| crate::crypto::token_hash(&v))),
            Some(_) => Err(ApiError::bad_request("vid must be 32 lowercase hex digits")),
        }
    };
    let at = state.clock.now();
    let (pv, vid, kind) = match report {
        Report::View {
            pv,
            url,
            title,
            referrer,
            lang,
            ui,
            screen,
            vid,
        } => {
            let agent = state.tracking.agent(ua);
            if agent.robot {
                // Robots are not visitors: nothing is stored.
                return Ok(cors(HttpResponse::Ok())
                    .content_type("application/json")
                    .body(NO_INVITE));
            }
            let url = track::clean_url(&url, &site.tracking.strip)
                .ok_or_else(|| ApiError::bad_request("url must be an http(s) address"))?;
            let page_host = track::host_of(&url).unwrap_or_default();
            let view = PageView {
                campaign: track::campaign_of(&url),
                referrer: track::classify_referrer(&referrer, &page_host),
                url,
                title: track::cut(title.trim(), track::MAX_TITLE),
                agent,
                lang: clean_token(&lang, 35),
                ui_lang: crate::i18n::Lang::parse(&ui)
                    .map(|l| l.code().to_string())
                    .unwrap_or_default(),
                screen: clean_screen(&screen),
                ip: client.shown_ip(),
                country: state.tracking.country(client.ip),
            };
            (pv, vid_hash(vid)?, TrackKind::View(Box::new(view)))
        }
        Report::Ping { pv, vid } => (pv, vid_hash(vid)?, TrackKind::Ping),
        Report::Leave { pv } => (pv, None, TrackKind::Leave),
        Report::Invite { pv, id, result } => {
            let result = match result.as_str() {
                "shown" => "shown",
                "accepted" => "accepted",
                "dismissed" => "dismissed",
                _ => {
                    return Err(ApiError::bad_request(
                        "result: shown, accepted or dismissed",
                    ));
                }
            };
            (pv, None, TrackKind::Invite { id, result })
        }
        Report::Goal { pv, name, value } => {
            let value_cents = match value {
                None => None,
                Some(v) if v.is_finite() && (0.0..=1e9).contains(&v) => {
                    Some((v * 100.0).round() as i64)
                }
                Some(_) => return Err(ApiError::bad_request("value: 0 to 1,000,000,000")),
            };
            if name.is_empty() || name.len() > 60 {
                return Err(ApiError::bad_request("name: 1 to 60 characters"));
            }
            (pv, None, TrackKind::Goal { name, value_cents })
        }
    };
    if !is_hex(&pv, 16) {
        return Err(ApiError::bad_request("pv must be 16 lowercase hex digits"));
    }
    let event = TrackEvent {
        key: state.tracking.keys.key(at, &site.site_key, client.ip, ua),
        site_key: site.site_key.clone(),
        consented_site,
        vid,
        pv,
        at,
        kind,
    };
    match to_hub(&state, &site.tenant_uuid, event).await? {
        // Nearly every answer has no invitation: its body is a constant, not a JSON tree built
        // and written per report.
        TrackReply::Stored(None) => Ok(cors(HttpResponse::Ok())
            .content_type("application/json")
            .body(NO_INVITE)),
        TrackReply::Stored(invite) => {
            Ok(cors(HttpResponse::Ok()).json(serde_json::json!({ "invite": invite })))
        }
        TrackReply::Again => {
            Ok(cors(HttpResponse::Ok()).json(serde_json::json!({ "again": true })))
        }
        TrackReply::Failed => Err(busy()),
    }
}

/// Hands a report to the tenant's hub (started if it does not run) and waits for its answer.
async fn to_hub(
    state: &State,
    tenant_uuid: &str,
    event: TrackEvent,
) -> Result<TrackReply, ApiError> {
    let hub = match state.realtime.running(tenant_uuid) {
        Some(h) => h,
        None => {
            let st = state.clone();
            let uuid = tenant_uuid.to_string();
            web::block(move || st.realtime.hub(&uuid)).await??
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    if !hub.send(Command::Track(event, tx)) {
        return Err(busy());
    }
    rx.await.map_err(|_| busy())
}

fn busy() -> ApiError {
    ApiError::of(Code::Busy, "the server could not store this now; retry")
}

/// Letters, digits and `-` only (a language tag), at most `max` characters.
fn clean_token(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(max)
        .collect()
}

/// `WIDTHxHEIGHT` with plausible numbers, else "".
fn clean_screen(s: &str) -> String {
    let Some((w, h)) = s.split_once('x') else {
        return String::new();
    };
    match (w.parse::<u32>(), h.parse::<u32>()) {
        (Ok(w), Ok(h)) if (1..=20_000).contains(&w) && (1..=20_000).contains(&h) => {
            format!("{w}x{h}")
        }
        _ => String::new(),
    }
}
