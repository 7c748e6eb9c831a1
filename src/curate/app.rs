//! The state of the triage TUI and what each key does. No terminal here: `ui` draws this
//! state, `mod.rs` runs the loop, tests drive it directly.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::filters::{self, Known};
use crate::config::Config;
use crate::model::{BlockKind, DecisionState, Edition, EditionItem, EditionStatus, StoryCard};
use crate::search::SearchIndex;
use crate::store::{
    DecisionSnapshot, InboxFilter, InboxRow, NewBlock, Store, StoryDetail, ToCheckRow,
};

/// Rows loaded in one inbox view (the header tells when there are more).
pub const INBOX_LIMIT: u32 = 2000;

/// What an action changed, so that `u` can put it back.
#[derive(Debug, Clone)]
pub enum Undo {
    Decision {
        story: i64,
        snapshot: DecisionSnapshot,
        label: String,
    },
    EditionAdd {
        kind: String,
        number: i64,
        story: i64,
    },
    /// `D` in the composer: the item as it was, put back at its place.
    EditionRemove {
        kind: String,
        number: i64,
        item: EditionItem,
    },
}

/// The filter form's fields, in order.
pub const FILTER_FIELDS: [&str; 5] = [
    "Source",
    "Territoire",
    "Depuis (JJ/MM/AAAA)",
    "Jusqu'au (JJ/MM/AAAA)",
    "État (nouveau, gardé, rejeté, étoilé)",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
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
        options: Vec<(String, i64, String)>,
        selected: usize,
    },
    ChooseSection {
        story: (i64, String),
        kind: String,
        number: i64,
        options: Vec<String>,
        selected: usize,
    },
    Composer {
        kind: String,
        number: i64,
        selected: usize,
    },
    /// `R` in the composer: marking the edition ready waits for a yes.
    ConfirmReady {
        kind: String,
        number: i64,
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
    None,
    Quit,
    OpenUrl(String),
    /// Edit this Markdown in `$EDITOR`, then call `App::save_block`.
    EditBlock {
        kind: String,
        number: i64,
        block: Option<i64>,
        body: String,
    },
}

/// The composer's view of an edition.
#[derive(Debug, Clone, Default)]
pub struct ComposerView {
    pub edition: Option<Edition>,
    /// Items in display order with their cards: (section, card).
    pub items: Vec<(String, StoryCard)>,
}

