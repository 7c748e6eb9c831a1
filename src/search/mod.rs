//! Full-text search over the stored articles: a tantivy index in `archive/search/`.
//!
//! Each of title and summary is indexed twice: stemmed (`text::STEMMED`, so `discriminations`
//! finds `discrimination`) and folded without stemming (`text::FOLDED`, so an exact accentless
//! form such as `laicite` matches `laïcité` and counts a little more than a mere shared stem).
//! A query word matches if any of the four fields matches; titles weigh double. The article's
//! full text (`articles.content`, fetched after the feed pass) is indexed the same two ways but
//! not stored, weighing half as much as the summary: a word only in the body finds the article,
//! below those that have it in their title or summary.
//!
//! tantivy has no schema evolution: the schema and the analysers' output on a probe sentence
//! are written to `VERSION` beside the index. When that file differs (new binary, changed
//! analyser) or the index cannot be read, the folder is recreated empty and the caller rebuilds
//! it from the store. `VERSION` is written only after a complete rebuild, so a rebuild cut
//! short is started again at the next opening.
//!
//! One process writes (tantivy's lock file); the others read and see each commit after a short
//! delay. The writer records who it is in `WRITER`, so that a second writer can say which
//! process holds the index.

mod query;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::directory::INDEX_WRITER_LOCK;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RawTokenizer, TextAnalyzer};
use tantivy::{
    Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term,
    directory::error::LockError,
};

use crate::text;

pub(crate) use query::InvalidQuery;

mod id;
use id::ID_FILE;

/// Bump when the schema or the way documents are built changes; analyser changes are caught
/// by the probe in `VERSION` without a bump.
pub(crate) const SCHEMA_VERSION: u32 = 2;
/// File beside the index holding the schema version and the analysers' probe output.
pub(crate) const VERSION_FILE: &str = "VERSION";
/// File where the writing process records its pid and command line.
const WRITER_FILE: &str = "WRITER";

/// Tokenizer of the dossier and territory slugs: the whole value as one token, lowercase and
/// accentless, so that `dossier:Pauvreté` and `territoire:Haute-Garonne` find the slugs.
const SLUG: &str = "veille_slug";

/// Most characters of a snippet (tantivy counts bytes).
const SNIPPET_CHARS: usize = 220;

// Field names. The ones users type (`dossier:`, `territoire:`, `titre:`, …) are mapped onto
// these by `query`.
const F_ID: &str = "id";
const F_STORY: &str = "story";
const F_TITLE: &str = "title";
const F_TITLE_FOLD: &str = "title_fold";
const F_SUMMARY: &str = "summary";
const F_SUMMARY_FOLD: &str = "summary_fold";
const F_BODY: &str = "body";
const F_BODY_FOLD: &str = "body_fold";
const F_URL: &str = "url";
const F_SOURCE: &str = "source";
const F_DOSSIER: &str = "dossier";
const F_TERRITORY: &str = "territoire";
const F_DATE: &str = "date";

pub use crate::model::SearchDoc;

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub(crate) id: i64,
    pub(crate) story: i64,
    pub(crate) title: String,
    pub(crate) url: String,
    pub(crate) source: String,
    pub(crate) published: Option<DateTime<Utc>>,
    pub(crate) score: f32,
    /// Plain text: the best passage of the summary (or of the title when there is no summary),
    /// with `…` where it was cut.
    pub(crate) snippet: String,
    /// Byte ranges of the matched words in `snippet`.
    #[serde(skip)]
    pub(crate) highlighted: Vec<(usize, usize)>,
}

/// A second process tried to write while another holds the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriterBusy {
    pub(crate) dir: PathBuf,
    /// The holder, as it recorded itself in `WRITER` (absent if unknown or gone).
    pub(crate) pid: Option<u32>,
    pub(crate) command: Option<String>,
    pub(crate) since: Option<String>,
}

