//! The one integration-test binary: the real `kontor` binary and server, temp data dirs.

mod common;
mod webdriver;

mod aggregates;
mod audit;
mod backup;
mod browser;
mod browser_privacy;
mod browser_signins;
mod browser_statistics;
mod browser_team;
mod browser_visitors;
mod campaigns;
mod chat;
mod cli;
mod config;
mod crash_delivery;
mod delivery;
mod doctor;
mod files;
mod flood;
mod gdpr;
mod injection;
mod login;
mod notices;
mod retention;
mod rights;
mod server;
mod sessions;
mod stats;
mod storage;
mod team;
mod tenant_move;
mod tracking;
mod web;
mod widget;
