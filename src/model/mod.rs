//! Pure types and rules that storage and every layer above it may use: rights, visitor
//! tracking, tenant names, address truncation, routing, throttles, site values, characters
//! that must not reach a terminal raw. No I/O, no SQL, no actix; nothing here imports
//! `store`, `domain`, `http` or `realtime`.

pub mod attachment;
pub mod blocks;
pub mod faq;
pub mod forms;
pub mod hours;
pub mod ip;
pub mod lookup;
pub mod occupancy;
pub mod queue_bound;
pub mod ratelimit;
pub mod relevance;
pub mod rights;
pub mod routing;
pub mod sites;
pub mod team;
pub mod tenants;
pub mod text;
pub mod throttle;
pub mod tracking;
pub mod uploads;
pub mod waiting;
pub mod webhooks;