impl fmt::Display for WriterBusy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "l'index de recherche {} est déjà ouvert en écriture ",
            self.dir.display()
        )?;
        match self.pid {
            Some(pid) if pid == std::process::id() => write!(f, "par ce même processus")?,
            Some(pid) => {
                write!(f, "par le processus {pid}")?;
                match (&self.command, &self.since) {
                    (Some(c), Some(s)) => write!(f, " ({c}, depuis {s})")?,
                    (Some(c), None) => write!(f, " ({c})")?,
                    (None, Some(s)) => write!(f, " (depuis {s})")?,
                    (None, None) => {}
                }
            }
            None => write!(f, "par un autre processus")?,
        }
        write!(
            f,
            " ; un seul processus écrit dans l'index à la fois (le démon `veille run` indexe \
             lui-même ce qu'il relève)"
        )
    }
}

impl std::error::Error for WriterBusy {}

/// The fields of the schema, looked up once.
#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    story: Field,
    title: Field,
    title_fold: Field,
    summary: Field,
    summary_fold: Field,
    body: Field,
    body_fold: Field,
    url: Field,
    source: Field,
    dossier: Field,
    territory: Field,
    date: Field,
}

/// The search index of an archive.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    parser: QueryParser,
    fields: Fields,
    /// Dates typed without a time (`depuis:2026-01-15`) are days in this zone.
    timezone: Tz,
    /// The id the store knows this index by (`id::ID_FILE`), and whether it was made now.
    id: String,
    id_made: bool,
}

fn text_field(tokenizer: &str, stored: bool) -> TextOptions {
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    if stored {
        options.set_stored()
    } else {
        options
    }
}

/// The schema; any change here needs a `SCHEMA_VERSION` bump (a test compares it with the
/// schema of an index written by the same version).
pub(crate) fn schema() -> Schema {
    let mut b = Schema::builder();
    b.add_i64_field(F_ID, INDEXED | STORED | FAST);
    b.add_i64_field(F_STORY, STORED | FAST);
    b.add_text_field(F_TITLE, text_field(text::STEMMED, true));
    b.add_text_field(F_TITLE_FOLD, text_field(text::FOLDED, false));
    b.add_text_field(F_SUMMARY, text_field(text::STEMMED, true));
    b.add_text_field(F_SUMMARY_FOLD, text_field(text::FOLDED, false));
    // Not stored: results show the title and summary only, and bodies would double the index.
    b.add_text_field(F_BODY, text_field(text::STEMMED, false));
    b.add_text_field(F_BODY_FOLD, text_field(text::FOLDED, false));
    b.add_text_field(F_URL, STORED);
    // Source names are words (`Le Monde`), so `source:monde` and `source:"le monde"` work.
    b.add_text_field(F_SOURCE, text_field(text::FOLDED, true));
    let slug = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(SLUG)
            .set_index_option(IndexRecordOption::Basic),
    );
    b.add_text_field(F_DOSSIER, slug.clone());
    b.add_text_field(F_TERRITORY, slug);
    b.add_date_field(
        F_DATE,
        DateOptions::default()
            .set_indexed()
            .set_stored()
            .set_fast()
            .set_precision(DateTimePrecision::Seconds),
    );
    b.build()
}

fn slug_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// `dossier:Pauvreté` → `pauvrete`, as the slug fields index it.
fn slug(value: &str) -> String {
    let mut analyzer = slug_analyzer();
    let mut stream = analyzer.token_stream(value.trim());
    let mut out = String::new();
    stream.process(&mut |t| out.push_str(&t.text));
    out
}

/// What `VERSION` must contain: the schema version and what the analysers make of a probe
/// sentence, so that a change of stop words, folding or stemming also triggers a rebuild.
fn version_text() -> String {
    const PROBE: &str = "L’État et les discriminations : laïcité, sécurité des quartiers \
                         prioritaires, égalité femmes-hommes, illettrisme, décrochage scolaire";
    let words = |ws: Vec<text::Word>| {
        ws.into_iter()
            .map(|w| format!("{}@{}", w.text, w.position))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "schema {SCHEMA_VERSION}\n{}: {}\n{}: {}\n",
        text::STEMMED,
        words(text::stems(PROBE)),
        text::FOLDED,
        words(text::folded_words(PROBE)),
    )
}

