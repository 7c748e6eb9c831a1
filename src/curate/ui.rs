//! Draws the triage state: header (dossier, counts, drafts), the list of stories, the detail
//! pane, popups (edit, filters, choices, help, preview), a message line and the footer of
//! keys. Meaning never rests on colour alone: states have words and marks, the selection
//! has a `›` and reverse video.

mod popups;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::app::{App, FILTER_FIELDS, Mode};
use crate::model::{DecisionState, EditionRef, Match};
use popups::draw_overlay;

fn french_day(date: &str) -> String {
    // `2026-11-27T10:00:00Z` → `27/11`
    match (date.get(8..10), date.get(5..7)) {
        (Some(d), Some(m)) => format!("{d}/{m}"),
        _ => "—".into(),
    }
}

/// `2026-11-27T09:14:00Z` → `27/11 à 10 h 14` in the curators' timezone.
fn local_time(date: &str, tz: chrono_tz::Tz) -> String {
    match chrono::DateTime::parse_from_rfc3339(date) {
        Ok(t) => t.with_timezone(&tz).format("%d/%m à %H h %M").to_string(),
        Err(_) => french_day(date),
    }
}

fn state_mark(state: DecisionState) -> &'static str {
    match state {
        DecisionState::New => " ",
        DecisionState::Kept => "G",
        DecisionState::Rejected => "R",
        DecisionState::Starred => "★",
    }
}

fn state_word(state: DecisionState) -> &'static str {
    match state {
        DecisionState::New => "à trier",
        DecisionState::Kept => "gardée",
        DecisionState::Rejected => "rejetée",
        DecisionState::Starred => "étoilée",
    }
}

impl App {
    fn style(&self, color: Color) -> Style {
        if self.color {
            Style::default().fg(color)
        } else {
            Style::default()
        }
    }
}

/// Draws the whole screen: dossier bar, list or composer, detail, message, key help and
/// the popup of the mode.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let [header, body, message, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(6),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, app, header);
    draw_body(frame, app, body);
    frame.render_widget(
        Paragraph::new(app.message.as_str()).style(Style::default().add_modifier(Modifier::BOLD)),
        message,
    );
    let keys = footer_keys(&app.mode, footer.width);
    frame.render_widget(
        Paragraph::new(keys).style(Style::default().add_modifier(Modifier::REVERSED)),
        footer,
    );
    draw_overlay(frame, app, area);
}

/// The middle of the screen: the composer, the text preview, or the inbox with its detail
/// pane beside it (wide terminals) or below it.
fn draw_body(frame: &mut Frame, app: &App, body: Rect) {
    match &app.mode {
        Mode::Composer { selected, .. } => draw_composer(frame, app, body, *selected),
        Mode::Preview { text, scroll } => {
            let p = Paragraph::new(text.as_str())
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" Aperçu (texte) — une touche pour revenir "),
                )
                .scroll((*scroll, 0));
            frame.render_widget(p, body);
        }
        _ => {
            if body.width >= 110 {
                let [list, detail] =
                    Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                        .areas(body);
                draw_list(frame, app, list);
                draw_detail(frame, app, detail);
            } else {
                let [list, detail] =
                    Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)])
                        .areas(body);
                draw_list(frame, app, list);
                draw_detail(frame, app, detail);
            }
        }
    }
}

/// The keys of the current mode, shortened on narrow terminals.
fn footer_keys(mode: &Mode, width: u16) -> &'static str {
    match mode {
        Mode::Composer { .. } => {
            "j/k déplacer · J/K monter/descendre · D retirer · u annuler · E intro · p aperçu · R prête · Échap retour"
        }
        Mode::Edit { .. } => "Tab titre/chapeau · Entrée enregistrer · Échap abandonner",
        Mode::Filters { .. } => "Tab champ suivant · → compléter · Entrée appliquer · Échap fermer",
        Mode::ConfirmReady { .. } => "o oui, prête à l'envoi · une autre touche : non",
        Mode::Search { .. } => "tapez la recherche · Entrée garder les résultats · Échap revenir",
        Mode::ChooseEdition { .. } | Mode::ChooseSection { .. } => {
            "j/k choisir · Entrée valider · Échap annuler"
        }
        _ if width < 110 => {
            "j/k bouger · g garder · r rejeter · s étoile · u annuler · ? aide · q quitter"
        }
        _ => {
            "j/k bouger · g garder · r rejeter · s étoile · u annuler · e modifier · a édition · / chercher · ? aide · q quitter"
        }
    }
}

