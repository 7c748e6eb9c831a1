//! `feeds.toml` ready for the stages: the validated configuration (`config`) and its tagging
//! rules compiled once (`tag`). `config` cannot hold the compiled rules, since `tag` reads the
//! configuration; the pair lives one layer above both, so stage order holds and the rules are
//! compiled once per reading of the file (a command, or the daemon's start and each SIGHUP)
//! instead of once to check them and again at each pass.

use std::path::Path;
use std::sync::Arc;

use crate::config::{self, Config, ConfigErrors};
use crate::tag::Tagger;

/// A configuration and its compiled tagging rules.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) config: Config,
    pub(crate) tagger: Arc<Tagger>,
}

impl Prepared {
    /// Compiles the rules of a validated configuration; their mistakes are located in the
    /// file like the configuration's own.
    pub(crate) fn new(config: Config) -> Result<Prepared, ConfigErrors> {
        let tagger = Arc::new(Tagger::new(&config)?);
        Ok(Prepared { config, tagger })
    }

    /// Reads, validates and compiles `path`.
    pub(crate) fn load(path: &Path) -> Result<Prepared, ConfigErrors> {
        Prepared::new(config::load(path)?)
    }
}
