//! Visitor monitoring, the pure parts: what a reported page address may keep, where a visitor
//! came from, which browser they use, the daily-rotating anonymous visitor key, and the
//! conditions of automatic invitations.

use ring::hmac;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Mutex;

/// Longest page address or referrer we keep.
pub const MAX_URL: usize = 2000;
/// Longest page title we keep.
pub const MAX_TITLE: usize = 300;
/// Longest campaign value we keep.
const MAX_UTM: usize = 100;

/// Cleans a reported page address: http(s) only, no fragment, no user info, and the query
/// reduced by the site's strip list (`*`: everything but `utm_*`; `utm_*` always stays).
/// `None` when it is not an http(s) address.
pub fn clean_url(raw: &str, strip: &[String]) -> Option<String> {
    let raw = raw.trim();
    let no_frag = raw.split('#').next().unwrap_or("");
    let (base, query) = match no_frag.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (no_frag, None),
    };
    let (scheme, rest) = base.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // user:password@host must never be kept.
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    let all = strip.iter().any(|s| s == "*");
    let kept: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = percent_decode(p.split('=').next().unwrap_or(""));
            name.starts_with("utm_") || (!all && !strip.contains(&name))
        })
        .collect();
    let mut out = format!("{}://{}{}", scheme.to_ascii_lowercase(), host, path);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    Some(cut(&out, MAX_URL))
}

/// The host of an http(s) address, lower-case, without port.
pub fn host_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Where a visit came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// `search`, `social`, `site` or `direct`.
    pub kind: &'static str,
    /// The referring address without query and fragment ("" when direct).
    pub url: String,
    /// Its host ("" when direct).
    pub host: String,
}

const SEARCH: &[&str] = &[
    "google",
    "bing",
    "duckduckgo",
    "ecosia",
    "qwant",
    "yahoo",
    "yandex",
    "baidu",
    "startpage",
    "search.brave",
    "ask",
    "metager",
    "web",
    "t-online",
    "gmx",
    "naver",
    "seznam",
];
const SOCIAL: &[&str] = &[
    "facebook",
    "instagram",
    "t",
    "twitter",
    "x",
    "linkedin",
    "lnkd",
    "xing",
    "reddit",
    "pinterest",
    "youtube",
    "tiktok",
    "mastodon",
    "threads",
    "bsky",
    "whatsapp",
    "telegram",
];

/// Classifies a referrer relative to the page it led to. A referrer from the page's own host
/// is not a source: it counts as `direct`.
pub fn classify_referrer(referrer: &str, page_host: &str) -> Referrer {
    let direct = Referrer {
        kind: "direct",
        url: String::new(),
        host: String::new(),
    };
    let Some(host) = host_of(referrer) else {
        return direct;
    };
    if host == page_host {
        return direct;
    }
    let url = cut(referrer.split(['?', '#']).next().unwrap_or(""), MAX_URL);
    // "www.google.de" -> labels without "www."; the name before the public suffix decides.
    let bare = host.strip_prefix("www.").unwrap_or(&host);
    let bare = bare.strip_prefix("m.").unwrap_or(bare);
    let bare = bare.strip_prefix("l.").unwrap_or(bare);
    let known = |list: &[&str]| {
        list.iter().any(|name| {
            bare.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(is_public_suffix)
        })
    };
    let kind = if known(SEARCH) || bare.starts_with("search.") {
        "search"
    } else if known(SOCIAL) {
        "social"
    } else {
        "site"
    };
    Referrer { kind, url, host }
}

/// A short list of suffixes after a search engine's or network's name ("de", "co.uk", "com").
fn is_public_suffix(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    match parts.as_slice() {
        [tld] => (2..=6).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_lowercase()),
        [sld, tld] => {
            ["co", "com", "org", "net", "ac", "gv"].contains(sld)
                && tld.len() == 2
                && tld.bytes().all(|b| b.is_ascii_lowercase())
        }
        _ => false,
    }
}

/// The `utm_*` parameters of a page address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Campaign {
    /// `utm_source`.
    pub source: String,
    /// `utm_medium`.
    pub medium: String,
    /// `utm_campaign`.
    pub campaign: String,
    /// `utm_term`.
    pub term: String,
    /// `utm_content`.
    pub content: String,
}