pub struct App {
    pub store: Store,
    pub config: Config,
    pub archive: PathBuf,
    pub curator: String,
    /// `None` (all dossiers), then every configured dossier.
    pub views: Vec<Option<String>>,
    pub view: usize,
    pub filter: InboxFilter,
    pub rows: Vec<InboxRow>,
    pub selected: usize,
    pub detail: Option<StoryDetail>,
    pub counts: BTreeMap<String, i64>,
    /// Editions being prepared (drafts), as `kind/number`.
    pub drafts: Vec<String>,
    pub undo: Vec<Undo>,
    pub mode: Mode,
    pub message: String,
    pub composer: ComposerView,
    pub color: bool,
    /// The timezone the curators read times in.
    pub tz: Tz,
    /// A story just decided that no longer belongs to the list: it stays in place, marked,
    /// until the curator moves, so that the next key acts on the story they see.
    pub lingering: Option<i64>,
    search: Option<SearchIndex>,
    marks: (i64, i64),
    /// The dossier's "to check" band, shown after the rules' stories (`rows[band_from..]`).
    pub band: Vec<ToCheckRow>,
    pub band_from: usize,
    /// The story the selected one continues ("suite de"): id and title.
    pub follows: Option<(i64, String)>,
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
        };
        app.reload().await?;
        Ok(app)
    }

    pub fn dossier(&self) -> Option<&str> {
        self.views[self.view].as_deref()
    }

    pub fn dossier_title(&self, id: &str) -> String {
        self.config
            .dossiers
            .get(id)
            .map_or_else(|| id.to_string(), |d| d.title.clone())
    }

    pub fn selected_row(&self) -> Option<&InboxRow> {
        self.rows.get(self.selected)
    }

    /// Reloads the list (keeping the selected story when it is still there), the counts and
    /// the detail.
    pub async fn reload(&mut self) -> anyhow::Result<()> {
        let keep = self.selected_row().map(|r| r.story);
        let lingering = self
            .lingering
            .and_then(|s| self.rows.iter().find(|r| r.story == s).cloned());
        self.filter.dossier = self.dossier().map(str::to_string);
        self.rows = self.store.inbox(&self.filter).await?;
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
        self.load_band().await?;
        self.selected = keep
            .and_then(|s| self.rows.iter().position(|r| r.story == s))
            .unwrap_or(self.selected.min(self.rows.len().saturating_sub(1)));
        self.counts = self.store.inbox_counts().await?;
        self.drafts = self
            .store
            .editions()
            .await?
            .into_iter()
            .filter(|e| e.status == EditionStatus::Draft)
            .map(|e| e.address())
            .collect();
        self.marks = self.store.change_marks().await?;
        self.load_detail().await
    }

    async fn load_detail(&mut self) -> anyhow::Result<()> {
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
    pub fn selected_band(&self) -> Option<&ToCheckRow> {
        self.selected
            .checked_sub(self.band_from)
            .and_then(|i| self.band.get(i))
    }

    /// Called about once a second: picks up what other processes wrote (new articles from
    /// the daemon, another curator's decisions).
    pub async fn tick(&mut self) -> anyhow::Result<()> {
        if matches!(self.mode, Mode::Inbox | Mode::Help)
            && self.store.change_marks().await? != self.marks
        {
            self.reload().await?;
        }
        Ok(())
    }

    async fn after_own_write(&mut self) -> anyhow::Result<()> {
        self.marks = self.store.change_marks().await?;
        self.counts = self.store.inbox_counts().await?;
        Ok(())
    }

    /// One key.
    pub async fn on_key(&mut self, key: KeyEvent) -> anyhow::Result<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Ok(Effect::Quit);
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
                kind,
                number,
                options,
                selected,
            } => {
                self.choose_section_key(key, story, kind, number, options, selected)
                    .await
            }
            Mode::ConfirmReady {
                kind,
                number,
                selected,
            } => self.confirm_ready_key(key, kind, number, selected).await,
            Mode::Composer {
                kind,
                number,
                selected,
            } => self.composer_key(key, kind, number, selected).await,
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
            KeyCode::Char('j') | KeyCode::Down => self.move_to(self.selected + 1).await?,
            KeyCode::Char('k') | KeyCode::Up => {
                self.move_to(self.selected.saturating_sub(1)).await?
            }
            KeyCode::PageDown => self.move_to(self.selected + 10).await?,
            KeyCode::PageUp => self.move_to(self.selected.saturating_sub(10)).await?,
            KeyCode::Home => self.move_to(0).await?,
            KeyCode::End => self.move_to(usize::MAX).await?,
            KeyCode::Tab | KeyCode::Char('d') => {
                self.view = (self.view + 1) % self.views.len();
                self.selected = 0;
                self.lingering = None;
                self.reload().await?;
            }
            KeyCode::BackTab | KeyCode::Char('D') => {
                self.view = (self.view + self.views.len() - 1) % self.views.len();
                self.selected = 0;
                self.lingering = None;
                self.reload().await?;
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
        let dossiers = match &dossier {
            Some(d) => vec![d.clone()],
            None => self.store.story_dossiers(row.story).await?,
        };
        let snapshot = self.store.decision_snapshot(row.story, &dossiers).await?;
        self.store
            .decide(
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
            snapshot,
            label: label.into(),
        });
        // The story leaves a view of undecided (or other-state) stories, and the counts of
        // undecided stories lose it (recounted exactly at the next reload).
        if self.filter.state.is_none() {
            let all = String::new();
            let touched = dossiers
                .iter()
                .chain((!dossiers.contains(&all)).then_some(&all));
            for d in touched {
                if let Some(n) = self.counts.get_mut(d) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        // The story keeps its place and the selection, marked with its new state: the next
        // key (`a`, `e`, another decision) acts on it, not on the story that followed it. It
        // leaves the list when the curator moves (`move_to`).
        if let Some(r) = self.rows.get_mut(self.selected) {
            r.state = state;
        }
        if self.filter.state != Some(state) {
            self.lingering = Some(row.story);
        }
        self.marks = self.store.change_marks().await?;
        self.load_detail().await
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
            Undo::EditionAdd {
                kind,
                number,
                story,
            } => {
                match self
                    .store
                    .remove_edition_item(&kind, number, story, Utc::now())
                    .await
                {
                    Ok(()) => {
                        self.message =
                            format!("Annulé : histoire {story} retirée de {kind}/{number}")
                    }
                    Err(e) => self.message = format!("Annulation impossible : {e}"),
                }
                self.after_own_write().await?;
            }
            Undo::EditionRemove { kind, number, item } => {
                match self
                    .store
                    .restore_edition_item(&kind, number, &item, Utc::now())
                    .await
                {
                    Ok(()) => {
                        self.message = format!(
                            "Annulé : histoire {} remise dans {kind}/{number}",
                            item.story
                        )
                    }
                    Err(e) => self.message = format!("Annulation impossible : {e}"),
                }
                self.after_own_write().await?;
            }
        }
        Ok(())
    }

    async fn search_key(&mut self, key: KeyEvent, mut query: String) -> anyhow::Result<Effect> {
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Inbox;
                self.reload().await?;
                return Ok(Effect::None);
            }
            KeyCode::Enter => {
                self.mode = Mode::Inbox;
                self.message = format!(
                    "{} pour « {query} » ; Échap… `f` puis Entrée pour revenir",
                    crate::publish::french::count(self.rows.len(), "résultat", "résultats")
                );
                return Ok(Effect::None);
            }
            KeyCode::Backspace => {
                query.pop();
            }
            KeyCode::Char(c) => query.push(c),
            _ => {}
        }
        self.run_search(&query).await?;
        self.mode = Mode::Search { query };
        Ok(Effect::None)
    }

    async fn run_search(&mut self, query: &str) -> anyhow::Result<()> {
        let Some(index) = &self.search else {
            return Ok(());
        };
        if query.trim().is_empty() {
            self.rows.clear();
            self.detail = None;
            return Ok(());
        }
        let hits = match index.search(query, self.dossier(), 200) {
            Ok(h) => h,
            // A query being typed is often incomplete (an open quote): keep the last results.
            Err(_) => return Ok(()),
        };
        let mut rows: Vec<InboxRow> = Vec::new();
        for hit in hits {
            if rows.iter().any(|r| r.story == hit.story) {
                continue;
            }
            rows.push(InboxRow {
                story: hit.story,
                title: hit.title,
                sources: 1,
                date: hit
                    .published
                    .map(crate::store::timestamp)
                    .unwrap_or_default(),
                dossiers: Vec::new(),
                territories: Vec::new(),
                score: f64::from(hit.score),
                state: DecisionState::New,
            });
        }
        self.rows = rows;
        self.selected = 0;
        self.load_detail().await
    }

    async fn edit_key(
        &mut self,
        key: KeyEvent,
        field: usize,
        mut title: String,
        mut lede: String,
    ) -> anyhow::Result<Effect> {
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Inbox;
                self.message = "Modification abandonnée".into();
                return Ok(Effect::None);
            }
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                self.mode = Mode::Edit {
                    field: 1 - field,
                    title,
                    lede,
                };
                return Ok(Effect::None);
            }
            KeyCode::Enter => {
                if let Some(d) = self.detail.clone() {
                    let dossiers = match self.dossier() {
                        Some(x) => vec![x.to_string()],
                        None => self.store.story_dossiers(d.story).await?,
                    };
                    let snapshot = self.store.decision_snapshot(d.story, &dossiers).await?;
                    let title = crate::ingest::sanitize::one_line(&title);
                    let lede = lede.trim().to_string();
                    let keep_title = (title != d.title).then_some(title.as_str());
                    let keep_lede = (lede != d.lede).then_some(lede.as_str());
                    self.store
                        .edit_story(
                            d.story,
                            &dossiers,
                            keep_title,
                            keep_lede,
                            &self.curator,
                            Utc::now(),
                        )
                        .await?;
                    self.undo.push(Undo::Decision {
                        story: d.story,
                        snapshot,
                        label: "modifiée".into(),
                    });
                    self.message = format!("Histoire {} modifiée (l'original est gardé)", d.story);
                    // The list shows the new title at once, as the next reload would.
                    if let Some(row) = self.rows.iter_mut().find(|r| r.story == d.story) {
                        row.title = keep_title.unwrap_or(&d.title).to_string();
                    }
                    self.after_own_write().await?;
                    self.load_detail().await?;
                }
                self.mode = Mode::Inbox;
                return Ok(Effect::None);
            }
            KeyCode::Backspace => {
                if field == 0 {
                    title.pop();
                } else {
                    lede.pop();
                }
            }
            KeyCode::Char(c) => {
                if field == 0 {
                    title.push(c);
                } else {
                    lede.push(c);
                }
            }
            _ => {}
        }
        self.mode = Mode::Edit { field, title, lede };
        Ok(Effect::None)
    }

    async fn filters_key(
        &mut self,
        key: KeyEvent,
        field: usize,
        mut values: Vec<String>,
    ) -> anyhow::Result<Effect> {
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Inbox;
                return Ok(Effect::None);
            }
            KeyCode::Tab | KeyCode::Down => {
                self.mode = Mode::Filters {
                    field: (field + 1) % FILTER_FIELDS.len(),
                    values,
                };
                return Ok(Effect::None);
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.mode = Mode::Filters {
                    field: (field + FILTER_FIELDS.len() - 1) % FILTER_FIELDS.len(),
                    values,
                };
                return Ok(Effect::None);
            }
            // Dates have nothing to complete to.
            KeyCode::Right if !self.known_values(field).is_empty() => {
                let known = self.known_values(field);
                match filters::complete(&values[field], &known) {
                    Some(done) => values[field] = done,
                    None => {
                        let found = filters::resolve(&values[field], &known);
                        self.message = if found.is_empty() {
                            format!("Rien ne commence par « {} »", values[field].trim())
                        } else {
                            "Plusieurs valeurs possibles : tapez la suite".into()
                        };
                    }
                }
            }
            KeyCode::Enter => {
                let state = match filters::parse_state(&values[4]) {
                    Ok(state) => state,
                    Err(message) => {
                        self.message = message;
                        self.mode = Mode::Filters { field: 4, values };
                        return Ok(Effect::None);
                    }
                };
                for (i, v) in [(2, &values[2]), (3, &values[3])] {
                    if !v.trim().is_empty() && parse_day(v, self.tz).is_none() {
                        self.message =
                            format!("date illisible « {} » : JJ/MM/AAAA ou JJ/MM", v.trim());
                        self.mode = Mode::Filters {
                            field: i,
                            values: values.clone(),
                        };
                        return Ok(Effect::None);
                    }
                }
                let mut chosen: Vec<Vec<String>> = Vec::new();
                for (i, none) in [(0, "Aucune source"), (1, "Aucun territoire")] {
                    let known = self.known_values(i);
                    let found: Vec<String> = filters::resolve(&values[i], &known)
                        .into_iter()
                        .map(|k| k.value.clone())
                        .collect();
                    if found.is_empty() && !values[i].trim().is_empty() {
                        self.message = format!(
                            "{none} ne correspond à « {} » (→ complète, champ vide : tous)",
                            values[i].trim()
                        );
                        self.mode = Mode::Filters { field: i, values };
                        return Ok(Effect::None);
                    }
                    chosen.push(found);
                }
                self.filter.territories = chosen.pop().unwrap_or_default();
                self.filter.sources = chosen.pop().unwrap_or_default();
                self.filter.since = parse_day(&values[2], self.tz);
                self.filter.until =
                    parse_day(&values[3], self.tz).map(|t| t + chrono::Duration::days(1));
                self.filter.state = state;
                self.mode = Mode::Inbox;
                self.selected = 0;
                self.lingering = None;
                self.reload().await?;
                let mut named: Vec<String> = Vec::new();
                for (i, values) in [(0, &self.filter.sources), (1, &self.filter.territories)] {
                    let known = self.known_values(i);
                    named.extend(values.iter().map(|v| {
                        known
                            .iter()
                            .find(|k| &k.value == v)
                            .map_or(v.clone(), |k| k.label.clone())
                    }));
                }
                self.message = format!(
                    "{} avec ces filtres{}",
                    crate::publish::french::count(self.rows.len(), "histoire", "histoires"),
                    if named.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", named.join(", "))
                    }
                );
                return Ok(Effect::None);
            }
            KeyCode::Backspace => {
                values[field].pop();
            }
            KeyCode::Char(c) => values[field].push(c),
            _ => {}
        }
        self.mode = Mode::Filters { field, values };
        Ok(Effect::None)
    }

    /// The values a filter field completes to and matches: the configured sources, the
    /// départements (by name, slug or number), the states.
    pub fn known_values(&self, field: usize) -> Vec<Known> {
        match field {
            0 => self
                .config
                .sources
                .iter()
                .map(|s| Known::plain(&s.name))
                .collect(),
            1 => crate::tag::territories::DEPARTEMENTS
                .iter()
                .map(|(code, slug, name)| Known {
                    value: slug.to_string(),
                    label: name.to_string(),
                    aliases: vec![slug.to_string(), code.to_string()],
                })
                .collect(),
            4 => filters::state_values(),
            _ => Vec::new(),
        }
    }

    async fn choose_edition(&mut self, add: bool) -> anyhow::Result<()> {
        // `a` adds the story of the detail pane, captured now: nothing that happens while
        // the curator chooses can change which story it is.
        let add = if add {
            let Some(d) = &self.detail else {
                return Ok(());
            };
            let title = d.edited_title.clone().unwrap_or_else(|| d.title.clone());
            Some((d.story, title))
        } else {
            None
        };
        let options: Vec<(String, i64, String)> = self
            .store
            .editions()
            .await?
            .into_iter()
            .filter(|e| e.status != EditionStatus::Sent)
            .map(|e| {
                let title = self
                    .config
                    .publications
                    .get(&e.kind)
                    .map_or(e.kind.clone(), |p| p.title.clone());
                let label = format!("{title} n° {} ({})", e.number, e.status.label());
                (e.kind, e.number, label)
            })
            .collect();
        if options.is_empty() {
            self.message =
                "Aucune édition en préparation : créez-en une avec `veille edition new GENRE`"
                    .into();
            return Ok(());
        }
        self.mode = Mode::ChooseEdition {
            add,
            options,
            selected: 0,
        };
        Ok(())
    }

    async fn choose_edition_key(
        &mut self,
        key: KeyEvent,
        add: Option<(i64, String)>,
        options: Vec<(String, i64, String)>,
        selected: usize,
    ) -> anyhow::Result<Effect> {
        match key.code {
            KeyCode::Esc => self.mode = Mode::Inbox,
            KeyCode::Char('j') | KeyCode::Down => {
                self.mode = Mode::ChooseEdition {
                    add,
                    selected: (selected + 1).min(options.len() - 1),
                    options,
                }
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.mode = Mode::ChooseEdition {
                    add,
                    selected: selected.saturating_sub(1),
                    options,
                }
            }
            KeyCode::Enter => {
                let (kind, number, _) = options[selected].clone();
                if let Some(story) = add {
                    let sections = self
                        .config
                        .publications
                        .get(&kind)
                        .map(|p| p.sections.clone())
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| vec!["À la une".into()]);
                    self.mode = Mode::ChooseSection {
                        story,
                        kind,
                        number,
                        options: sections,
                        selected: 0,
                    };
                } else {
                    self.open_composer(&kind, number, 0).await?;
                }
            }
            _ => {}
        }
        Ok(Effect::None)
    }

    async fn choose_section_key(
        &mut self,
        key: KeyEvent,
        story: (i64, String),
        kind: String,
        number: i64,
        options: Vec<String>,
        selected: usize,
    ) -> anyhow::Result<Effect> {
        match key.code {
            KeyCode::Esc => self.mode = Mode::Inbox,
            KeyCode::Char('j') | KeyCode::Down => {
                self.mode = Mode::ChooseSection {
                    story,
                    kind,
                    number,
                    selected: (selected + 1).min(options.len() - 1),
                    options,
                }
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.mode = Mode::ChooseSection {
                    story,
                    kind,
                    number,
                    selected: selected.saturating_sub(1),
                    options,
                }
            }
            KeyCode::Enter => {
                self.mode = Mode::Inbox;
                let (story, _) = story;
                let item = EditionItem {
                    story,
                    section: options[selected].clone(),
                    position: 0,
                    title: None,
                    lede: None,
                };
                match self
                    .store
                    .add_edition_item(&kind, number, &item, Utc::now())
                    .await
                {
                    Ok(()) => {
                        self.message = format!(
                            "Histoire {story} ajoutée à {kind}/{number}, rubrique « {} »",
                            options[selected]
                        );
                        self.undo.push(Undo::EditionAdd {
                            kind,
                            number,
                            story,
                        });
                        self.after_own_write().await?;
                    }
                    Err(e) => self.message = e.to_string(),
                }
            }
            _ => {}
        }
        Ok(Effect::None)
    }

    pub async fn open_composer(
        &mut self,
        kind: &str,
        number: i64,
        selected: usize,
    ) -> anyhow::Result<()> {
        let edition = self.store.edition(kind, number).await?;
        let mut items = Vec::new();
        if let Some(e) = &edition {
            let stories: Vec<i64> = e.items.iter().map(|i| i.story).collect();
            let cards = self.store.story_cards(&stories, None).await?;
            let mut order: Vec<String> = self
                .config
                .publications
                .get(kind)
                .map(|p| p.sections.clone())
                .unwrap_or_default();
            for i in &e.items {
                if !order.contains(&i.section) {
                    order.push(i.section.clone());
                }
            }
            for section in order {
                for i in e.items.iter().filter(|i| i.section == section) {
                    if let Some(card) = cards.iter().find(|c| c.story == i.story) {
                        let mut card = card.clone();
                        if let Some(t) = &i.title {
                            card.title = t.clone();
                        }
                        items.push((section.clone(), card));
                    }
                }
            }
        }
        let selected = selected.min(items.len().saturating_sub(1));
        self.composer = ComposerView { edition, items };
        self.mode = Mode::Composer {
            kind: kind.to_string(),
            number,
            selected,
        };
        Ok(())
    }

    async fn composer_key(
        &mut self,
        key: KeyEvent,
        kind: String,
        number: i64,
        selected: usize,
    ) -> anyhow::Result<Effect> {
        let now = Utc::now();
        let story = self.composer.items.get(selected).map(|(_, c)| c.story);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                self.mode = Mode::Inbox;
                self.reload().await?;
            }
            KeyCode::Char('j') | KeyCode::Down => {
                self.open_composer(&kind, number, selected + 1).await?
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.open_composer(&kind, number, selected.saturating_sub(1))
                    .await?
            }
            KeyCode::Char('J') | KeyCode::Char('K') => {
                if let Some(story) = story {
                    let up = key.code == KeyCode::Char('K');
                    match self
                        .store
                        .move_edition_item(&kind, number, story, up, now)
                        .await
                    {
                        Ok(()) => {
                            self.open_composer(&kind, number, selected).await?;
                            if let Some(i) = self
                                .composer
                                .items
                                .iter()
                                .position(|(_, c)| c.story == story)
                            {
                                self.mode = Mode::Composer {
                                    kind,
                                    number,
                                    selected: i,
                                };
                            }
                        }
                        Err(e) => self.message = e.to_string(),
                    }
                }
            }
            KeyCode::Char('D') => {
                let item = self
                    .composer
                    .edition
                    .as_ref()
                    .and_then(|e| e.items.iter().find(|i| Some(i.story) == story).cloned());
                if let Some(item) = item {
                    let story = item.story;
                    match self
                        .store
                        .remove_edition_item(&kind, number, story, now)
                        .await
                    {
                        Ok(()) => {
                            self.message = format!(
                                "Histoire {story} retirée de {kind}/{number} (u pour annuler)"
                            );
                            self.undo.push(Undo::EditionRemove {
                                kind: kind.clone(),
                                number,
                                item,
                            });
                            self.open_composer(&kind, number, selected).await?;
                        }
                        Err(e) => self.message = e.to_string(),
                    }
                }
            }
            KeyCode::Char('E') => {
                let intro = self.composer.edition.as_ref().and_then(|e| {
                    e.blocks
                        .iter()
                        .find(|b| b.kind == BlockKind::Intro)
                        .cloned()
                });
                return Ok(Effect::EditBlock {
                    kind,
                    number,
                    block: intro.as_ref().map(|b| b.id),
                    body: intro.map(|b| b.body).unwrap_or_default(),
                });
            }
            KeyCode::Char('p') => {
                if let Some(edition) = self.composer.edition.clone() {
                    let publisher = crate::publish::Publisher::new(&self.config, &self.archive)?;
                    let text = publisher.edition_text(&self.store, &edition).await?;
                    self.mode = Mode::Preview { text, scroll: 0 };
                }
            }
            KeyCode::Char('u') => {
                // Only this edition's changes are undone here; decisions wait for the list.
                let ours = |k: &String, n: &i64| *k == kind && *n == number;
                match self.undo.last() {
                    Some(Undo::EditionRemove {
                        kind: k, number: n, ..
                    })
                    | Some(Undo::EditionAdd {
                        kind: k, number: n, ..
                    }) if ours(k, n) => {
                        self.undo().await?;
                        self.open_composer(&kind, number, selected).await?;
                    }
                    _ => self.message = "Rien à annuler dans cette édition".into(),
                }
            }
            KeyCode::Char('R') => {
                self.message.clear();
                self.mode = Mode::ConfirmReady {
                    kind,
                    number,
                    selected,
                };
            }
            _ => {}
        }
        Ok(Effect::None)
    }

    /// `o` marks the edition ready (it can then be sent); any other key leaves it as it was.
    async fn confirm_ready_key(
        &mut self,
        key: KeyEvent,
        kind: String,
        number: i64,
        selected: usize,
    ) -> anyhow::Result<Effect> {
        if matches!(key.code, KeyCode::Char('o' | 'O' | 'y' | 'Y')) {
            match self
                .store
                .set_edition_status(&kind, number, EditionStatus::Ready, Utc::now())
                .await
            {
                Ok(()) => self.message = format!("Édition {kind}/{number} prête à l'envoi"),
                Err(e) => self.message = e.to_string(),
            }
        } else {
            self.message = format!("Édition {kind}/{number} laissée en brouillon");
        }
        self.open_composer(&kind, number, selected).await?;
        Ok(Effect::None)
    }

    async fn leave_preview(&mut self) -> anyhow::Result<()> {
        match self.composer.edition.clone() {
            Some(e) => self.open_composer(&e.kind, e.number, 0).await,
            None => {
                self.mode = Mode::Inbox;
                Ok(())
            }
        }
    }

    /// After `$EDITOR`: stores the intro block.
    pub async fn save_block(
        &mut self,
        kind: &str,
        number: i64,
        block: Option<i64>,
        body: &str,
    ) -> anyhow::Result<()> {
        let now = Utc::now();
        let result = match block {
            Some(id) => {
                self.store
                    .set_edition_block_body(kind, number, id, body, now)
                    .await
            }
            None => self
                .store
                .add_edition_block(
                    kind,
                    number,
                    &NewBlock {
                        kind: BlockKind::Intro,
                        title: None,
                        body: body.to_string(),
                        event_date: None,
                        place: None,
                    },
                    now,
                )
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => self.message = "Introduction enregistrée".into(),
            Err(e) => self.message = e.to_string(),
        }
        self.open_composer(kind, number, 0).await
    }
}
