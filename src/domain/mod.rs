//! The rules of the product and the services above storage: conversations and live visitors
//! (state machines: events in, effects out, rows through a ledger), the wire protocol they
//! speak, sign-in, agents, uploaded files, privacy requests, sites. No actix,
//! no SQL of their own; the pure rules they share with storage live in `crate::model`.

pub mod agents;
pub mod api_tokens;
pub mod auth;
pub mod backlogs;
pub mod conversation;
pub mod email;
pub mod faqs;
pub mod files;
pub mod hours;
pub mod intrusion;
pub mod live_visitors;
pub mod lookup;
pub mod outbound;
pub mod prechat;
pub mod privacy;
pub mod privacy_report;
pub mod protocol;
pub mod read_log;
pub mod relevance;
pub mod restriction;
pub mod setup;
pub mod sites;
pub mod support;
pub mod team_chat;
pub mod two_factor;
pub mod webhooks;
