//! The admin commands, one file per noun: each holds its clap subcommands, the requests they
//! become, how a request is executed and how its result prints.

pub mod agent;
pub mod audit;
pub mod backup;
pub mod department;
pub mod gdpr;
pub mod hours;
pub mod offsite;
pub mod placement;
pub mod privacy;
mod restoring;
pub mod retention;
pub mod site;
pub mod smtp;
pub mod stats;
pub mod support;
pub mod tenant;
pub mod token;
