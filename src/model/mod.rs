//! Pure types and rules that storage and every layer above it may use: rights, visitor
//! tracking, tenant names, address truncation, routing, throttles, site values. No I/O, no
//! SQL, no actix; nothing here imports `store`, `domain`, `http` or `realtime`.

pub mod attachment;
pub mod ip;
pub mod ratelimit;
pub mod rights;
pub mod routing;
pub mod sites;
pub mod tenants;
pub mod throttle;
pub mod tracking;
pub mod uploads;