fn draw_header(frame: &mut Frame, app: &App, area: Rect) {
    let view = match app.dossier() {
        Some(d) => app.dossier_title(d),
        None => "tous les dossiers".into(),
    };
    // Until the counts are read (just after the first frame), « … » stands for them.
    let count = if app.counts_pending {
        "…".to_string()
    } else {
        let n = app.counts.get(app.dossier().unwrap_or("")).copied();
        n.unwrap_or(0).to_string()
    };
    let mut first = vec![
        Span::styled(
            "veille — tri ",
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("· Dossier : {view} ({count} à trier)")),
    ];
    if app.filter.state.is_some()
        || !app.filter.sources.is_empty()
        || !app.filter.territories.is_empty()
        || app.filter.since.is_some()
        || app.filter.until.is_some()
    {
        first.push(Span::raw(" · filtres actifs"));
    }
    if let Mode::Search { query } = &app.mode {
        first.push(Span::raw(format!(" · recherche : {query}▏")));
    }
    if let Some(status) = app.catch_up_status() {
        first.push(Span::styled(
            format!(" · {status}"),
            app.style(Color::Yellow),
        ));
    }
    let drafts =
        (!app.drafts.is_empty()).then(|| format!("· à préparer : {}", app.drafts.join(", ")));
    // The drafts get what the dossiers leave, but the dossiers get at least 60 columns.
    let bar_width = (area.width as usize)
        .saturating_sub(drafts.as_ref().map_or(0, |d| d.chars().count() + 1))
        .max(60.min(area.width as usize));
    let mut second = dossier_bar(app, bar_width);
    if let Some(drafts) = drafts {
        second.push(Span::raw(" "));
        second.push(Span::styled(
            drafts,
            app.style(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

/// The dossier bar in `width` columns: every dossier with its count. Names are shortened
/// (`politique-d… 3`) as much as needed, down to five characters; if that is still too
/// wide, the bar shows a window around the current dossier with `‹ N` and `N ›` for the
/// dossiers hidden on each side (Tab reaches them).
pub(crate) fn dossier_bar(app: &App, width: usize) -> Vec<Span<'static>> {
    let entries: Vec<(String, String)> = app
        .views
        .iter()
        .map(|v| {
            let label = v.as_deref().unwrap_or("tous").to_string();
            let n = app.counts.get(v.as_deref().unwrap_or("")).copied();
            let n = match app.counts_pending {
                true => "…".to_string(),
                false => n.unwrap_or(0).to_string(),
            };
            (label, n)
        })
        .collect();
    let shorten = |label: &str, max: usize| -> String {
        if label.chars().count() <= max {
            label.to_string()
        } else {
            let cut: String = label.chars().take(max - 1).collect();
            format!("{cut}…")
        }
    };
    let texts = |max: usize| -> Vec<String> {
        entries
            .iter()
            .map(|(l, n)| format!("{} {n}", shorten(l, max)))
            .collect()
    };
    // Two spaces between entries when there is room, one otherwise.
    let total = |texts: &[String], gap: usize| -> usize {
        texts.iter().map(|t| t.chars().count()).sum::<usize>() + gap * texts.len().saturating_sub(1)
    };
    let longest = entries
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut fitted = None;
    'sizes: for max in (5..=longest.max(5)).rev() {
        let t = texts(max);
        for gap in [2, 1] {
            if total(&t, gap) <= width {
                fitted = Some((t, gap, 0, entries.len()));
                break 'sizes;
            }
        }
    }
    let (texts, gap, from, to) = fitted.unwrap_or_else(|| {
        // A window of whole entries around the current one, markers included.
        let t = texts(8);
        let len = |i: usize| t[i].chars().count() + 1;
        let (mut from, mut to) = (app.view, app.view + 1);
        let mut used = len(app.view);
        let marker = |hidden: usize| if hidden > 0 { 5 } else { 0 };
        loop {
            let mut grew = false;
            if to < t.len() && used + len(to) + marker(from) + marker(t.len() - to - 1) <= width {
                used += len(to);
                to += 1;
                grew = true;
            }
            if from > 0 && used + len(from - 1) + marker(from - 1) + marker(t.len() - to) <= width {
                from -= 1;
                used += len(from);
                grew = true;
            }
            if !grew {
                break;
            }
        }
        (t, 1, from, to)
    });
    let mut spans = Vec::new();
    if from > 0 {
        spans.push(Span::raw(format!("‹ {from} ")));
    }
    for (i, text) in texts.into_iter().enumerate().take(to).skip(from) {
        let style = if i == app.view {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
        };
        if i > from {
            spans.push(Span::raw(" ".repeat(gap)));
        }
        spans.push(Span::styled(text, style));
    }
    if to < entries.len() {
        spans.push(Span::raw(format!(" {} ›", entries.len() - to)));
    }
    spans
}

fn draw_list(frame: &mut Frame, app: &App, area: Rect) {
    // Only the rows the list can show are built (a view holds up to 2,000): the window
    // ratatui would scroll to, the selection on its last line once past the first screen.
    let height = usize::from(area.height.saturating_sub(2)).max(1);
    let first = (app.selected + 1).saturating_sub(height);
    let items: Vec<ListItem> = app
        .rows
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, r)| {
            // `+N`: the story was carried by N other sources.
            let others = if r.sources > 1 {
                format!("+{:<2}", r.sources - 1)
            } else {
                "   ".to_string()
            };
            let mut spans = vec![
                Span::raw(format!("{} ", state_mark(r.state))),
                Span::styled(format!("{:>4.1} ", r.score), app.style(Color::Cyan)),
                Span::raw(format!("{} ", french_day(&r.date))),
                Span::styled(others, Style::default().add_modifier(Modifier::BOLD)),
                Span::raw(r.title.clone()),
            ];
            if !r.dossiers.is_empty() {
                spans.push(Span::styled(
                    format!(" [{}]", r.dossiers.join(", ")),
                    app.style(Color::Green),
                ));
            }
            if !r.territories.is_empty() {
                spans.push(Span::styled(
                    format!(" ({})", r.territories.join(", ")),
                    app.style(Color::Magenta),
                ));
            }
            // Decided, shown until the curator moves: dimmed and said in words.
            if app.lingering == Some(r.story) {
                spans.insert(
                    0,
                    Span::styled(
                        format!("[{}] ", state_word(r.state)),
                        Style::default().add_modifier(Modifier::BOLD),
                    ),
                );
                return ListItem::new(Line::from(spans))
                    .style(Style::default().add_modifier(Modifier::DIM));
            }
            if i >= app.band_from {
                spans.insert(
                    0,
                    Span::styled(
                        "à vérifier ",
                        Style::default().add_modifier(Modifier::ITALIC),
                    ),
                );
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let title = if app.rows.is_empty() {
        " Rien à trier ".to_string()
    } else {
        // `+`: the view goes on beyond the rows loaded so far (they come as the selection
        // nears the end).
        let more = if app.more { "+" } else { "" };
        format!(" Histoires {}/{}{more} ", app.selected + 1, app.rows.len())
    };
    let list = List::new(items)
        .block(Block::default().borders(Borders::ALL).title(title))
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("› ");
    let mut state = ListState::default();
    if !app.rows.is_empty() {
        state.select(Some(app.selected - first));
    }
    frame.render_stateful_widget(list, area, &mut state);
}

/// `text` with the matched words underlined and bold (not only coloured).
fn highlighted<'a>(text: &'a str, matches: &[&Match], field: &str, app: &App) -> Line<'a> {
    let lower = text.to_lowercase();
    let mut marks: Vec<(usize, usize)> = Vec::new();
    for m in matches.iter().filter(|m| m.field == field) {
        let needle = m.text.to_lowercase();
        if needle.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(i) = lower[from..].find(&needle) {
            let start = from + i;
            // Lowercasing can change byte lengths; only mark where the offsets line up.
            if text.is_char_boundary(start) && text.is_char_boundary(start + needle.len()) {
                marks.push((start, start + needle.len()));
            }
            from = start + needle.len().max(1);
        }
    }
    marks.sort();
    let mut spans = Vec::new();
    let mut at = 0;
    for (s, e) in marks {
        if s < at {
            continue;
        }
        spans.push(Span::raw(&text[at..s]));
        spans.push(Span::styled(
            &text[s..e],
            app.style(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        ));
        at = e;
    }
    spans.push(Span::raw(&text[at..]));
    Line::from(spans)
}

fn draw_detail(frame: &mut Frame, app: &App, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(" Détail ");
    let Some(d) = &app.detail else {
        // Right after a `Tab`, for the moment the detail takes to read.
        let text = if app.detail_pending { "…" } else { "" };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    let matches: Vec<&Match> = d.why.iter().flat_map(|(_, _, m)| m.iter()).collect();
    let title = d.edited_title.as_deref().unwrap_or(&d.title);
    let lede = d.edited_lede.as_deref().unwrap_or(&d.lede);
    let mut lines: Vec<Line> = vec![highlighted(title, &matches, "title", app)];
    if d.edited_title.is_some() || d.edited_lede.is_some() {
        lines.push(Line::from(Span::styled(
            format!("(retouché ; original : {})", d.title),
            Style::default().add_modifier(Modifier::ITALIC),
        )));
    }
    lines.push(Line::from(""));
    lines.push(highlighted(lede, &matches, "summary", app));
    lines.push(Line::from(""));
    lines.extend(learned_lines(app));
    for (dossier, score, why) in &d.why {
        let terms: Vec<String> = why
            .iter()
            .map(|m| format!("{} ({})", m.term, m.field_fr()))
            .collect();
        lines.push(Line::from(vec![
            Span::styled(
                format!("Pourquoi {dossier} {score:.1} : "),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(terms.join(", ")),
        ]));
    }
    lines.push(Line::from(Span::styled(
        format!("Sources ({}) :", d.articles.len()),
        Style::default().add_modifier(Modifier::BOLD),
    )));
    for (source, url, date, _) in &d.articles {
        lines.push(Line::from(format!(
            "  {source}, {} — {url}",
            french_day(date)
        )));
    }
    if !d.decisions.is_empty() {
        lines.push(Line::from(Span::styled(
            "Décisions :",
            Style::default().add_modifier(Modifier::BOLD),
        )));
        let edited = d.edited_title.is_some() || d.edited_lede.is_some();
        for (dossier, state, curator, at) in &d.decisions {
            let dossier = if dossier.is_empty() {
                "hors dossier"
            } else {
                dossier.as_str()
            };
            // Who did what, when: a past action, never something left for someone to do.
            let what = match state {
                DecisionState::Kept => "l'a gardée",
                DecisionState::Rejected => "l'a rejetée",
                DecisionState::Starred => "l'a étoilée",
                DecisionState::New if edited => "l'a retouchée (pas encore triée)",
                DecisionState::New => "l'a remise à trier",
            };
            lines.push(Line::from(format!(
                "  {dossier} : {curator} {what} le {}",
                local_time(at, app.tz)
            )));
        }
    }
    lines.extend(elsewhere_lines(&d.elsewhere));
    // The article's own text last: what the curator would otherwise open the link for.
    if let Some(body) = &d.body {
        lines.push(Line::from(Span::styled(
            "Article :",
            Style::default().add_modifier(Modifier::BOLD),
        )));
        lines.extend(body.lines().map(|l| Line::from(l.to_owned())));
    }
    frame.render_widget(
        Paragraph::new(Text::from(lines))
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// What the other centres of the network kept or starred of the story ("gardée par Labo
/// Cités", "à la une pour R&T"): a cue, not a decision of this centre.
fn elsewhere_lines(elsewhere: &[(String, String, DecisionState)]) -> Vec<Line<'static>> {
    if elsewhere.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::from(Span::styled(
        "Dans le réseau :",
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    for (centre, dossier, state) in elsewhere {
        let what = if *state == DecisionState::Starred {
            format!("à la une pour {centre}")
        } else {
            format!("gardée par {centre}")
        };
        let dossier = if dossier.is_empty() {
            "hors dossier"
        } else {
            dossier.as_str()
        };
        lines.push(Line::from(format!("  {dossier} : {what}")));
    }
    lines
}

/// The "suite de" link and, for a story of the "to check" band, the learned words behind it.
fn learned_lines(app: &App) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    if let Some((story, title)) = &app.follows {
        lines.push(Line::from(vec![
            Span::styled(format!("Suite de l'histoire {story} : "), bold),
            Span::raw(title.clone()),
        ]));
    }
    if let Some(b) = app.selected_band() {
        let words: Vec<&str> = b.words.iter().map(|(w, _)| w.as_str()).collect();
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "À vérifier pour {} ({:.0} %, appris des décisions) : ",
                    b.dossier,
                    b.probability * 100.0
                ),
                bold,
            ),
            Span::raw(words.join(", ")),
        ]));
    }
    lines
}

fn draw_composer(frame: &mut Frame, app: &App, area: Rect, selected: usize) {
    let title = match &app.composer.edition {
        Some(e) => format!(
            " Composition : {} n° {} ({}, du {} au {}) ",
            app.config
                .publications
                .get(&e.kind)
                .map_or(e.kind.as_str(), |p| p.title.as_str()),
            e.number,
            e.status.label(),
            e.period_start,
            e.period_end
        ),
        None => " Composition ".into(),
    };
    let mut items: Vec<ListItem> = Vec::new();
    let mut index_of_line = Vec::new();
    let mut last_section = "";
    for (i, (section, card)) in app.composer.items.iter().enumerate() {
        if section != last_section {
            items.push(ListItem::new(Line::from(Span::styled(
                format!("## {section}"),
                Style::default().add_modifier(Modifier::BOLD),
            ))));
            index_of_line.push(None);
            last_section = section;
        }
        items.push(ListItem::new(format!("  {} — {}", card.title, card.source)));
        index_of_line.push(Some(i));
    }
    if let Some(e) = &app.composer.edition {
        for b in &e.blocks {
            let first = b.body.lines().next().unwrap_or("");
            items.push(ListItem::new(format!("[{}] {first}", b.kind.as_str())));
            index_of_line.push(None);
        }
    }
    if items.is_empty() {
        items.push(ListItem::new(
            "Édition vide : ajoutez des histoires avec `a` depuis la liste",
        ));
        index_of_line.push(None);
    }
    let mut state = ListState::default();
    state.select(index_of_line.iter().position(|l| *l == Some(selected)));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::default().borders(Borders::ALL).title(title))
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
            .highlight_symbol("› "),
        area,
        &mut state,
    );
}
