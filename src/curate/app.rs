//! The state of the triage TUI and what each key does. No terminal here: `ui` draws this
//! state, `mod.rs` runs the loop, tests drive it directly.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{NaiveDate, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
}

/// The filter form's fields, in order.
pub const FILTER_FIELDS: [&str; 5] = [
    "Source",
    "Territoire",
    "Depuis (AAAA-MM-JJ)",
    "Jusqu'au (AAAA-MM-JJ)",
    "État (new, kept, rejected, starred)",
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
    /// Choosing an edition, to add the selected story (`add`) or to compose it.
    ChooseEdition {
        add: bool,
        options: Vec<(String, i64, String)>,
        selected: usize,
    },
    ChooseSection {
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
    search: Option<SearchIndex>,
    marks: (i64, i64),
    /// The dossier's "to check" band, shown after the rules' stories (`rows[band_from..]`).
    pub band: Vec<ToCheckRow>,
    pub band_from: usize,
    /// The story the selected one continues ("suite de"): id and title.
    pub follows: Option<(i64, String)>,
}

fn parse_day(text: &str) -> Option<chrono::DateTime<Utc>> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

impl App {
    pub async fn new(
        store: Store,
        config: Config,
        archive: PathBuf,
        curator: String,
        search: Option<SearchIndex>,
    ) -> anyhow::Result<App> {
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
        self.filter.dossier = self.dossier().map(str::to_string);
        self.rows = self.store.inbox(&self.filter).await?;
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
                kind,
                number,
                options,
                selected,
            } => {
                self.choose_section_key(key, kind, number, options, selected)
                    .await
            }
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
                self.reload().await?;
            }
            KeyCode::BackTab | KeyCode::Char('D') => {
                self.view = (self.view + self.views.len() - 1) % self.views.len();
                self.selected = 0;
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
                    self.mode = Mode::Search {
                        query: String::new(),
                    };
                }
            }
            KeyCode::Char('f') => {
                let f = &self.filter;
                let day = |t: Option<chrono::DateTime<Utc>>| {
                    t.map(|t| t.date_naive().to_string()).unwrap_or_default()
                };
                self.mode = Mode::Filters {
                    field: 0,
                    values: vec![
                        f.source.clone().unwrap_or_default(),
                        f.territory.clone().unwrap_or_default(),
                        day(f.since),
                        day(f.until),
                        f.state.map(|s| s.as_str().to_string()).unwrap_or_default(),
                    ],
                };
            }
            KeyCode::Char('a') if self.selected_row().is_some() => {
                self.choose_edition(true).await?
            }
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
        self.message = format!("Histoire {} {label}", row.story);
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
        if self.filter.state != Some(state) {
            self.rows.remove(self.selected);
            self.selected = self.selected.min(self.rows.len().saturating_sub(1));
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
                    "{} résultat(s) pour « {query} » ; Échap… `f` puis Entrée pour revenir",
                    self.rows.len()
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
            KeyCode::Enter => {
                let opt = |v: &String| (!v.trim().is_empty()).then(|| v.trim().to_string());
                let state = match values[4].trim() {
                    "" => None,
                    s => match DecisionState::parse(s) {
                        Some(DecisionState::New) => None,
                        Some(s) => Some(s),
                        None => {
                            self.message =
                                format!("état inconnu « {s} » : new, kept, rejected ou starred");
                            self.mode = Mode::Filters { field: 4, values };
                            return Ok(Effect::None);
                        }
                    },
                };
                for (i, v) in [(2, &values[2]), (3, &values[3])] {
                    if !v.trim().is_empty() && parse_day(v).is_none() {
                        self.message = format!("date illisible « {v} » : AAAA-MM-JJ");
                        self.mode = Mode::Filters {
                            field: i,
                            values: values.clone(),
                        };
                        return Ok(Effect::None);
                    }
                }
                self.filter.source = opt(&values[0]);
                self.filter.territory = opt(&values[1]);
                self.filter.since = parse_day(&values[2]);
                self.filter.until = parse_day(&values[3]).map(|t| t + chrono::Duration::days(1));
                self.filter.state = state;
                self.mode = Mode::Inbox;
                self.selected = 0;
                self.reload().await?;
                self.message = format!("{} histoire(s) avec ces filtres", self.rows.len());
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

    async fn choose_edition(&mut self, add: bool) -> anyhow::Result<()> {
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
        add: bool,
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
                if add {
                    let sections = self
                        .config
                        .publications
                        .get(&kind)
                        .map(|p| p.sections.clone())
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| vec!["À la une".into()]);
                    self.mode = Mode::ChooseSection {
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
        kind: String,
        number: i64,
        options: Vec<String>,
        selected: usize,
    ) -> anyhow::Result<Effect> {
        match key.code {
            KeyCode::Esc => self.mode = Mode::Inbox,
            KeyCode::Char('j') | KeyCode::Down => {
                self.mode = Mode::ChooseSection {
                    kind,
                    number,
                    selected: (selected + 1).min(options.len() - 1),
                    options,
                }
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.mode = Mode::ChooseSection {
                    kind,
                    number,
                    selected: selected.saturating_sub(1),
                    options,
                }
            }
            KeyCode::Enter => {
                self.mode = Mode::Inbox;
                let Some(row) = self.selected_row().cloned() else {
                    return Ok(Effect::None);
                };
                let item = EditionItem {
                    story: row.story,
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
                            "Histoire {} ajoutée à {kind}/{number}, rubrique « {} »",
                            row.story, options[selected]
                        );
                        self.undo.push(Undo::EditionAdd {
                            kind,
                            number,
                            story: row.story,
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
                if let Some(story) = story {
                    match self
                        .store
                        .remove_edition_item(&kind, number, story, now)
                        .await
                    {
                        Ok(()) => {
                            self.message = format!("Histoire {story} retirée de {kind}/{number}");
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
            KeyCode::Char('R') => {
                match self
                    .store
                    .set_edition_status(&kind, number, EditionStatus::Ready, now)
                    .await
                {
                    Ok(()) => {
                        self.message = format!("Édition {kind}/{number} prête à l'envoi");
                        self.open_composer(&kind, number, selected).await?;
                    }
                    Err(e) => self.message = e.to_string(),
                }
            }
            _ => {}
        }
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
