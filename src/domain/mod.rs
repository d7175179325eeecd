//! Business rules: validation, sign-in, throttling. No actix, no SQL.

pub mod agents;
pub mod auth;
pub mod files;
pub mod ip;
pub mod privacy;
pub mod ratelimit;
pub mod rights;
pub mod routing;
pub mod sites;
pub mod tenants;
pub mod throttle;
pub mod tracking;