impl Campaign {
    /// Whether the address carried no campaign at all.
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
            && self.medium.is_empty()
            && self.campaign.is_empty()
            && self.term.is_empty()
            && self.content.is_empty()
    }
}

/// Reads `utm_*` from a page address (percent-decoded, `+` as space, at most 100 characters).
pub fn campaign_of(url: &str) -> Campaign {
    let mut c = Campaign::default();
    let Some((_, query)) = url.split('#').next().unwrap_or("").split_once('?') else {
        return c;
    };
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = cut(percent_decode(&v.replace('+', " ")).trim(), MAX_UTM);
        match percent_decode(k).as_str() {
            "utm_source" => c.source = v,
            "utm_medium" => c.medium = v,
            "utm_campaign" => c.campaign = v,
            "utm_term" => c.term = v,
            "utm_content" => c.content = v,
            _ => {}
        }
    }
    c
}

/// Browser, operating system and device class from a User-Agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agent {
    /// "Chrome 120".
    pub browser: String,
    /// "Windows 10".
    pub os: String,
    /// `desktop`, `smartphone`, `tablet` or `other`.
    pub device: &'static str,
    /// A search engine's or monitor's robot: not a visitor.
    pub robot: bool,
}

/// Parses a User-Agent (woothee's rules; unknown parts stay empty).
pub fn parse_agent(ua: &str) -> Agent {
    let Some(r) = woothee::parser::Parser::new().parse(ua) else {
        return Agent {
            device: "other",
            ..Agent::default()
        };
    };
    let known = |s: &str| s != "UNKNOWN" && !s.is_empty();
    let major = r.version.split('.').next().unwrap_or("");
    let browser = match (known(r.name), known(major)) {
        (true, true) => format!("{} {major}", r.name),
        (true, false) => r.name.to_string(),
        _ => String::new(),
    };
    let os = match (known(r.os), known(&r.os_version)) {
        (true, true) if !r.os.contains(&*r.os_version) => format!("{} {}", r.os, r.os_version),
        (true, _) => r.os.to_string(),
        _ => String::new(),
    };
    let tablet = r.os == "iPad" || (r.os == "Android" && !ua.contains("Mobile"));
    let device = match r.category {
        "pc" => "desktop",
        "smartphone" | "mobilephone" if tablet => "tablet",
        "smartphone" | "mobilephone" => "smartphone",
        _ => "other",
    };
    Agent {
        browser: cut(&browser, 60),
        os: cut(&os, 60),
        device,
        robot: r.category == "crawler",
    }
}

/// The anonymous visitor key: an HMAC of site, IP address and User-Agent under a secret that
/// lives only in memory and is replaced every UTC day, so a key links page views within one
/// day and can never be recomputed afterwards (not even by us).
pub struct DailyKeys {
    secret: Mutex<(i64, hmac::Key)>,
}

impl Default for DailyKeys {
    fn default() -> Self {
        DailyKeys {
            secret: Mutex::new((i64::MIN, fresh_key())),
        }
    }
}

fn fresh_key() -> hmac::Key {
    let bytes: [u8; 32] = crate::crypto::random_array();
    hmac::Key::new(hmac::HMAC_SHA256, &bytes)
}

impl DailyKeys {
    /// The key of this visitor on this site today (`now` in unix seconds).
    pub fn key(&self, now: i64, site_key: &str, ip: IpAddr, user_agent: &str) -> [u8; 16] {
        let day = now.div_euclid(86_400);
        let mut guard = self.secret.lock().unwrap_or_else(|e| e.into_inner());
        if guard.0 != day {
            *guard = (day, fresh_key());
        }
        let mut ctx = hmac::Context::with_key(&guard.1);
        drop_nul_join(
            &mut ctx,
            &[
                site_key.as_bytes(),
                ip.to_string().as_bytes(),
                user_agent.as_bytes(),
            ],
        );
        let tag = ctx.sign();
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag.as_ref()[..16]);
        out
    }
}

fn drop_nul_join(ctx: &mut hmac::Context, parts: &[&[u8]]) {
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
}

