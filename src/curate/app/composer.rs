//! The composer: an edition's items and blocks, with undo of removals, the confirmed `R` and the text preview.

use super::*;

impl App {
    pub(crate) async fn open_composer(
        &mut self,
        address: &EditionRef,
        selected: usize,
    ) -> anyhow::Result<()> {
        let kind = address.kind.as_str();
        let edition = self.store.edition(kind, address.number).await?;
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
            edition: address.clone(),
            selected,
        };
        Ok(())
    }

    pub(super) async fn composer_key(
        &mut self,
        key: KeyEvent,
        edition: EditionRef,
        selected: usize,
    ) -> anyhow::Result<Effect> {
        let (kind, number) = (edition.kind.as_str(), edition.number);
        let now = Utc::now();
        let story = self.composer.items.get(selected).map(|(_, c)| c.story);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                self.mode = Mode::Inbox;
                self.reload().await?;
            }
            KeyCode::Char('j') | KeyCode::Down => {
                self.open_composer(&edition, selected + 1).await?
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.open_composer(&edition, selected.saturating_sub(1))
                    .await?
            }
            KeyCode::Char('J') | KeyCode::Char('K') => {
                if let Some(story) = story {
                    let up = key.code == KeyCode::Char('K');
                    match self
                        .store
                        .move_edition_item(kind, number, story, up, now)
                        .await
                    {
                        Ok(()) => {
                            self.open_composer(&edition, selected).await?;
                            if let Some(i) = self
                                .composer
                                .items
                                .iter()
                                .position(|(_, c)| c.story == story)
                            {
                                self.mode = Mode::Composer {
                                    edition,
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
                        .remove_edition_item(kind, number, story, now)
                        .await
                    {
                        Ok(()) => {
                            self.message =
                                format!("Histoire {story} retirée de {edition} (u pour annuler)");
                            self.undo.push(Undo::EditionRemove {
                                edition: edition.clone(),
                                item,
                            });
                            self.open_composer(&edition, selected).await?;
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
                    edition,
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
                match self.undo.last() {
                    Some(Undo::EditionRemove { edition: e, .. })
                    | Some(Undo::EditionAdd { edition: e, .. })
                        if *e == edition =>
                    {
                        self.undo().await?;
                        self.open_composer(&edition, selected).await?;
                    }
                    _ => self.message = "Rien à annuler dans cette édition".into(),
                }
            }
            KeyCode::Char('R') => {
                self.message.clear();
                self.mode = Mode::ConfirmReady { edition, selected };
            }
            _ => {}
        }
        Ok(Effect::None)
    }

    /// `o` marks the edition ready (it can then be sent); any other key leaves it as it was.
    pub(super) async fn confirm_ready_key(
        &mut self,
        key: KeyEvent,
        edition: EditionRef,
        selected: usize,
    ) -> anyhow::Result<Effect> {
        if matches!(key.code, KeyCode::Char('o' | 'O' | 'y' | 'Y')) {
            match self
                .store
                .set_edition_status(
                    &edition.kind,
                    edition.number,
                    EditionStatus::Ready,
                    Utc::now(),
                )
                .await
            {
                Ok(()) => self.message = format!("Édition {edition} prête à l'envoi"),
                Err(e) => self.message = e.to_string(),
            }
        } else {
            self.message = format!("Édition {edition} laissée en brouillon");
        }
        self.open_composer(&edition, selected).await?;
        Ok(Effect::None)
    }

    pub(super) async fn leave_preview(&mut self) -> anyhow::Result<()> {
        match self.composer.edition.clone() {
            Some(e) => self.open_composer(&e.reference(), 0).await,
            None => {
                self.mode = Mode::Inbox;
                Ok(())
            }
        }
    }

    /// After `$EDITOR`: stores the intro block.
    pub(crate) async fn save_block(
        &mut self,
        edition: &EditionRef,
        block: Option<i64>,
        body: &str,
    ) -> anyhow::Result<()> {
        let (kind, number) = (edition.kind.as_str(), edition.number);
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
        self.open_composer(edition, 0).await
    }
}
