//! Managing the sources of `feeds.toml` from outside: OPML export and import (`opml`) and
//! selectors suggested for listing pages without feeds (`suggest`).

pub mod opml;
pub mod suggest;
