//! OPML 2.0 in and out. Export writes every source of `feeds.toml`, grouped by dossier, with
//! each source's own keys in `veille:` attributes so a round trip loses nothing (page
//! sources and Google News searches included); import adds the feeds of any reader's OPML
//! (Miniflux, FreshRSS, Feedly, Inoreader, newsboat) to `feeds.toml` through toml_edit, so the
//! file keeps its comments and layout.

use std::collections::BTreeMap;

use quick_xml::escape::escape;
use quick_xml::events::Event;
use toml_edit::{DocumentMut, Item, Value};

use crate::config::{Config, google_news_url};

const NAMESPACE: &str = "https://veille.example.org/opml";
/// Attribute prefix of non-string values, written as TOML (`veille:toml-dossiers='["a"]'`).
const TOML_PREFIX: &str = "toml-";

/// OPML of every source of the configuration file `text` (already validated into `config`,
/// which gives the dossier titles). Sources are read from the file itself, not from `config`,
/// so that keys the model does not keep (the search query, a schedule) survive.
pub(crate) fn export(config: &Config, text: &str) -> Result<String, String> {
    let doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("feeds.toml illisible : {e}"))?;
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut loose = Vec::new();
    if let Some(sources) = doc.get("sources").and_then(Item::as_array_of_tables) {
        for table in sources {
            let outline = source_outline(table)?;
            let first = table
                .get("dossiers")
                .and_then(Item::as_array)
                .and_then(|a| a.get(0))
                .and_then(Value::as_str);
            match first {
                Some(dossier) => groups.entry(dossier.to_owned()).or_default().push(outline),
                None => loose.push(outline),
            }
        }
    }
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<opml version=\"2.0\" xmlns:veille=\"{NAMESPACE}\">\n  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        escape(format!("Sources de veille — {}", config.publish.site_name))
    ));
    for (dossier, outlines) in &groups {
        let title = config
            .dossiers
            .get(dossier)
            .map_or(dossier.as_str(), |d| d.title.as_str());
        out.push_str(&format!(
            "    <outline text=\"{}\" title=\"{}\" veille:dossier=\"{}\">\n",
            escape(title),
            escape(title),
            escape(dossier)
        ));
        for o in outlines {
            out.push_str(&format!("      {o}\n"));
        }
        out.push_str("    </outline>\n");
    }
    for o in &loose {
        out.push_str(&format!("    {o}\n"));
    }
    out.push_str("  </body>\n</opml>\n");
    Ok(out)
}

fn source_outline(table: &toml_edit::Table) -> Result<String, String> {
    let name = table
        .get("name")
        .and_then(Item::as_str)
        .ok_or("une source sans nom")?;
    let mut attrs = vec![
        ("text".to_owned(), name.to_owned()),
        ("title".to_owned(), name.to_owned()),
    ];
    if let Some(feed) = table.get("feed").and_then(Item::as_str) {
        attrs.push(("type".into(), "rss".into()));
        attrs.push(("xmlUrl".into(), feed.into()));
    } else if let Some(query) = table.get("search").and_then(Item::as_str) {
        // Other readers follow the built Google News feed; veille keeps the query.
        attrs.push(("type".into(), "rss".into()));
        attrs.push(("xmlUrl".into(), google_news_url(query)));
    } else if let Some(page) = table.get("page").and_then(Item::as_str) {
        attrs.push(("type".into(), "link".into()));
        attrs.push(("htmlUrl".into(), page.into()));
    }
    for (key, item) in table.iter() {
        if key == "name" || key == "feed" {
            continue;
        }
        flatten(key, item, &mut attrs);
    }
    let attrs: Vec<String> = attrs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_attr(v)))
        .collect();
    Ok(format!("<outline {}/>", attrs.join(" ")))
}

/// One attribute per key: strings as they are, other values as TOML, sub-tables dotted.
fn flatten(key: &str, item: &Item, attrs: &mut Vec<(String, String)>) {
    match item {
        Item::Value(Value::String(s)) => attrs.push((format!("veille:{key}"), s.value().clone())),
        Item::Value(Value::InlineTable(t)) => {
            for (k, v) in t.iter() {
                flatten(&format!("{key}.{k}"), &Item::Value(v.clone()), attrs);
            }
        }
        Item::Value(v) => attrs.push((
            format!("veille:{TOML_PREFIX}{key}"),
            v.clone().decorated("", "").to_string(),
        )),
        Item::Table(t) => {
            for (k, v) in t.iter() {
                flatten(&format!("{key}.{k}"), v, attrs);
            }
        }
        Item::None | Item::ArrayOfTables(_) => {}
    }
}

