//! veille: a news watch for the centre's dossiers — sources are fetched, read, stored,
//! then curated and published. See ARCHITECTURE.md for the map.

pub mod backup;
pub mod bodies;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cron;
pub mod curate;
pub mod daemon;
pub mod dedup;
pub mod extract;
pub mod fetch;
pub mod harvest;
pub mod indexing;
pub mod ingest;
pub mod learning;
pub mod lock;
pub mod logging;
pub mod mail;
pub mod model;
pub mod places;
pub mod prepared;
pub mod publish;
pub mod retagging;
pub mod schedule;
pub mod search;
pub mod secrets;
pub mod sources;
pub mod store;
pub mod tag;
#[cfg(test)]
mod testing;
pub mod text;
pub mod web;
pub mod wording;
