//! kontor: a self-hosted live-support appliance.
//!
//! Layers point one way: `http` → `domain` → `store`. `admin` is the operator's door (CLI and
//! admin socket) onto the same domain and store code.

pub mod admin;
pub mod assets;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod doctor;
pub mod domain;
pub mod error;
pub mod http;
pub mod i18n;
pub mod realtime;
pub mod schedule;
pub mod serve;
pub mod store;