fn io_context(what: &str, path: &Path, e: impl fmt::Display) -> anyhow::Error {
    let text = e.to_string();
    // tantivy's errors carry the system's English text (kept in the debug log); a full disk
    // (ENOSPC, os error 28) is the one people can act on, so it is said in French.
    if text.contains("os error 28") {
        tracing::debug!("{what} {} : {text}", path.display());
        return anyhow::anyhow!(
            "{what} {} : disque plein, libérez de la place",
            path.display()
        );
    }
    anyhow::anyhow!("{what} {} : {text}", path.display())
}

fn register_tokenizers(index: &Index) {
    text::register(index.tokenizers());
    index.tokenizers().register(SLUG, slug_analyzer());
}

/// Opens the index if it is readable and has the expected schema.
fn open_existing(dir: &Path) -> Option<Index> {
    let index = Index::open_in_dir(dir).ok()?;
    (index.schema() == schema()).then_some(index)
}

/// Empties `dir`, keeping only the lock file we hold and the index's id (the rebuild that
/// follows forgets the marks under it).
fn clear_dir(dir: &Path) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_context("lecture de", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_context("lecture de", dir, e))?;
        let path = entry.path();
        if entry.file_name() == INDEX_WRITER_LOCK.filepath.as_os_str()
            || entry.file_name() == ID_FILE
        {
            continue;
        }
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| io_context("impossible de supprimer", &path, e))?;
    }
    Ok(())
}

fn read_owner(dir: &Path) -> WriterBusy {
    let mut busy = WriterBusy {
        dir: dir.to_path_buf(),
        pid: None,
        command: None,
        since: None,
    };
    let Ok(text) = std::fs::read_to_string(dir.join(WRITER_FILE)) else {
        return busy;
    };
    for line in text.lines() {
        match line.split_once('=') {
            Some(("pid", v)) => busy.pid = v.trim().parse().ok(),
            Some(("command", v)) => busy.command = Some(v.trim().to_string()),
            Some(("since", v)) => busy.since = Some(v.trim().to_string()),
            _ => {}
        }
    }
    // A record left by a process that has since died says nothing about the current holder.
    let gone = |pid: u32| cfg!(target_os = "linux") && !Path::new(&format!("/proc/{pid}")).exists();
    if busy.pid.is_some_and(gone) {
        busy.pid = None;
        busy.command = None;
        busy.since = None;
    }
    busy
}

