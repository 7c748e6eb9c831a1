//! The edit mode: the curator rewrites a story's title and lede, stored with the decision.

use super::*;

impl App {
    pub(super) async fn edit_key(
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
                    let title = crate::text::one_line(&title);
                    let lede = lede.trim().to_string();
                    let keep_title = (title != d.title).then_some(title.as_str());
                    let keep_lede = (lede != d.lede).then_some(lede.as_str());
                    let before = self.store.story_inbox_ranks(d.story).await?;
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
                    self.own_write_done(Some((d.story, before)), dossiers.len())
                        .await?;
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
}
