//! The tenants of a kontor-load run: one (`load`, as always) or many, set up through the CLI,
//! and page views for the idle ones, so that a host with a thousand tenants is measured with
//! tenants closing for idleness and reopening while chats run on others.

use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What the run uses: the sites of the tenants with chats, the sites of the idle ones, and
/// each agent's tenant and email.
pub struct Setup {
    pub live_sites: Vec<String>,
    pub idle_sites: Vec<String>,
    pub agents: Vec<(String, String)>,
}

/// The slug of tenant `i`: `load` when it is the only one.
pub fn slug(i: usize, tenants: usize) -> String {
    if tenants == 1 {
        "load".to_string()
    } else {
        format!("t{i:04}")
    }
}

/// The counts a run asks for.
pub struct Plan {
    pub tenants: usize,
    pub live: usize,
    pub agents: usize,
    pub visitors: usize,
    /// The first tenant exists already (filled before the server started).
    pub first_exists: bool,
}

/// Creates the tenants (each with a site) and the agents, spread over the live tenants, with
/// capacity for their share of the chats. `cli` runs one kontor command.
pub fn create(
    plan: &Plan,
    origin: &str,
    password: &str,
    cli: &dyn Fn(&[&str], Option<&str>) -> Value,
) -> Setup {
    let live = plan.live.clamp(1, plan.tenants.max(1));
    let agents_per_tenant = (plan.agents / live).max(1);
    let visitors_per_tenant = plan.visitors.div_ceil(live);
    let capacity = visitors_per_tenant
        .div_ceil(agents_per_tenant)
        .clamp(1, 50)
        .to_string();
    let started = Instant::now();
    let mut setup = Setup {
        live_sites: Vec::new(),
        idle_sites: Vec::new(),
        agents: Vec::new(),
    };
    for i in 0..plan.tenants {
        let t = slug(i, plan.tenants);
        if i > 0 || !plan.first_exists {
            cli(&["tenant", "create", &t], None);
        }
        let site = cli(&["site", "add", &t, "--origin", origin], None)["site_key"]
            .as_str()
            .expect("site key")
            .to_string();
        if i < live {
            setup.live_sites.push(site);
        } else {
            setup.idle_sites.push(site);
        }
        if plan.tenants > 1 && (i + 1) % 100 == 0 {
            eprintln!(
                "kontor-load: {} of {} tenants set up ({:.0} s)",
                i + 1,
                plan.tenants,
                started.elapsed().as_secs_f64()
            );
        }
    }
    for a in 0..plan.agents {
        let t = slug(a % live, plan.tenants);
        let email = format!("a{a}@load.example");
        let name = format!("Agent {a}");
        cli(
            &[
                "agent",
                "add",
                &t,
                &email,
                "--name",
                &name,
                "--password-stdin",
            ],
            Some(password),
        );
        cli(&["agent", "set", &t, &email, "--capacity", &capacity], None);
        setup.agents.push((t, email));
    }
    setup
}

/// What the idle tenants' page views met.
#[derive(Default)]
pub struct IdleViews {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub latency_ms: Vec<f64>,
}

impl IdleViews {
    pub fn summary(mut self) -> Value {
        self.latency_ms
            .sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let p = |q: f64| {
            let v = &self.latency_ms;
            if v.is_empty() {
                0.0
            } else {
                v[((v.len() - 1) as f64 * q).round() as usize]
            }
        };
        json!({
            "sent": self.sent,
            "stored": self.ok,
            "failed": self.failed,
            "p50_ms": p(0.5),
            "p99_ms": p(0.99),
            "max_ms": self.latency_ms.last().copied().unwrap_or(0.0),
        })
    }
}

/// Page views at `rate` per second, each on the next idle tenant's site in turn, until
/// `until`: with the server's idle time shorter than a round, most find their tenant closed
/// and measure its reopening (the answer comes after the view's commit).
pub fn idle_views(
    base: &str,
    sites: &[String],
    origin: &str,
    rate: f64,
    until: Instant,
) -> IdleViews {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut st = IdleViews::default();
    let mut next = Instant::now();
    let mut i = 0usize;
    while Instant::now() < until && !sites.is_empty() {
        let site = &sites[i % sites.len()];
        let body = json!({
            "t": "view",
            "pv": format!("{:016x}", 0x1d1e_0000_0000u64 + i as u64),
            "url": format!("https://load.example/idle{i}"),
            "title": "Idle tenant",
            "lang": "de-DE",
        })
        .to_string();
        let t = Instant::now();
        st.sent += 1;
        let res = agent
            .post(format!("{base}/api/track?site={site}"))
            .header("Origin", origin)
            .header("User-Agent", format!("kontor-load idle/{i}"))
            .header("Content-Type", "text/plain;charset=UTF-8")
            .send(body.as_bytes());
        match res {
            Ok(r) if r.status() == 200 => {
                st.ok += 1;
                st.latency_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            _ => st.failed += 1,
        }
        i += 1;
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
    }
    st
}
