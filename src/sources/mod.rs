//! Managing the sources of `feeds.toml` from outside: OPML export and import (`opml`) and
//! selectors suggested for listing pages without feeds (`suggest`).

pub(crate) mod opml;
pub(crate) mod suggest;
