//! The popups drawn over the inbox: help, the edit form, filters, choices, confirmation.

use super::*;

/// The popup of modes drawn over the inbox: help, edits, filters, choices, confirmation.
pub(super) fn draw_overlay(frame: &mut Frame, app: &App, area: Rect) {
    match &app.mode {
        Mode::Help => draw_help(frame, area),
        Mode::Edit { field, title, lede } => draw_edit(frame, area, *field, title, lede),
        Mode::Filters { field, values } => draw_filters(frame, app, area, *field, values),
        Mode::ChooseEdition {
            add,
            options,
            selected,
        } => {
            let labels: Vec<String> = options.iter().map(|(_, l)| l.clone()).collect();
            let subject = add
                .as_ref()
                .map(|(story, title)| format!("Ajouter l'histoire {story} : « {title} »"));
            draw_choice(
                frame,
                area,
                " Choisir l'édition ",
                subject.as_deref(),
                &labels,
                *selected,
            )
        }
        Mode::ChooseSection {
            story: (story, title),
            options,
            selected,
            edition,
        } => draw_choice(
            frame,
            area,
            &format!(" Rubrique dans {edition} "),
            Some(&format!("Ajouter l'histoire {story} : « {title} »")),
            options,
            *selected,
        ),
        Mode::ConfirmReady { edition, .. } => draw_confirm_ready(frame, app, area, edition),
        _ => {}
    }
}

/// Asks before marking an edition ready to send.
fn draw_confirm_ready(frame: &mut Frame, app: &App, area: Rect, edition: &EditionRef) {
    let (kind, number) = (edition.kind.as_str(), edition.number);
    let title = app
        .config
        .publications
        .get(kind)
        .map_or(kind, |p| p.title.as_str());
    let text = format!(
        "Marquer {title} n° {number} prête à l'envoi ?\n\n\
         Elle pourra alors être envoyée aux abonné·e·s.\n\n\
         o : oui · une autre touche : non"
    );
    let r = popup(area, 60, 7);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Confirmer ")),
        r,
    );
}

fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn draw_help(frame: &mut Frame, area: Rect) {
    let text = "\
Liste : état (G gardée, R rejetée, ★ étoilée), score, date,
+N autres sources, titre, [dossiers], (territoires)

j / k, ↓ / ↑   histoire suivante / précédente
Tab / d        dossier suivant (Maj+Tab, D : précédent)
g              garder dans ce dossier (elle reste sélectionnée)
r              rejeter dans ce dossier
s              étoiler (à la une)
x              rejeter partout (tous les dossiers)
u              annuler (plusieurs fois)
e              modifier titre et chapeau (l'original est gardé)
o              ouvrir le lien ($BROWSER ou xdg-open)
/              rechercher (résultats pendant la frappe)
f              filtres : source, territoire, dates, état
               (→ complète ; majuscules et accents indifférents)
a              ajouter à une édition (édition, puis rubrique)
c              composer une édition (D retire, u remet, R prête)
?              cette aide
q, Ctrl-C      quitter";
    let r = popup(area, 66, 22);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(text).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Aide — une touche pour fermer "),
        ),
        r,
    );
}

fn field_line<'a>(label: &'a str, value: &'a str, active: bool) -> Line<'a> {
    let marker = if active { "› " } else { "  " };
    let style = if active {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::raw(marker),
        Span::styled(
            format!("{label} : "),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{value}▏"), style),
    ])
}

fn draw_edit(frame: &mut Frame, area: Rect, field: usize, title: &str, lede: &str) {
    let r = popup(area, area.width.saturating_sub(4), 10);
    frame.render_widget(Clear, r);
    let lines = vec![
        field_line("Titre", title, field == 0),
        Line::from(""),
        field_line("Chapeau", lede, field == 1),
    ];
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Modifier l'histoire "),
        ),
        r,
    );
}

fn draw_filters(frame: &mut Frame, app: &App, area: Rect, field: usize, values: &[String]) {
    let r = popup(area, 76, 10);
    frame.render_widget(Clear, r);
    let mut lines: Vec<Line> = FILTER_FIELDS
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (label, value))| field_line(label, value, i == field))
        .collect();
    // What the active field can be: the values matching what is typed (all when empty).
    let known = app.known_values(field);
    if !known.is_empty() {
        let typed = values.get(field).map_or("", |v| v.trim());
        let shown: Vec<&str> = if typed.is_empty() {
            known.iter().map(|k| k.label.as_str()).collect()
        } else {
            crate::curate::filters::resolve(typed, &known)
                .into_iter()
                .map(|k| k.label.as_str())
                .collect()
        };
        let text = if shown.is_empty() {
            "aucune valeur connue ne correspond".to_string()
        } else {
            shown.join(" · ")
        };
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled("Valeurs : ", Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(text),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Filtres (vide : tous) "),
        ),
        r,
    );
}

fn draw_choice(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    subject: Option<&str>,
    options: &[String],
    selected: usize,
) {
    // The story being added is repeated above the choices, so the curator sees which one
    // it is (two lines at most).
    let extra = if subject.is_some() { 3 } else { 0 };
    let width = subject.map_or(60, |s| (s.chars().count() as u16 + 4).clamp(60, 100));
    let r = popup(
        area,
        width,
        (options.len() as u16 + 2 + extra).min(area.height),
    );
    frame.render_widget(Clear, r);
    let list_block = match subject {
        Some(subject) => {
            let [top, rest] =
                Layout::vertical([Constraint::Length(extra), Constraint::Min(1)]).areas(r);
            frame.render_widget(
                Paragraph::new(subject.to_string())
                    .wrap(Wrap { trim: true })
                    .block(
                        Block::default()
                            .borders(Borders::TOP | Borders::LEFT | Borders::RIGHT)
                            .title(title.to_string()),
                    ),
                top,
            );
            (
                Block::default().borders(Borders::LEFT | Borders::RIGHT | Borders::BOTTOM),
                rest,
            )
        }
        None => (
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string()),
            r,
        ),
    };
    let (block, r) = list_block;
    let items: Vec<ListItem> = options.iter().map(|o| ListItem::new(o.as_str())).collect();
    let mut state = ListState::default();
    state.select(Some(selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(block)
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
            .highlight_symbol("› "),
        r,
        &mut state,
    );
}