fn write_owner(dir: &Path) {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let text = format!(
        "pid={}\ncommand={}\nsince={}\n",
        std::process::id(),
        command.replace('\n', " "),
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    // Only informative: a failure must not stop indexing.
    let _ = std::fs::write(dir.join(WRITER_FILE), text);
}

/// Takes tantivy's writer lock file directly, for the time it takes to recreate the folder,
/// so that no other process recreates or writes it meanwhile (same `flock` as tantivy's).
fn try_lock_dir(dir: &Path) -> anyhow::Result<Option<std::fs::File>> {
    let path = dir.join(INDEX_WRITER_LOCK.filepath.as_path());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_context("impossible d'ouvrir", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(io_context("verrouillage de", &path, e)),
    }
}

fn field(schema: &Schema, name: &str) -> Field {
    schema
        .get_field(name)
        .expect("the schema defines every field name")
}

impl SearchIndex {
    /// Opens the index in `dir` (created if missing). Returns `true` when the index was
    /// (re)created empty, because it was missing, unreadable or of another version: the caller
    /// must then `rebuild` it from the store.
    pub fn open(dir: &Path) -> anyhow::Result<(SearchIndex, bool)> {
        std::fs::create_dir_all(dir)
            .map_err(|e| io_context("impossible de créer le dossier de l'index", dir, e))?;
        let version_ok = std::fs::read_to_string(dir.join(VERSION_FILE))
            .is_ok_and(|text| text == version_text());
        if version_ok && let Some(index) = open_existing(dir) {
            return Ok((SearchIndex::from_index(dir, index)?, false));
        }
        let Some(lock) = try_lock_dir(dir)? else {
            // Another process writes: if the index it writes has our schema, it is rebuilding
            // it (VERSION comes at the end) and we can read what is there.
            if let Some(index) = open_existing(dir) {
                return Ok((SearchIndex::from_index(dir, index)?, false));
            }
            return Err(anyhow::Error::new(read_owner(dir)).context(format!(
                "l'index de recherche {} doit être reconstruit",
                dir.display()
            )));
        };
        clear_dir(dir)?;
        let index = Index::create_in_dir(dir, schema())
            .map_err(|e| io_context("impossible de créer l'index de recherche dans", dir, e))?;
        drop(lock);
        Ok((SearchIndex::from_index(dir, index)?, true))
    }

    fn from_index(dir: &Path, index: Index) -> anyhow::Result<SearchIndex> {
        let (id, id_made) = id::ensure(dir)?;
        register_tokenizers(&index);
        let schema = index.schema();
        let fields = Fields {
            id: field(&schema, F_ID),
            story: field(&schema, F_STORY),
            title: field(&schema, F_TITLE),
            title_fold: field(&schema, F_TITLE_FOLD),
            summary: field(&schema, F_SUMMARY),
            summary_fold: field(&schema, F_SUMMARY_FOLD),
            body: field(&schema, F_BODY),
            body_fold: field(&schema, F_BODY_FOLD),
            url: field(&schema, F_URL),
            source: field(&schema, F_SOURCE),
            dossier: field(&schema, F_DOSSIER),
            territory: field(&schema, F_TERRITORY),
            date: field(&schema, F_DATE),
        };
        // Commits from the writing process show up here within a second or so.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(|e| io_context("lecture impossible de l'index", dir, e))?;
        let mut parser = QueryParser::for_index(
            &index,
            vec![
                fields.title,
                fields.title_fold,
                fields.summary,
                fields.summary_fold,
                fields.body,
                fields.body_fold,
            ],
        );
        // A curator typing two words wants articles with both.
        parser.set_conjunction_by_default();
        parser.set_field_boost(fields.title, 2.0);
        parser.set_field_boost(fields.title_fold, 2.0);
        // A word deep in a long page says less about the article than its summary does.
        parser.set_field_boost(fields.body, 0.5);
        parser.set_field_boost(fields.body_fold, 0.5);
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            parser,
            fields,
            timezone: chrono_tz::Europe::Paris,
            id,
            id_made,
        })
    }

    /// The id under which the store records what this index holds.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Whether the id was made by this opening (a new folder, or one from before ids).
    pub(crate) fn id_made(&self) -> bool {
        self.id_made
    }

    /// The zone of dates typed without a time (default Europe/Paris; pass the configured one).
    pub(crate) fn set_timezone(&mut self, timezone: Tz) {
        self.timezone = timezone;
    }

    /// The tantivy index, for tools (benchmarks, maintenance).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Number of indexed articles, as this process last saw the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The one writer. Fails with a `WriterBusy` (French message, downcastable) when another
    /// process, or this one, already holds it.
    pub fn writer(&self) -> anyhow::Result<IndexWriter> {
        // Two threads are plenty for a news watch; 64 MB each keeps a rebuild's segments few.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        match self
            .index
            .writer_with_num_threads(threads, threads * 64_000_000)
        {
            Ok(writer) => {
                write_owner(&self.dir);
                Ok(writer)
            }
            Err(TantivyError::LockFailure(LockError::LockBusy, _)) => {
                Err(anyhow::Error::new(read_owner(&self.dir)))
            }
            Err(e) => Err(io_context(
                "impossible d'écrire dans l'index de recherche",
                &self.dir,
                e,
            )),
        }
    }

    fn document(&self, doc: &SearchDoc) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_i64(f.id, doc.id);
        d.add_i64(f.story, doc.story);
        d.add_text(f.title, &doc.title);
        d.add_text(f.title_fold, &doc.title);
        d.add_text(f.summary, &doc.summary);
        d.add_text(f.summary_fold, &doc.summary);
        if !doc.body.is_empty() {
            d.add_text(f.body, &doc.body);
            d.add_text(f.body_fold, &doc.body);
        }
        d.add_text(f.url, &doc.url);
        d.add_text(f.source, &doc.source);
        for dossier in &doc.dossiers {
            d.add_text(f.dossier, dossier);
        }
        for territory in &doc.territories {
            d.add_text(f.territory, territory);
        }
        if let Some(published) = doc.published {
            d.add_date(
                f.date,
                tantivy::DateTime::from_timestamp_secs(published.timestamp()),
            );
        }
        d
    }

    /// Adds or replaces articles (by id). Visible after `commit`.
    pub(crate) fn upsert(&self, writer: &IndexWriter, docs: &[SearchDoc]) -> anyhow::Result<()> {
        for doc in docs {
            writer.delete_term(Term::from_field_i64(self.fields.id, doc.id));
            writer
                .add_document(self.document(doc))
                .map_err(|e| io_context("indexation impossible dans", &self.dir, e))?;
        }
        Ok(())
    }

    /// Removes articles by id. Visible after `commit`.
    #[cfg(test)]
    pub(crate) fn delete(&self, writer: &IndexWriter, ids: &[i64]) {
        for &id in ids {
            writer.delete_term(Term::from_field_i64(self.fields.id, id));
        }
    }

    /// Makes the changes durable and visible: at once in this process, within about a second
    /// in the others.
    pub(crate) fn commit(&self, writer: &mut IndexWriter) -> anyhow::Result<()> {
        writer
            .commit()
            .map_err(|e| io_context("enregistrement impossible de l'index", &self.dir, e))?;
        self.reader
            .reload()
            .map_err(|e| io_context("relecture impossible de l'index", &self.dir, e))?;
        Ok(())
    }

    /// For a short-lived process (`veille fetch`): takes the writer, adds or replaces `docs`,
    /// commits, and waits for the background merges before releasing the lock.
    #[cfg(test)]
    pub(crate) fn index_docs(&self, docs: &[SearchDoc]) -> anyhow::Result<()> {
        let mut writer = self.writer()?;
        self.upsert(&writer, docs)?;
        self.commit(&mut writer)?;
        writer
            .wait_merging_threads()
            .map_err(|e| io_context("fusion impossible des segments de", &self.dir, e))
    }

    /// Replaces the whole content with `docs` in one commit (`veille reindex`, or after
    /// `open` asked for it), then writes `VERSION`. If it stops half-way, the previous content
    /// stays and, when the version was stale, the next opening asks again. Returns the count.
    pub fn rebuild(&self, docs: impl IntoIterator<Item = SearchDoc>) -> anyhow::Result<u64> {
        let writer = self.begin_rebuild()?;
        let mut count = 0;
        for doc in docs {
            writer
                .add_document(self.document(&doc))
                .map_err(|e| io_context("indexation impossible dans", &self.dir, e))?;
            count += 1;
        }
        self.finish_rebuild(writer)?;
        Ok(count)
    }

    /// `rebuild` in steps, for a caller that reads the store page by page (async) rather than
    /// holding every article in memory: `begin_rebuild`, then `upsert` each page, then
    /// `finish_rebuild`. Nothing is visible before the end.
    pub(crate) fn begin_rebuild(&self) -> anyhow::Result<IndexWriter> {
        let writer = self.writer()?;
        writer
            .delete_all_documents()
            .map_err(|e| io_context("indexation impossible dans", &self.dir, e))?;
        Ok(writer)
    }

    /// Commits a rebuild, waits for the merges, and marks the index as up to date.
    pub(crate) fn finish_rebuild(&self, mut writer: IndexWriter) -> anyhow::Result<()> {
        self.commit(&mut writer)?;
        writer
            .wait_merging_threads()
            .map_err(|e| io_context("fusion impossible des segments de", &self.dir, e))?;
        let version = self.dir.join(VERSION_FILE);
        std::fs::write(&version, version_text())
            .map_err(|e| io_context("impossible d'écrire", &version, e))
    }

    /// Parses a query as `veille search` understands it (see `query`), as a tantivy query.
    /// Errors are `InvalidQuery` with a French message.
    pub fn parse(&self, text: &str) -> anyhow::Result<Box<dyn Query>> {
        let ctx = query::Context {
            timezone: self.timezone,
            now: Utc::now(),
        };
        Ok(query::parse(&self.parser, text, &ctx)?)
    }

    /// The `limit` best articles for `text`, optionally within one dossier.
    pub fn search(
        &self,
        text: &str,
        dossier: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<Hit>> {
        let mut query = self.parse(text)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        if let Some(dossier) = dossier {
            let term = Term::from_field_text(self.fields.dossier, &slug(dossier));
            // A filter, not a ranking signal.
            let filter = ConstScoreQuery::new(
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                0.0,
            );
            query = Box::new(BooleanQuery::new(vec![
                (Occur::Must, query),
                (Occur::Must, Box::new(filter)),
            ]));
        }
        let failed = |e: TantivyError| io_context("recherche impossible dans", &self.dir, e);
        let searcher = self.reader.searcher();
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(failed)?;
        if top.is_empty() {
            return Ok(Vec::new());
        }
        let mut summaries =
            SnippetGenerator::create(&searcher, &*query, self.fields.summary).map_err(failed)?;
        summaries.set_max_num_chars(SNIPPET_CHARS);
        let mut titles =
            SnippetGenerator::create(&searcher, &*query, self.fields.title).map_err(failed)?;
        titles.set_max_num_chars(SNIPPET_CHARS);
        let f = &self.fields;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(failed)?;
            let text_of = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let int_of = |field: Field| doc.get_first(field).and_then(|v| v.as_i64()).unwrap_or(0);
            let title = text_of(f.title);
            let summary = text_of(f.summary);
            let (snippet, highlighted) = if summary.trim().is_empty() {
                snippet_text(&titles.snippet(&title), &title)
            } else {
                snippet_text(&summaries.snippet(&summary), &summary)
            };
            hits.push(Hit {
                id: int_of(f.id),
                story: int_of(f.story),
                url: text_of(f.url),
                source: text_of(f.source),
                published: doc
                    .get_first(f.date)
                    .and_then(|v| v.as_datetime())
                    .and_then(|d| DateTime::from_timestamp(d.into_timestamp_secs(), 0)),
                title,
                score,
                snippet,
                highlighted,
            });
        }
        Ok(hits)
    }
}

