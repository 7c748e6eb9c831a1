//! The state of the triage TUI and what each key does. No terminal here: `ui` draws this
//! state, `mod.rs` runs the loop, tests drive it directly. The keys of each mode beyond the
//! inbox live in a file of their own below `app/`.

mod catch_up;
mod composer;
mod edit;
mod editions;
mod filter_mode;
mod prefetch;
mod search;

#[cfg(test)]
pub(crate) use catch_up::CatchUp;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::filters::{self, Known};
use crate::config::Config;
use crate::model::{
    BlockKind, DecisionState, Edition, EditionItem, EditionRef, EditionStatus, StoryCard,
};
use crate::search::SearchIndex;
use crate::store::{
    DecisionSnapshot, InboxFilter, InboxRanks, InboxRow, NewBlock, Store, StoryDetail, ToCheckRow,
};

/// Rows loaded in one inbox view (the header tells when there are more).
pub(crate) const INBOX_LIMIT: u32 = 2000;

/// Rows a `Tab` loads: a few screens. The rest of the view comes a page at a time as the
/// selection nears the end of what is loaded (`MARGIN` rows before it), so that changing
/// dossier does not read 2,000 rows of which the screen shows 30.
const PAGE: usize = 200;
const MARGIN: usize = 60;

/// What an action changed, so that `u` can put it back.
#[derive(Debug, Clone)]
pub(crate) enum Undo {
    Decision {
        story: i64,
        snapshot: DecisionSnapshot,
        label: String,
    },
    EditionAdd {
        edition: EditionRef,
        story: i64,
    },
    /// `D` in the composer: the item as it was, put back at its place.
    EditionRemove {
        edition: EditionRef,
        item: EditionItem,
    },
}

/// The filter form's fields, in order.
pub(crate) const FILTER_FIELDS: [&str; 5] = [
    "Source",
    "Territoire",
    "Depuis (JJ/MM/AAAA)",
    "Jusqu'au (JJ/MM/AAAA)",
    "État (nouveau, gardé, rejeté, étoilé)",
];

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mode {
    Inbox,
    /// Typing a search; results replace the list as they come.
    Search {
        query: String,
    },
    /// Editing the title (field 0) or the lede (field 1) of the selected story.
    Edit {
        field: usize,
        title: String,
        lede: String,
    },
    Filters {
        field: usize,
        values: Vec<String>,
    },
    /// Choosing an edition, to add a story (the one the detail pane showed when `a` was
    /// pressed: its id and title) or, without one, to compose it.
    ChooseEdition {
        add: Option<(i64, String)>,
        options: Vec<(EditionRef, String)>,
        selected: usize,
    },
    ChooseSection {
        story: (i64, String),
        edition: EditionRef,
        options: Vec<String>,
        selected: usize,
    },
    Composer {
        edition: EditionRef,
        selected: usize,
    },
    /// `R` in the composer: marking the edition ready waits for a yes.
    ConfirmReady {
        edition: EditionRef,
        selected: usize,
    },
    Preview {
        text: String,
        scroll: u16,
    },
    Help,
}

/// Something the loop must do outside the application (it owns the terminal).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Nothing beyond redrawing.
    None,
    /// Restore the terminal and leave.
    Quit,
    /// Open this address in `$BROWSER`.
    OpenUrl(String),
    /// Edit this Markdown in `$EDITOR`, then call `App::save_block`.
    EditBlock {
        /// The edition whose introduction this is.
        edition: EditionRef,
        /// The block to rewrite; none when the edition has no introduction yet.
        block: Option<i64>,
        /// The text the editor opens with.
        body: String,
    },
}

/// The composer's view of an edition.
#[derive(Debug, Clone, Default)]
pub(crate) struct ComposerView {
    pub(crate) edition: Option<Edition>,
    /// Items in display order with their cards: (section, card).
    pub(crate) items: Vec<(String, StoryCard)>,
}

