//! veille: a news watch for the centre's dossiers — sources are fetched, read, stored,
//! then curated and published. See ARCHITECTURE.md for the map.

pub mod backup;
pub(crate) mod bodies;
pub mod cli;
pub mod commands;
pub mod config;
pub(crate) mod cron;
pub mod curate;
pub mod daemon;
pub mod dedup;
pub mod extract;
pub(crate) mod fetch;
pub(crate) mod harvest;
pub mod indexing;
pub mod ingest;
pub(crate) mod learning;
pub mod lock;
pub mod logging;
pub mod mail;
pub mod model;
pub(crate) mod places;
pub(crate) mod prepared;
pub mod publish;
pub(crate) mod retagging;
pub mod schedule;
pub mod search;
pub(crate) mod secrets;
pub(crate) mod sources;
pub mod store;
pub mod tag;
#[cfg(test)]
mod testing;
pub mod text;
pub mod web;
pub(crate) mod wording;
