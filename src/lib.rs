//! veille: a news watch for the centre's dossiers — sources are fetched, read, stored,
//! then curated and published. See ARCHITECTURE.md for the map.

pub mod commands;
pub mod config;
pub mod fetch;
pub mod harvest;
pub mod ingest;
pub mod model;
pub mod store;
pub mod text;