/// The triage session: the curator's inbox, what is selected and shown, the mode the keys
/// act in, and what `u` can put back.
pub struct App {
    pub(crate) store: Store,
    pub(crate) config: Config,
    pub(crate) archive: PathBuf,
    pub(crate) curator: String,
    /// `None` (all dossiers), then every configured dossier.
    pub(crate) views: Vec<Option<String>>,
    pub(crate) view: usize,
    pub(crate) filter: InboxFilter,
    /// The inbox rows of the current view and filter, one per story.
    pub rows: Vec<InboxRow>,
    pub(crate) selected: usize,
    pub(crate) detail: Option<StoryDetail>,
    pub(crate) counts: BTreeMap<String, i64>,
    /// Editions being prepared (drafts), as `kind/number`.
    pub(crate) drafts: Vec<String>,
    pub(crate) undo: Vec<Undo>,
    pub(crate) mode: Mode,
    pub(crate) message: String,
    pub(crate) composer: ComposerView,
    pub(crate) color: bool,
    /// The timezone the curators read times in.
    pub(crate) tz: Tz,
    /// A story just decided that no longer belongs to the list: it stays in place, marked,
    /// until the curator moves, so that the next key acts on the story they see.
    pub(crate) lingering: Option<i64>,
    search: Option<SearchIndex>,
    marks: (i64, i64),
    /// The dossier's "to check" band, shown after the rules' stories (`rows[band_from..]`).
    pub(crate) band: Vec<ToCheckRow>,
    pub(crate) band_from: usize,
    /// The story the selected one continues ("suite de"): id and title.
    pub(crate) follows: Option<(i64, String)>,
    /// Rows a `Tab` loads (`PAGE`; smaller in tests).
    pub(crate) page: usize,
    /// The rules' rows of the view go on beyond `rows[..band_from]` (its band is not loaded
    /// yet either).
    pub(crate) more: bool,
    /// The counts are not read yet: the first frame comes without them (`after_frame`).
    pub(crate) counts_pending: bool,
    /// The detail of the next story, read after the frame (`prefetch`).
    pub(crate) prefetched: Vec<prefetch::Prefetched>,
    /// The selected story and direction (`moved_up`) when that was read: once per selection.
    prefetched_around: Option<(i64, bool)>,
    /// The last move went up (`k`): the story read ahead is the one above.
    moved_up: bool,
    /// The centre's tag catch-up, while it runs beside the screen (`catch_up`).
    pub(crate) catch_up: Option<catch_up::CatchUp>,
    /// A `Tab` drew the new view's list without the selected story's detail: it is read
    /// right after the frame (`after_frame`), or before the next key, whichever comes first.
    pub(crate) detail_pending: bool,
}

