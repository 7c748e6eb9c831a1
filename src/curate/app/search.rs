//! The search mode of the triage TUI: typing a query, running it against the index.

use super::*;

impl App {
    pub(super) async fn search_key(
        &mut self,
        key: KeyEvent,
        mut query: String,
    ) -> anyhow::Result<Effect> {
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

    pub(super) async fn run_search(&mut self, query: &str) -> anyhow::Result<()> {
        let Some(index) = &self.search else {
            return Ok(());
        };
        // Search results are the whole list: no page to follow, no band.
        self.more = false;
        self.band.clear();
        if query.trim().is_empty() {
            self.rows.clear();
            self.band_from = 0;
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
        self.band_from = self.rows.len();
        self.selected = 0;
        self.load_detail().await
    }
}