/// Attribute values keep their line breaks and tabs through XML attribute normalisation.
fn escape_attr(value: &str) -> String {
    escape(value)
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

/// A feed found in an OPML file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outline {
    pub(crate) name: String,
    /// The enclosing outlines' `text`, innermost last (readers' categories).
    categories: Vec<String>,
    /// The enclosing dossier outline's `veille:dossier`, if written by veille.
    pub(crate) dossier: Option<String>,
    /// All attributes in document order, as written (`veille:select.item`).
    attrs: Vec<(String, String)>,
}

impl Outline {
    fn attr(&self, key: &str) -> Option<&String> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Reads every outline that is a source (one with `xmlUrl`, or veille's own attributes).
pub(crate) fn parse(xml: &str) -> Result<Vec<Outline>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    // Which prefix means veille's namespace in this file (normally `veille`).
    let mut stack: Vec<(String, Option<String>)> = Vec::new();
    let mut out = Vec::new();
    let mut seen_opml = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "OPML illisible à l'octet {} : {e}",
                reader.buffer_position()
            )
        })?;
        let (element, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.local_name().into_inner() == "outline" {
                    stack.pop();
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        match element.local_name().into_inner() {
            "opml" => seen_opml = true,
            "outline" => {
                let mut attrs: Vec<(String, String)> = Vec::new();
                for attr in element.attributes().with_checks(false) {
                    let attr = attr.map_err(|e| format!("attribut illisible : {e}"))?;
                    let key = attr.key.into_inner().to_owned();
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| format!("attribut {key} illisible : {e}"))?
                        .into_owned();
                    attrs.push((key, value));
                }
                let outline = Outline {
                    name: String::new(),
                    categories: stack.iter().map(|(t, _)| t.clone()).collect(),
                    dossier: stack.iter().rev().find_map(|(_, d)| d.clone()),
                    attrs,
                };
                let text = outline
                    .attr("title")
                    .or_else(|| outline.attr("text"))
                    .map(|t| t.trim().to_owned())
                    .unwrap_or_default();
                let is_source = ["xmlUrl", "xmlurl", "veille:page", "veille:search"]
                    .iter()
                    .any(|k| outline.attr(k).is_some());
                if !empty {
                    stack.push((text.clone(), outline.attr("veille:dossier").cloned()));
                }
                if is_source {
                    out.push(Outline {
                        name: text,
                        ..outline
                    });
                }
            }
            _ => {}
        }
    }
    if !seen_opml {
        return Err("ce fichier n'est pas un OPML (pas d'élément <opml>)".into());
    }
    Ok(out)
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct ImportReport {
    /// Names of the sources added.
    pub(crate) added: Vec<String>,
    /// Sources skipped, with why (already present).
    pub(crate) skipped: Vec<(String, String)>,
}

/// Adds the sources of `outlines` to the configuration text, keeping its comments and layout.
/// `dossier` is given to every source that does not carry its own dossiers; otherwise an
/// enclosing outline named like a dossier (id or title) gives it.
pub(crate) fn import(
    config_text: &str,
    outlines: &[Outline],
    dossiers: &[(String, String)],
    dossier: Option<&str>,
) -> Result<(String, ImportReport), String> {
    let mut doc: DocumentMut = config_text
        .parse()
        .map_err(|e| format!("feeds.toml illisible : {e}"))?;
    let mut report = ImportReport::default();
    let mut names = Vec::new();
    let mut urls = Vec::new();
    if let Some(sources) = doc.get("sources").and_then(Item::as_array_of_tables) {
        for t in sources {
            names.extend(t.get("name").and_then(Item::as_str).map(str::to_owned));
            for key in ["feed", "page", "search"] {
                urls.extend(
                    t.get(key)
                        .and_then(Item::as_str)
                        .map(|u| same_url_key(key, u)),
                );
            }
        }
    }
    if doc.get("sources").is_none() {
        doc.insert("sources", Item::ArrayOfTables(Default::default()));
    }
    let Some(sources) = doc
        .get_mut("sources")
        .and_then(Item::as_array_of_tables_mut)
    else {
        return Err("`sources` de feeds.toml n'est pas une liste de [[sources]]".into());
    };
    for outline in outlines {
        let table = source_table(outline, dossiers, dossier)?;
        let key = ["feed", "page", "search"]
            .iter()
            .find_map(|k| {
                table
                    .get(k)
                    .and_then(Item::as_str)
                    .map(|u| same_url_key(k, u))
            })
            .unwrap_or_default();
        let name = table
            .get("name")
            .and_then(Item::as_str)
            .unwrap_or_default()
            .to_owned();
        if urls.contains(&key) {
            report
                .skipped
                .push((name, "déjà dans feeds.toml (même adresse)".into()));
            continue;
        }
        let mut table = table;
        let mut unique = name.clone();
        let mut n = 2;
        while names.contains(&unique) {
            unique = format!("{name} ({n})");
            n += 1;
        }
        table["name"] = toml_edit::value(unique.clone());
        names.push(unique.clone());
        urls.push(key);
        sources.push(table);
        report.added.push(unique);
    }
    Ok((doc.to_string(), report))
}

