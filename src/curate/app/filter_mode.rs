//! The filters mode: typing field values with completion, applied to the inbox.

use super::*;

impl App {
    pub(super) async fn filters_key(
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
    pub(crate) fn known_values(&self, field: usize) -> Vec<Known> {
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
}
