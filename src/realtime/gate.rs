//! What one place may take of the chat (`[chat]` in the configuration), for every tenant of
//! the server: widget sockets open at once per address and per site, and chat starts a minute
//! per address and per site. A flood from one address or one site is refused at the door, so
//! it neither fills a tenant's queue nor reaches its agents.

use crate::config::ChatLimits;
use crate::model::ip::throttle_key;
use crate::model::occupancy::{Occupancy, Seat};
use crate::model::ratelimit::RateLimit;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// The server's chat limits.
pub struct Gate {
    sockets_by_address: Occupancy,
    sockets_by_site: Occupancy,
    starts_by_address: RateLimit,
    starts_by_site: RateLimit,
}

/// An admitted widget socket: holds its places until it closes.
pub struct Admission {
    gate: Arc<Gate>,
    /// The client's address, for the intrusion-detection log.
    client: IpAddr,
    address: String,
    site: String,
    _seats: (Seat, Seat),
}

impl Gate {
    /// The limits of `[chat]`.
    pub fn new(limits: &ChatLimits) -> Gate {
        Gate {
            sockets_by_address: Occupancy::new(limits.sockets_per_address),
            sockets_by_site: Occupancy::new(limits.sockets_per_site),
            starts_by_address: RateLimit::new(limits.starts_per_address_per_minute),
            starts_by_site: RateLimit::new(limits.starts_per_site_per_minute),
        }
    }

    /// Admits a widget socket from `ip` for `site`, or `None` when either has as many open as
    /// allowed.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, site: &str) -> Option<Admission> {
        let address = throttle_key(ip);
        let by_address = self.sockets_by_address.enter(address.clone())?;
        let by_site = self.sockets_by_site.enter(site.to_string())?;
        Some(Admission {
            gate: self.clone(),
            client: ip,
            address,
            site: site.to_string(),
            _seats: (by_address, by_site),
        })
    }
}

impl Admission {
    /// The client's address.
    pub fn client(&self) -> IpAddr {
        self.client
    }

    /// The site the socket is for.
    pub fn site(&self) -> &str {
        &self.site
    }

    /// Whether this socket's address and site may start another chat now. (A start that
    /// finds the chat a dropped socket began counts too: retries are rare and the limit is
    /// a minute's worth.)
    pub fn may_start(&self, now: Instant) -> bool {
        let g = &self.gate;
        g.starts_by_address
            .take_key(self.address.clone(), now)
            .is_ok()
            && g.starts_by_site.take_key(self.site.clone(), now).is_ok()
    }
}
