//! `veille triage`: the curators' terminal UI (ratatui + crossterm). `app` holds the state
//! and what each key does, `ui` draws it; this module owns the terminal: raw mode and the
//! alternate screen, restored on quit, on Ctrl-C and on panic; `$EDITOR` and `$BROWSER`
//! run with the terminal handed back. Other processes' writes show up within a second.

mod app;
mod filters;
pub mod ui;

use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyEventKind};

pub use app::{App, Effect};

use crate::config::Config;
use crate::store::Store;

/// How often the store is asked whether someone else wrote.
const POLL: Duration = Duration::from_millis(700);

/// Runs the TUI until the curator quits.
pub async fn run(config: Config, archive: &Path, curator: String) -> anyhow::Result<()> {
    let store = Store::open(archive).await?;
    let tagger = crate::tag::Tagger::new(&config)
        .map_err(|e| anyhow::anyhow!("règles de marquage illisibles : {e}"))?;
    let tz = config.tz();
    // Search is a convenience: without an index the TUI still works.
    let search = match crate::indexing::open(&store, archive, tz).await {
        Ok((index, _)) => Some(index),
        Err(e) => {
            tracing::warn!("recherche indisponible : {e:#}");
            None
        }
    };
    let mut app = App::new(store, config, archive.to_path_buf(), curator, search).await?;
    // The inbox shows the network's articles tagged by this centre's rules: those another
    // centre's process stored since this centre's last pass are tagged beside the screen
    // (a centre that joins has the whole network to tag), and the inbox is read again then.
    app.catch_up_in_background(tagger);
    // ratatui::init installs a panic hook that restores the terminal before the message.
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, &mut app).await;
    ratatui::restore();
    result
}

async fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> anyhow::Result<()> {
    let mut last_poll = Instant::now();
    loop {
        terminal.draw(|frame| ui::draw(frame, app))?;
        // What the first frame went without (the counts) comes right after it, drawn at once.
        match app.after_frame().await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                tracing::error!("{e:#}");
                app.message = format!("Erreur : {e}");
                continue;
            }
        }
        let ready = tokio::task::block_in_place(|| event::poll(Duration::from_millis(200)))?;
        if ready {
            match tokio::task::block_in_place(event::read)? {
                Event::Key(key) if key.kind != KeyEventKind::Release => {
                    let effect = match app.on_key(key).await {
                        Ok(effect) => effect,
                        Err(e) => {
                            tracing::error!("{e:#}");
                            app.message = format!("Erreur : {e}");
                            Effect::None
                        }
                    };
                    match effect {
                        Effect::None => {}
                        Effect::Quit => return Ok(()),
                        Effect::OpenUrl(url) => open_url(&url, app),
                        Effect::EditBlock {
                            edition,
                            block,
                            body,
                        } => {
                            ratatui::restore();
                            let edited = edit_in_editor(&body);
                            *terminal = ratatui::try_init()?;
                            terminal.clear()?;
                            match edited {
                                Ok(Some(text)) => app.save_block(&edition, block, &text).await?,
                                Ok(None) => app.message = "Texte inchangé".into(),
                                Err(e) => app.message = format!("Éditeur : {e}"),
                            }
                        }
                    }
                }
                Event::Resize(_, _) => terminal.autoresize()?,
                _ => {}
            }
        }
        if last_poll.elapsed() >= POLL {
            last_poll = Instant::now();
            if let Err(e) = app.tick().await {
                tracing::error!("{e:#}");
            }
        }
    }
}

/// Opens a link without blocking the TUI: `$BROWSER`, else `xdg-open`.
fn open_url(url: &str, app: &mut App) {
    let browser = std::env::var("BROWSER").unwrap_or_else(|_| "xdg-open".into());
    let spawned = std::process::Command::new(&browser)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        app.message = format!("impossible de lancer {browser} : {e} (réglez $BROWSER)");
    }
}

/// Edits `text` in `$EDITOR` (`$VISUAL`, else `nano`, else `vi`); None when unchanged.
fn edit_in_editor(text: &str) -> anyhow::Result<Option<String>> {
    let file = tempfile::Builder::new()
        .prefix("veille-intro-")
        .suffix(".md")
        .tempfile()?;
    std::fs::write(file.path(), text)?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "nano".into());
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("nano");
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(file.path())
        .status()
        .map_err(|e| anyhow::anyhow!("impossible de lancer {program} : {e} (réglez $EDITOR)"))?;
    if !status.success() {
        anyhow::bail!("{program} a échoué ({status})");
    }
    let edited = std::fs::read_to_string(file.path())?;
    Ok((edited != text).then_some(edited))
}

#[cfg(test)]
mod band_tests;
#[cfg(test)]
mod tests;