/// Two sources are the same when they fetch the same thing (URL compared without a
/// trailing slash and with the host lowercased).
fn same_url_key(kind: &str, value: &str) -> String {
    let value = value.trim();
    let normal = match url::Url::parse(value) {
        Ok(u) => u.as_str().trim_end_matches('/').to_owned(),
        Err(_) => value.to_owned(),
    };
    format!("{kind}:{normal}")
}

fn source_table(
    outline: &Outline,
    dossiers: &[(String, String)],
    dossier: Option<&str>,
) -> Result<toml_edit::Table, String> {
    let mut table = toml_edit::Table::new();
    let name = if outline.name.is_empty() {
        outline
            .attr("xmlUrl")
            .cloned()
            .unwrap_or_else(|| "source sans nom".into())
    } else {
        outline.name.clone()
    };
    table["name"] = toml_edit::value(name);
    let own: Vec<(&str, &String)> = outline
        .attrs
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("veille:").map(|k| (k, v)))
        .filter(|(k, _)| *k != "dossier")
        .collect();
    let veille_kind = own.iter().any(|(k, _)| *k == "page" || *k == "search");
    if !veille_kind {
        let feed = outline
            .attr("xmlUrl")
            .or_else(|| outline.attr("xmlurl"))
            .ok_or_else(|| format!("« {} » : pas d'adresse de flux (xmlUrl)", outline.name))?;
        url::Url::parse(feed.trim()).map_err(|e| {
            format!(
                "« {} » : adresse de flux invalide {feed} ({e})",
                outline.name
            )
        })?;
        table["feed"] = toml_edit::value(feed.trim());
    }
    let mut has_dossiers = false;
    for (key, value) in own {
        let (key, item) = match key.strip_prefix(TOML_PREFIX) {
            Some(k) => {
                let v: Value = value
                    .parse()
                    .map_err(|e| format!("« {} » : veille:{key} illisible ({e})", outline.name))?;
                (k, toml_edit::Item::Value(v))
            }
            None => (key, toml_edit::value(value.as_str())),
        };
        has_dossiers |= key == "dossiers";
        insert_dotted(&mut table, key, item);
    }
    if !has_dossiers {
        let chosen = dossier.map(str::to_owned).or_else(|| {
            outline.dossier.clone().or_else(|| {
                outline.categories.iter().rev().find_map(|c| {
                    let c = fold(c);
                    dossiers
                        .iter()
                        .find(|(id, title)| fold(id) == c || fold(title) == c)
                        .map(|(id, _)| id.clone())
                })
            })
        });
        if let Some(d) = chosen {
            let mut array = toml_edit::Array::new();
            array.push(d);
            table["dossiers"] = toml_edit::value(array);
        }
    }
    Ok(table)
}

/// `select.item` → `[sources.select] item`.
fn insert_dotted(table: &mut toml_edit::Table, key: &str, item: Item) {
    match key.split_once('.') {
        Some((head, rest)) => {
            if !table.contains_key(head) {
                let mut sub = toml_edit::Table::new();
                sub.set_implicit(false);
                table.insert(head, Item::Table(sub));
            }
            if let Some(sub) = table.get_mut(head).and_then(Item::as_table_mut) {
                insert_dotted(sub, rest, item);
            }
        }
        None => {
            table.insert(key, item);
        }
    }
}

fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}
