//! Ctrl-C during `veille fetch`: the first asks the pass to stop starting sources (those in
//! flight finish and are saved, each source being all or nothing in the store) and says so;
//! a second leaves at once, saying what was saved until then.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::ProgressBar;

use crate::model::SourceReport;

/// What the pass saved so far: (sources recorded, new articles).
type Saved = Arc<Mutex<(usize, u32)>>;

pub(crate) struct Interrupt {
    /// Read by the harvest before each source.
    pub(crate) stop: Arc<AtomicBool>,
    saved: Saved,
    listener: tokio::task::JoinHandle<()>,
}

impl Interrupt {
    /// Starts listening for Ctrl-C (SIGINT) for the time of the pass.
    pub(crate) fn listen(bar: ProgressBar) -> Interrupt {
        let stop = Arc::new(AtomicBool::new(false));
        let saved: Saved = Arc::default();
        let listener = tokio::spawn({
            let (stop, saved) = (stop.clone(), saved.clone());
            async move {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                stop.store(true, Ordering::Relaxed);
                let line = "Interruption demandée : les sources en cours de relève finissent et \
                            sont enregistrées, les autres attendront la prochaine relève \
                            (Ctrl-C encore : arrêt immédiat)";
                if bar.is_hidden() {
                    eprintln!("{line}");
                } else {
                    bar.println(line);
                }
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                bar.finish_and_clear();
                let (sources, new) = *saved.lock().unwrap_or_else(|e| e.into_inner());
                eprintln!(
                    "Arrêt immédiat : {sources} source(s) enregistrée(s) ({new} nouvel(s) article(s)) ; \
                     les sources en cours ne sont pas enregistrées et seront relevées la prochaine fois. \
                     L'index de recherche sera complété à la prochaine relève."
                );
                std::process::exit(130);
            }
        });
        Interrupt {
            stop,
            saved,
            listener,
        }
    }

    /// Counts a source the pass has finished (and so recorded).
    pub(crate) fn saved(&self, report: &SourceReport) {
        if report.status != crate::model::SourceStatus::Stopped {
            let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
            saved.0 += 1;
            saved.1 += report.new;
        }
    }

    /// Stops listening; true when Ctrl-C was pressed during the pass.
    pub(crate) fn finish(self) -> bool {
        self.listener.abort();
        self.stop.load(Ordering::Relaxed)
    }
}