/// Conditions of an automatic invitation; absent ones always hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Conditions {
    /// Glob over the page address (`*` is any run of characters).
    pub url: Option<String>,
    /// Seconds on the current page.
    pub min_seconds_on_page: Option<i64>,
    /// Pages viewed in this visit.
    pub min_pages: Option<i64>,
    /// `search`, `social`, `site` or `direct`.
    pub referrer: Option<String>,
    /// Equals the visit's `utm_campaign`.
    pub campaign: Option<String>,
    /// Visits of this visitor.
    pub min_visits: Option<i64>,
    /// The visitor's relevance, 0-10 (see `model::relevance`).
    pub min_relevance: Option<i64>,
}

/// What a rule is checked against.
pub struct Facts<'a> {
    /// Current page address.
    pub url: &'a str,
    /// Seconds on the current page.
    pub seconds_on_page: i64,
    /// Pages of this visit.
    pub pages: i64,
    /// The visit's referrer kind.
    pub referrer: &'a str,
    /// The visit's `utm_campaign`.
    pub campaign: &'a str,
    /// Visits of this visitor.
    pub visits: i64,
    /// The visitor's relevance now, 0-10.
    pub relevance: i64,
}

impl Conditions {
    /// Checks the values an admin entered.
    pub fn validate(&self) -> crate::error::Result<()> {
        let bad = |m: &str| Err(crate::error::Error::Invalid(m.into()));
        if let Some(u) = &self.url
            && (u.is_empty() || u.len() > 500)
        {
            return bad("url pattern: 1 to 500 characters");
        }
        for (name, v) in [
            ("min_seconds_on_page", self.min_seconds_on_page),
            ("min_pages", self.min_pages),
            ("min_visits", self.min_visits),
        ] {
            if let Some(n) = v
                && !(0..=86_400).contains(&n)
            {
                return bad(&format!("{name}: 0 to 86400"));
            }
        }
        if let Some(n) = self.min_relevance
            && !(0..=10).contains(&n)
        {
            return bad("min_relevance: 0 to 10");
        }
        if let Some(r) = &self.referrer
            && !["search", "social", "site", "direct"].contains(&r.as_str())
        {
            return bad("referrer: search, social, site or direct");
        }
        if let Some(c) = &self.campaign
            && (c.is_empty() || c.len() > MAX_UTM)
        {
            return bad("campaign: 1 to 100 characters");
        }
        Ok(())
    }

    /// Whether every given condition holds.
    pub fn hold(&self, f: &Facts<'_>) -> bool {
        self.url.as_deref().is_none_or(|p| glob(p, f.url))
            && self
                .min_seconds_on_page
                .is_none_or(|n| f.seconds_on_page >= n)
            && self.min_pages.is_none_or(|n| f.pages >= n)
            && self.referrer.as_deref().is_none_or(|r| r == f.referrer)
            && self.campaign.as_deref().is_none_or(|c| c == f.campaign)
            && self.min_visits.is_none_or(|n| f.visits >= n)
            && self.min_relevance.is_none_or(|n| f.relevance >= n)
    }
}

