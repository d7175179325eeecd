//! kontor: a self-hosted live-support appliance.
//!
//! Layers point one way, each using only those below it: `http` → `realtime` → `domain` →
//! `store` → `model`. `realtime` holds the sockets and the per-tenant hub shell (batch, commit,
//! flush); `domain` the conversation and live-visitor state machines (events in, effects out,
//! rows through a ledger), the wire frames they speak, and the services (sign-in, agents,
//! files, privacy requests, sites); `store` the SQLCipher files and their
//! queries; `model` the pure types and rules that storage and everything above it share
//! (rights, visitor tracking, tenant names, address truncation, routing, throttles, site
//! values). `config`, `error`, `crypto` and `clock` are leaves: they import nothing but each
//! other; `metrics` is a leaf too, so every layer may count into it. `cli`, `admin` (the
//! operator's door: CLI and admin socket) and `serve` start and steer the server through the
//! same domain and store code; `schedule` runs the timed jobs and `doctor` checks a data
//! directory.

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
pub mod metrics;
pub mod model;
pub mod realtime;
pub mod schedule;
pub mod serve;
pub mod store;