/// The snippet as plain text with `…` where the text was cut, and its highlights; when no
/// query word is in `text` (the match was elsewhere), the start of `text`.
fn snippet_text(snippet: &Snippet, text: &str) -> (String, Vec<(usize, usize)>) {
    const ELLIPSIS: &str = "…";
    if snippet.is_empty() {
        let mut end = text.len().min(SNIPPET_CHARS);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len() {
            // Cut at a word boundary when there is one.
            end = text[..end].rfind(char::is_whitespace).unwrap_or(end);
            return (format!("{}{ELLIPSIS}", text[..end].trim_end()), Vec::new());
        }
        return (text.to_string(), Vec::new());
    }
    // Fragments start and stop on words: punctuation around them is kept, words are not.
    let range = snippet.fragment_range();
    let has_words = |s: &str| s.chars().any(char::is_alphanumeric);
    let (before, after) = (&text[..range.start], &text[range.end..]);
    let mut out = String::new();
    if has_words(before) {
        out.push_str(ELLIPSIS);
    } else {
        out.push_str(before.trim_start());
    }
    let shift = out.len();
    out.push_str(snippet.fragment());
    if has_words(after) {
        out.push_str(ELLIPSIS);
    } else {
        out.push_str(after.trim_end());
    }
    let highlighted = snippet
        .highlighted()
        .iter()
        .map(|r| (r.start + shift, r.end + shift))
        .collect();
    (out, highlighted)
}

/// The snippet with each highlighted range wrapped in `open` … `close` (`**`, ANSI bold, `<mark>`
/// after escaping…), for the text output.
pub(crate) fn highlight(
    snippet: &str,
    ranges: &[(usize, usize)],
    open: &str,
    close: &str,
) -> String {
    let mut out = String::with_capacity(snippet.len() + ranges.len() * (open.len() + close.len()));
    let mut at = 0;
    for &(start, end) in ranges {
        if start < at || end > snippet.len() || start > end {
            continue;
        }
        out.push_str(&snippet[at..start]);
        out.push_str(open);
        out.push_str(&snippet[start..end]);
        out.push_str(close);
        at = end;
    }
    out.push_str(&snippet[at..]);
    out
}

#[cfg(test)]
mod tests;