/// Glob match where `*` is any run of characters (no other special characters).
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    // Both ends are checked before slicing: `text.len() - last.len()` is a character
    // boundary only when `text` ends with `last`. (Slicing first let a visitor's address
    // ending in a multi-byte character panic the tenant's hub, which checks invitation rules
    // and goals on every page view.)
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// At most `max` characters (never splits one).
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn urls_keep_only_what_the_site_allows() {
        let all = strip(&["*"]);
        assert_eq!(
            clean_url(
                "https://shop.example/a?id=5&utm_source=nl&token=x#top",
                &all
            )
            .unwrap(),
            "https://shop.example/a?utm_source=nl"
        );
        let some = strip(&["token", "email"]);
        assert_eq!(
            clean_url(
                "https://shop.example/a?id=5&token=x&email=a%40b&utm_medium=m",
                &some
            )
            .unwrap(),
            "https://shop.example/a?id=5&utm_medium=m"
        );
        assert_eq!(
            clean_url("http://u:pw@shop.example", &all).unwrap(),
            "http://shop.example/"
        );
        assert_eq!(clean_url("javascript:alert(1)", &all), None);
        assert_eq!(clean_url("ftp://x/y", &all), None);
        let long = format!("https://s.example/{}", "a".repeat(5000));
        assert_eq!(clean_url(&long, &all).unwrap().chars().count(), MAX_URL);
    }

    #[test]
    fn referrers_are_grouped() {
        let k = |r: &str| classify_referrer(r, "shop.example").kind;
        assert_eq!(k("https://www.google.de/"), "search");
        assert_eq!(k("https://www.google.co.uk/search?q=x"), "search");
        assert_eq!(k("https://duckduckgo.com/"), "search");
        assert_eq!(k("https://l.facebook.com/"), "social");
        assert_eq!(k("https://t.co/abc"), "social");
        assert_eq!(k("https://blog.example.org/post"), "site");
        assert_eq!(k("https://googleblog.example/"), "site");
        assert_eq!(k(""), "direct");
        assert_eq!(k("https://shop.example/other"), "direct");
        let r = classify_referrer("https://news.example/a?secret=1#x", "shop.example");
        assert_eq!(r.url, "https://news.example/a");
        assert_eq!(r.host, "news.example");
    }

    #[test]
    fn campaigns_are_read_from_utm_parameters() {
        let c =
            campaign_of("https://s.example/?utm_source=news%20letter&utm_campaign=spring+sale&x=1");
        assert_eq!(c.source, "news letter");
        assert_eq!(c.campaign, "spring sale");
        assert!(c.medium.is_empty());
        assert!(campaign_of("https://s.example/").is_empty());
    }

    #[test]
    fn user_agents_are_parsed() {
        let a = parse_agent(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        );
        assert_eq!(a.browser, "Chrome 120");
        assert!(a.os.starts_with("Windows"), "{a:?}");
        assert_eq!(a.device, "desktop");
        let p = parse_agent(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(p.device, "smartphone");
        assert!(parse_agent("Googlebot/2.1 (+http://www.google.com/bot.html)").robot);
        assert_eq!(parse_agent("").device, "other");
    }

    #[test]
    fn daily_keys_link_within_a_day_only() {
        let k = DailyKeys::default();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let day = 20_000 * 86_400;
        let a = k.key(day + 10, "s", ip, "UA");
        assert_eq!(a, k.key(day + 80_000, "s", ip, "UA"));
        assert_ne!(a, k.key(day + 10, "s2", ip, "UA"));
        assert_ne!(
            a,
            k.key(day + 10, "s", "203.0.113.8".parse().unwrap(), "UA")
        );
        assert_ne!(a, k.key(day + 10, "s", ip, "UA2"));
        assert_ne!(a, k.key(day + 86_400 + 10, "s", ip, "UA"));
    }

    #[test]
    fn globs() {
        assert!(glob("*/checkout*", "https://s.example/checkout/step1"));
        assert!(!glob("*/checkout*", "https://s.example/cart"));
        assert!(glob("https://s.example/", "https://s.example/"));
        assert!(glob("*a*b*", "xxaxxbxx"));
        assert!(!glob("*a*b", "xxbxxa"));
        assert!(glob("*", ""));
        // An address ending in a multi-byte character the pattern's end does not match.
        assert!(!glob("*a", "é"));
        assert!(!glob("*/danke", "https://shop.example/ü"));
        assert!(glob("*/ü", "https://shop.example/ü"));
    }

    #[test]
    fn each_condition_is_checked() {
        let f = Facts {
            url: "https://s.example/checkout",
            seconds_on_page: 30,
            pages: 3,
            referrer: "search",
            campaign: "spring",
            visits: 2,
            relevance: 4,
        };
        // (conditions as an admin saves them, whether they hold for the facts above)
        let table = [
            (r#"{}"#, true),
            (r#"{"url": "*/checkout"}"#, true),
            (r#"{"url": "*/cart"}"#, false),
            (r#"{"min_seconds_on_page": 30}"#, true),
            (r#"{"min_seconds_on_page": 31}"#, false),
            (r#"{"min_pages": 3}"#, true),
            (r#"{"min_pages": 4}"#, false),
            (r#"{"min_relevance": 4}"#, true),
            (r#"{"min_relevance": 5}"#, false),
            (r#"{"referrer": "search"}"#, true),
            (r#"{"referrer": "direct"}"#, false),
            (r#"{"campaign": "spring"}"#, true),
            (r#"{"campaign": "autumn"}"#, false),
            (r#"{"min_visits": 2}"#, true),
            (r#"{"min_visits": 3}"#, false),
            (r#"{"url": "*/checkout", "min_visits": 3}"#, false),
        ];
        for (json, holds) in table {
            let c: Conditions = serde_json::from_str(json).unwrap();
            assert_eq!(c.hold(&f), holds, "{json}");
        }
    }
}
