//! The centre's tag catch-up (`retagging::catch_up`) run beside the screen: a centre that
//! joins a network finds every shared article untagged by its rules, and tagging them all
//! before the first frame made the curator wait. The inbox is drawn at once, the header says
//! how far the tagging is, and the inbox is read again when it is done. Quitting meanwhile
//! drops the batch being written (one transaction): the next opening goes on from there.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{App, Mode};
use crate::retagging::{Progress, catch_up_counting};
use crate::tag::Tagger;

/// A catch-up running on its own task.
pub(crate) struct CatchUp {
    pub(crate) progress: Arc<Progress>,
    pub(crate) task: tokio::task::JoinHandle<anyhow::Result<usize>>,
}

/// `n` with its thousands apart, as French writes them (`12 000`).
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

impl App {
    /// Tags, by `tagger` (this centre's rules), what the centre has not tagged yet, on a task
    /// of its own: the screen goes on meanwhile (`after_frame` picks up the end).
    pub fn catch_up_in_background(&mut self, tagger: Tagger) {
        let progress = Arc::new(Progress::default());
        let store = self.store.clone();
        let shown = Arc::clone(&progress);
        let task =
            tokio::spawn(async move { catch_up_counting(&store, &tagger, Some(&shown)).await });
        self.catch_up = Some(CatchUp { progress, task });
    }

    /// Whether the catch-up is still running (or finished and not yet taken into account).
    pub fn catching_up(&self) -> bool {
        self.catch_up.is_some()
    }

    /// What the header says while the catch-up runs: « étiquetage en cours : 12 000 / 100 000 ».
    pub(crate) fn catch_up_status(&self) -> Option<String> {
        let c = self.catch_up.as_ref()?;
        let total = c.progress.total.load(Ordering::Relaxed);
        // Articles stored meanwhile are tagged too: the count never goes past the total shown.
        let done = c.progress.done.load(Ordering::Relaxed);
        Some(format!(
            "étiquetage en cours : {} / {}",
            grouped(done.min(total)),
            grouped(total.max(done))
        ))
    }

    /// Once the catch-up is over and the inbox (or help) is shown: the inbox read again when
    /// tags changed, and the message says what happened. Returns whether it ended now.
    pub(super) async fn catch_up_ended(&mut self) -> anyhow::Result<bool> {
        let ended = self.catch_up.as_ref().is_some_and(|c| c.task.is_finished());
        if !ended || !matches!(self.mode, Mode::Inbox | Mode::Help) {
            return Ok(false);
        }
        let Some(c) = self.catch_up.take() else {
            return Ok(false);
        };
        match c.task.await {
            Ok(Ok(0)) => {}
            Ok(Ok(changed)) => {
                self.reload().await?;
                self.message = format!(
                    "Étiquetage terminé : {} article(s) d'autres centres marqué(s) selon nos règles",
                    grouped(changed)
                );
            }
            Ok(Err(e)) => {
                tracing::error!("{e:#}");
                self.message =
                    format!("Erreur pendant le marquage des articles d'autres centres : {e:#}");
            }
            Err(e) => {
                self.message = format!("Marquage des articles d'autres centres interrompu : {e}");
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn thousands_are_written_apart() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1 000");
        assert_eq!(grouped(12_000), "12 000");
        assert_eq!(grouped(100_000), "100 000");
        assert_eq!(grouped(1_234_567), "1 234 567");
    }
}
