//! Choosing an edition (and a section) to add the detail pane's story to, or to compose.

use super::*;

impl App {
    pub(super) async fn choose_edition(&mut self, add: bool) -> anyhow::Result<()> {
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
        let options: Vec<(EditionRef, String)> = self
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
                (e.reference(), label)
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

    pub(super) async fn choose_edition_key(
        &mut self,
        key: KeyEvent,
        add: Option<(i64, String)>,
        options: Vec<(EditionRef, String)>,
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
                let (edition, _) = options[selected].clone();
                if let Some(story) = add {
                    let sections = self
                        .config
                        .publications
                        .get(&edition.kind)
                        .map(|p| p.sections.clone())
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| vec!["À la une".into()]);
                    self.mode = Mode::ChooseSection {
                        story,
                        edition,
                        options: sections,
                        selected: 0,
                    };
                } else {
                    self.open_composer(&edition, 0).await?;
                }
            }
            _ => {}
        }
        Ok(Effect::None)
    }

    pub(super) async fn choose_section_key(
        &mut self,
        key: KeyEvent,
        story: (i64, String),
        edition: EditionRef,
        options: Vec<String>,
        selected: usize,
    ) -> anyhow::Result<Effect> {
        match key.code {
            KeyCode::Esc => self.mode = Mode::Inbox,
            KeyCode::Char('j') | KeyCode::Down => {
                self.mode = Mode::ChooseSection {
                    story,
                    edition,
                    selected: (selected + 1).min(options.len() - 1),
                    options,
                }
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.mode = Mode::ChooseSection {
                    story,
                    edition,
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
                    .add_edition_item(&edition.kind, edition.number, &item, Utc::now())
                    .await
                {
                    Ok(()) => {
                        self.message = format!(
                            "Histoire {story} ajoutée à {edition}, rubrique « {} »",
                            options[selected]
                        );
                        self.undo.push(Undo::EditionAdd { edition, story });
                        self.own_write_done(None, 0).await?;
                    }
                    Err(e) => self.message = e.to_string(),
                }
            }
            _ => {}
        }
        Ok(Effect::None)
    }
}