/// The start of a day typed in the filter form, in the curators' timezone.
fn parse_day(text: &str, tz: Tz) -> Option<chrono::DateTime<Utc>> {
    let today = Utc::now().with_timezone(&tz).date_naive();
    let day = filters::parse_day(text, today)?;
    let midnight = day.and_hms_opt(0, 0, 0)?;
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

impl App {
    /// The application the unit tests drive: curator "camille", archive in `dir`, no colour
    /// (so snapshots compare text only).
    #[cfg(test)]
    pub(super) async fn for_tests(store: Store, config: Config, dir: &std::path::Path) -> App {
        let mut app = App::new(store, config, dir.to_path_buf(), "camille".into(), None)
            .await
            .unwrap();
        app.after_frame().await.unwrap();
        app.color = false;
        app
    }

    /// Opens the inbox of every dossier for `curator`; without a search index, `/` says
    /// so and the rest works.
    pub async fn new(
        store: Store,
        config: Config,
        archive: PathBuf,
        curator: String,
        search: Option<SearchIndex>,
    ) -> anyhow::Result<App> {
        let tz = config.tz();
        let mut views = vec![None];
        views.extend(config.dossiers.keys().cloned().map(Some));
        let mut app = App {
            store,
            config,
            archive,
            curator,
            views,
            view: 0,
            filter: InboxFilter {
                limit: INBOX_LIMIT,
                ..InboxFilter::default()
            },
            rows: Vec::new(),
            selected: 0,
            detail: None,
            counts: BTreeMap::new(),
            drafts: Vec::new(),
            undo: Vec::new(),
            mode: Mode::Inbox,
            message: String::new(),
            composer: ComposerView::default(),
            color: std::env::var_os("NO_COLOR").is_none(),
            tz,
            lingering: None,
            search,
            marks: (0, 0),
            band: Vec::new(),
            band_from: 0,
            follows: None,
            page: PAGE,
            more: false,
            counts_pending: false,
            prefetched: Vec::new(),
            prefetched_around: None,
            moved_up: false,
            catch_up: None,
            detail_pending: false,
        };
        // The first page only, as a `Tab` does: the rest comes as the curator moves down.
        // The counts read every undecided row of the inbox (a third of the start at 100,000
        // stories): they come right after the first frame (`after_frame`).
        app.marks = app.store.change_marks().await?;
        app.load_rows(PAGE).await?;
        app.counts_pending = true;
        app.load_drafts().await?;
        app.load_detail().await?;
        Ok(app)
    }

    /// What a frame goes without, done once it is drawn: the counts after the first one,
    /// the inbox again once the tag catch-up ended (then it returns true: the loop draws
    /// again at once), else the detail of the story the next move goes to (`prefetch`),
    /// which the screen does not show yet.
    pub async fn after_frame(&mut self) -> anyhow::Result<bool> {
        if self.detail_pending {
            self.load_detail().await?;
            return Ok(true);
        }
        if !self.counts_pending && self.catch_up_ended().await? {
            return Ok(true);
        }
        if !self.counts_pending {
            self.prefetch_next().await?;
            return Ok(false);
        }
        // Not pending any more even if the count fails: the loop must not retry forever.
        self.counts_pending = false;
        self.counts = self.store.inbox_counts().await?;
        Ok(true)
    }

    pub(crate) fn dossier(&self) -> Option<&str> {
        self.views[self.view].as_deref()
    }

    pub(crate) fn dossier_title(&self, id: &str) -> String {
        self.config
            .dossiers
            .get(id)
            .map_or_else(|| id.to_string(), |d| d.title.clone())
    }

    pub(crate) fn selected_row(&self) -> Option<&InboxRow> {
        self.rows.get(self.selected)
    }

    /// Reloads everything shown from the store: the list (keeping the selected story when it
    /// is still there), the counts, the drafts and the detail. The marks are read first, so
    /// that a write landing during the reload is seen again by the next `tick`.
    pub(crate) async fn reload(&mut self) -> anyhow::Result<()> {
        self.load_all(INBOX_LIMIT as usize).await
    }

    /// `reload` with the list's first `limit` rows.
    async fn load_all(&mut self, limit: usize) -> anyhow::Result<()> {
        self.marks = self.store.change_marks().await?;
        self.load_rows(limit).await?;
        self.counts = self.store.inbox_counts().await?;
        self.counts_pending = false;
        self.load_drafts().await?;
        self.load_detail().await
    }

    /// The editions being prepared, for the header.
    async fn load_drafts(&mut self) -> anyhow::Result<()> {
        self.drafts = self
            .store
            .editions()
            .await?
            .into_iter()
            .filter(|e| e.status == EditionStatus::Draft)
            .map(|e| e.address())
            .collect();
        Ok(())
    }

    /// `Tab`: another view and its first page, one range of the inbox before the frame; the
    /// detail of its first story comes right after the frame (`detail_pending`: its seven
    /// reads made the frame wait, and each read is a hand-off to the database thread that a
    /// busy machine can delay). The counts, the drafts and the marks are those of every view
    /// and stay: the curator's writes keep the counts exact (`own_write_done`), other
    /// processes' are picked up by `tick`.
    async fn switch_view(&mut self, view: usize) -> anyhow::Result<()> {
        self.view = view;
        self.selected = 0;
        self.lingering = None;
        self.load_rows(self.page).await?;
        (self.detail, self.follows) = (None, None);
        self.detail_pending = true;
        Ok(())
    }

    /// The first `limit` rows of the view and filter (keeping the selected story when it is
    /// still there), and the band once the rules' rows are all there.
    async fn load_rows(&mut self, limit: usize) -> anyhow::Result<()> {
        self.forget_prefetched();
        let keep = self.selected_row().map(|r| r.story);
        let lingering = self
            .lingering
            .and_then(|s| self.rows.iter().find(|r| r.story == s).cloned());
        self.filter.dossier = self.dossier().map(str::to_string);
        let limit = limit.clamp(1, INBOX_LIMIT as usize);
        let filter = InboxFilter {
            limit: limit as u32,
            after: None,
            ..self.filter.clone()
        };
        self.rows = self.store.inbox(&filter).await?;
        self.more = limit < INBOX_LIMIT as usize && self.rows.len() == limit;
        // The story just decided stays where it was until the curator moves; once it
        // belongs to the list again (undo), it is an ordinary row.
        if let Some(row) = lingering {
            if self.rows.iter().any(|r| r.story == row.story) {
                self.lingering = None;
            } else {
                let at = self.selected.min(self.rows.len());
                self.rows.insert(at, row);
            }
        }
        if self.more {
            self.band.clear();
            self.band_from = self.rows.len();
        } else {
            self.load_band().await?;
        }
        self.selected = keep
            .and_then(|s| self.rows.iter().position(|r| r.story == s))
            .unwrap_or(self.selected.min(self.rows.len().saturating_sub(1)));
        Ok(())
    }

    /// The next page of the rules' rows after those loaded (`all`: every one up to
    /// `INBOX_LIMIT`), read from where the last one sits in the inbox's order; then the band
    /// once they are all there.
    async fn load_more(&mut self, all: bool) -> anyhow::Result<()> {
        if !self.more {
            return Ok(());
        }
        let loaded = &self.rows[..self.band_from];
        // A lingering story is still at its place in the order (only a full reload, which
        // loads every row, moves it), so it serves as a cursor like the others.
        let cursor = loaded.last().map(|r| (r.score, r.date.clone(), r.story));
        let rules = loaded
            .iter()
            .filter(|r| Some(r.story) != self.lingering)
            .count();
        let room = (INBOX_LIMIT as usize).saturating_sub(rules);
        let want = if all { room } else { self.page.min(room) };
        let page = match cursor {
            Some(after) if want > 0 => {
                let filter = InboxFilter {
                    limit: want as u32,
                    after: Some(after),
                    ..self.filter.clone()
                };
                self.store.inbox(&filter).await?
            }
            _ => Vec::new(),
        };
        self.more = want > 0 && page.len() == want && rules + want < INBOX_LIMIT as usize;
        let known: std::collections::HashSet<i64> = self.rows.iter().map(|r| r.story).collect();
        self.rows
            .extend(page.into_iter().filter(|r| !known.contains(&r.story)));
        self.band_from = self.rows.len();
        if !self.more {
            self.load_band().await?;
        }
        Ok(())
    }

    async fn load_detail(&mut self) -> anyhow::Result<()> {
        self.detail_pending = false;
        if let Some(story) = self.selected_row().map(|r| r.story)
            && let Some((detail, follows)) = self.take_prefetched(story)
        {
            (self.detail, self.follows) = (detail, follows);
            return Ok(());
        }
        self.detail = match self.selected_row() {
            Some(r) => self.store.story_detail(r.story).await?,
            None => None,
        };
        self.follows = match self.selected_row() {
            Some(r) => self.store.story_follows(r.story).await?,
            None => None,
        };
        Ok(())
    }

    /// In a dossier's inbox, appends its "to check" band after the rules' stories.
    async fn load_band(&mut self) -> anyhow::Result<()> {
        self.band_from = self.rows.len();
        self.band.clear();
        let Some(dossier) = self.filter.dossier.clone() else {
            return Ok(());
        };
        if self.filter.state.is_some() {
            return Ok(());
        }
        for b in self.store.to_check(&dossier, INBOX_LIMIT).await? {
            if self.rows.iter().any(|r| r.story == b.story) {
                continue;
            }
            self.rows.push(InboxRow {
                story: b.story,
                title: b.title.clone(),
                sources: 1,
                date: b.date.clone(),
                dossiers: Vec::new(),
                territories: Vec::new(),
                score: b.probability,
                state: DecisionState::New,
            });
            self.band.push(b);
        }
        Ok(())
    }

    /// The "to check" entry of the selected story, when it is in the band.
    pub(crate) fn selected_band(&self) -> Option<&ToCheckRow> {
        self.selected
            .checked_sub(self.band_from)
            .and_then(|i| self.band.get(i))
    }

    /// Called about once a second: picks up what other processes wrote (new articles from
    /// the daemon, another curator's decisions).
    pub(crate) async fn tick(&mut self) -> anyhow::Result<()> {
        if matches!(self.mode, Mode::Inbox | Mode::Help)
            && self.store.change_marks().await? != self.marks
        {
            self.reload().await?;
        }
        Ok(())
    }

    /// After a write of the curator's own that added `logged` lines to the decision log,
    /// with `story`'s inbox rows as they were just before it: each count moves by what the
    /// story's rows changed, instead of counting every row again. When anyone else wrote too
    /// (the marks moved by more than this write), everything is counted again, and the marks
    /// stay behind so that the next `tick` reloads the list as well.
    pub(crate) async fn own_write_done(
        &mut self,
        story: Option<(i64, Vec<(String, i64)>)>,
        logged: usize,
    ) -> anyhow::Result<()> {
        let marks = self.store.change_marks().await?;
        let ranks = match story {
            Some((story, before)) if marks == (self.marks.0, self.marks.1 + logged as i64) => {
                Some((before, self.store.story_inbox_ranks(story).await?))
            }
            _ => None,
        };
        self.own_write_seen(marks, logged, ranks).await
    }

    /// `own_write_done` with the marks and the story's inbox ranks (before, after) already
    /// read, by the write itself (`Store::decide_for_triage`).
    async fn own_write_seen(
        &mut self,
        marks: (i64, i64),
        logged: usize,
        ranks: Option<(InboxRanks, InboxRanks)>,
    ) -> anyhow::Result<()> {
        self.forget_prefetched();
        if marks != (self.marks.0, self.marks.1 + logged as i64) {
            self.counts = self.store.inbox_counts().await?;
            self.counts_pending = false;
            return Ok(());
        }
        self.marks = marks;
        // Not counted yet: `after_frame` counts them as they are now, this write included.
        if let Some((before, after)) = ranks.filter(|_| !self.counts_pending) {
            for (rows, change) in [(before, -1), (after, 1)] {
                for (dossier, rank) in rows {
                    if rank == 0 {
                        *self.counts.entry(dossier).or_insert(0) += change;
                    }
                }
            }
        }
        Ok(())
    }

    /// Acts on one key in the current mode; what only the loop can do comes back as an
    /// `Effect`.
    pub async fn on_key(&mut self, key: KeyEvent) -> anyhow::Result<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Ok(Effect::Quit);
        }
        // A key right after a `Tab`, before the loop read the detail: the key acts on the
        // story shown, with its detail, as it would a moment later.
        if self.detail_pending {
            self.load_detail().await?;
        }
        match self.mode.clone() {
            Mode::Inbox => self.inbox_key(key).await,
            Mode::Help => {
                self.mode = Mode::Inbox;
                Ok(Effect::None)
            }
            Mode::Search { query } => self.search_key(key, query).await,
            Mode::Edit { field, title, lede } => self.edit_key(key, field, title, lede).await,
            Mode::Filters { field, values } => self.filters_key(key, field, values).await,
            Mode::ChooseEdition {
                add,
                options,
                selected,
            } => self.choose_edition_key(key, add, options, selected).await,
            Mode::ChooseSection {
                story,
                edition,
                options,
                selected,
            } => {
                self.choose_section_key(key, story, edition, options, selected)
                    .await
            }
            Mode::ConfirmReady { edition, selected } => {
                self.confirm_ready_key(key, edition, selected).await
            }
            Mode::Composer { edition, selected } => self.composer_key(key, edition, selected).await,
            Mode::Preview { text, scroll } => {
                match key.code {
                    KeyCode::Char('j') | KeyCode::Down => {
                        self.mode = Mode::Preview {
                            text,
                            scroll: scroll.saturating_add(1),
                        }
                    }
                    KeyCode::Char('k') | KeyCode::Up => {
                        self.mode = Mode::Preview {
                            text,
                            scroll: scroll.saturating_sub(1),
                        }
                    }
                    _ => self.leave_preview().await?,
                }
                Ok(Effect::None)
            }
        }
    }

    async fn move_to(&mut self, index: usize) -> anyhow::Result<()> {
        // Near the end of what is loaded, the next page first (`End`: the whole view).
        if self.more && index.saturating_add(MARGIN) >= self.band_from {
            self.load_more(index == usize::MAX).await?;
        }
        if self.rows.is_empty() {
            return Ok(());
        }
        let index = index.min(self.rows.len() - 1);
        if let Some(story) = self.lingering {
            let target = self.rows[index].story;
            if target == story {
                // Nowhere to go (the end of the list): the decided story stays shown.
                return Ok(());
            }
            self.lingering = None;
            // The band starts one row earlier when the story left the rules' rows.
            if let Some(at) = self.rows.iter().position(|r| r.story == story)
                && at < self.band_from
            {
                self.band_from -= 1;
            }
            self.rows.retain(|r| r.story != story);
            self.selected = self
                .rows
                .iter()
                .position(|r| r.story == target)
                .unwrap_or(0);
            return self.load_detail().await;
        }
        if index != self.selected || self.detail.is_none() {
            self.selected = index;
            self.load_detail().await?;
        }
        Ok(())
    }

    async fn inbox_key(&mut self, key: KeyEvent) -> anyhow::Result<Effect> {
        self.message.clear();
        match key.code {
            KeyCode::Char('q') => return Ok(Effect::Quit),
            KeyCode::Char('j') | KeyCode::Down => {
                self.moved_up = false;
                self.move_to(self.selected + 1).await?
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.moved_up = true;
                self.move_to(self.selected.saturating_sub(1)).await?
            }
            KeyCode::PageDown => self.move_to(self.selected + 10).await?,
            KeyCode::PageUp => self.move_to(self.selected.saturating_sub(10)).await?,
            KeyCode::Home => self.move_to(0).await?,
            KeyCode::End => self.move_to(usize::MAX).await?,
            KeyCode::Tab | KeyCode::Char('d') => {
                self.switch_view((self.view + 1) % self.views.len()).await?
            }
            KeyCode::BackTab | KeyCode::Char('D') => {
                self.switch_view((self.view + self.views.len() - 1) % self.views.len())
                    .await?
            }
            KeyCode::Char('g') => self.decide(DecisionState::Kept, false).await?,
            KeyCode::Char('r') => self.decide(DecisionState::Rejected, false).await?,
            KeyCode::Char('s') => self.decide(DecisionState::Starred, false).await?,
            KeyCode::Char('x') => self.decide(DecisionState::Rejected, true).await?,
            KeyCode::Char('u') => self.undo().await?,
            KeyCode::Char('e') => {
                if let Some(d) = &self.detail {
                    self.mode = Mode::Edit {
                        field: 0,
                        title: d.edited_title.clone().unwrap_or_else(|| d.title.clone()),
                        lede: d.edited_lede.clone().unwrap_or_else(|| d.lede.clone()),
                    };
                }
            }
            KeyCode::Char('o') => {
                if let Some(d) = &self.detail
                    && let Some((_, url, _, _)) = d.articles.first()
                {
                    self.message = format!("Ouverture de {url}");
                    return Ok(Effect::OpenUrl(url.clone()));
                }
            }
            KeyCode::Char('/') => {
                if self.search.is_none() {
                    self.message = "Recherche indisponible : lancez `veille reindex`".into();
                } else {
                    self.lingering = None;
                    self.mode = Mode::Search {
                        query: String::new(),
                    };
                }
            }
            KeyCode::Char('f') => {
                let f = &self.filter;
                let tz = self.tz;
                let day = |t: Option<chrono::DateTime<Utc>>, back: i64| {
                    t.map(|t| {
                        filters::show_day(
                            (t.with_timezone(&tz) - chrono::Duration::days(back)).date_naive(),
                        )
                    })
                    .unwrap_or_default()
                };
                let labels = |values: &[String], known: Vec<Known>| {
                    values
                        .iter()
                        .map(|v| {
                            known
                                .iter()
                                .find(|k| &k.value == v)
                                .map_or(v.clone(), |k| k.label.clone())
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let state = match f.state {
                    Some(DecisionState::Kept) => "gardé",
                    Some(DecisionState::Rejected) => "rejeté",
                    Some(DecisionState::Starred) => "étoilé",
                    _ => "",
                };
                self.mode = Mode::Filters {
                    field: 0,
                    values: vec![
                        labels(&f.sources, self.known_values(0)),
                        labels(&f.territories, self.known_values(1)),
                        day(f.since, 0),
                        // `until` is the start of the day after the last one shown.
                        day(f.until, 1),
                        state.to_string(),
                    ],
                };
            }
            KeyCode::Char('a') if self.detail.is_some() => self.choose_edition(true).await?,
            KeyCode::Char('c') => self.choose_edition(false).await?,
            KeyCode::Char('?') => self.mode = Mode::Help,
            _ => {}
        }
        Ok(Effect::None)
    }

    /// `g`, `r`, `s` in the current dossier (every dossier of the story in the « tous »
    /// view); `x` rejects in every dossier whatever the view.
    async fn decide(&mut self, state: DecisionState, everywhere: bool) -> anyhow::Result<()> {
        let Some(row) = self.selected_row().cloned() else {
            return Ok(());
        };
        let dossier = if everywhere {
            None
        } else {
            self.dossier().map(str::to_string)
        };
        // One write transaction decides, logs, refreshes the inbox rows and reads back what
        // the screen needs: the snapshot for undo, the ranks for the counts, the decisions.
        let decided = self
            .store
            .decide_for_triage(
                row.story,
                dossier.as_deref(),
                state,
                &self.curator,
                Utc::now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let label = match (state, everywhere) {
            (_, true) => "rejetée partout",
            (DecisionState::Kept, _) => "gardée",
            (DecisionState::Rejected, _) => "rejetée",
            (DecisionState::Starred, _) => "étoilée",
            (DecisionState::New, _) => "remise à trier",
        };
        self.message = format!(
            "Histoire {} {label} · elle reste affichée, j/k pour passer à une autre",
            row.story
        );
        self.undo.push(Undo::Decision {
            story: row.story,
            snapshot: decided.snapshot,
            label: label.into(),
        });
        // The counts follow the story's inbox rows exactly: a story already decided in
        // another dossier was not counted under « tous », a band story has no row in the
        // dossier, a second decision on the same story changes nothing.
        let ranks = Some((decided.before, decided.after));
        self.own_write_seen(decided.marks, decided.logged, ranks)
            .await?;
        // The story keeps its place and the selection, marked with its new state: the next
        // key (`a`, `e`, another decision) acts on it, not on the story that followed it. It
        // leaves the list when the curator moves (`move_to`).
        if let Some(r) = self.rows.get_mut(self.selected) {
            r.state = state;
        }
        if self.filter.state != Some(state) {
            self.lingering = Some(row.story);
        }
        // Of the detail pane, only the decisions changed: they came back with the write.
        match &mut self.detail {
            Some(d) if d.story == row.story => {
                d.decisions = decided.decisions;
                (d.edited_title, d.edited_lede) = decided.edited;
                Ok(())
            }
            _ => self.load_detail().await,
        }
    }

    async fn undo(&mut self) -> anyhow::Result<()> {
        let Some(entry) = self.undo.pop() else {
            self.message = "Rien à annuler".into();
            return Ok(());
        };
        match entry {
            Undo::Decision {
                story,
                snapshot,
                label,
            } => {
                self.store
                    .restore_decisions(story, &snapshot, &self.curator, Utc::now())
                    .await?;
                self.message = format!("Annulé : histoire {story} {label}");
                self.reload().await?;
                if let Some(i) = self.rows.iter().position(|r| r.story == story) {
                    self.selected = i;
                    self.load_detail().await?;
                }
            }
            Undo::EditionAdd { edition, story } => {
                match self
                    .store
                    .remove_edition_item(&edition.kind, edition.number, story, Utc::now())
                    .await
                {
                    Ok(()) => {
                        self.message = format!("Annulé : histoire {story} retirée de {edition}")
                    }
                    Err(e) => self.message = format!("Annulation impossible : {e}"),
                }
                self.own_write_done(None, 0).await?;
            }
            Undo::EditionRemove { edition, item } => {
                match self
                    .store
                    .restore_edition_item(&edition.kind, edition.number, &item, Utc::now())
                    .await
                {
                    Ok(()) => {
                        self.message =
                            format!("Annulé : histoire {} remise dans {edition}", item.story)
                    }
                    Err(e) => self.message = format!("Annulation impossible : {e}"),
                }
                self.own_write_done(None, 0).await?;
            }
        }
        Ok(())
    }
}
