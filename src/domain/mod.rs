//! Services above storage: sign-in, agents, uploaded files, privacy requests, sites. No actix,
//! no SQL of their own; the pure rules they share with storage live in `crate::model`.

pub mod agents;
pub mod auth;
pub mod conversation;
pub mod files;
pub mod privacy;
pub mod sites;
