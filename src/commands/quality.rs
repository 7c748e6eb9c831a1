//! `veille eval tags` and `veille eval dedup`, with `--train`/`--folds` the figures that are
//! measured on rows the tuning never saw; and `veille to-check DOSSIER`, the band the
//! learned scorer proposes.

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use super::dossier_refusal;
use super::report::{CommandError, Report};
use crate::config::Config;
use crate::store::Store;
use crate::tag::Tagger;

/// Stories shown by `veille to-check`.
const TO_CHECK_LIMIT: u32 = 200;

/// `veille to-check DOSSIER`: the dossier's "to check" band, most probable first, with the
/// learned words behind each proposal.
pub(crate) async fn to_check(
    config: &Config,
    archive: &Path,
    dossier: &str,
) -> Result<ToCheck, CommandError> {
    if let Some(refusal) = dossier_refusal(config, Some(dossier)) {
        return Err(CommandError::Usage(refusal));
    }
    let store = Store::open(archive).await?;
    let rows = store.to_check(dossier, TO_CHECK_LIMIT).await?;
    Ok(ToCheck {
        rows,
        dossier: dossier.to_string(),
    })
}

/// The stories `veille to-check` proposes: a JSON array, or two lines each.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct ToCheck {
    rows: Vec<crate::store::ToCheckRow>,
    #[serde(skip)]
    dossier: String,
}

impl Report for ToCheck {
    const PRETTY: bool = true;
}

impl std::fmt::Display for ToCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.rows.is_empty() {
            return write!(
                f,
                "Rien à vérifier dans « {} » (le classement apprend des décisions : au moins {} histoires gardées et {} rejetées).",
                self.dossier,
                crate::tag::learn::MIN_EXAMPLES,
                crate::tag::learn::MIN_EXAMPLES
            );
        }
        for r in &self.rows {
            let words: Vec<&str> = r.words.iter().map(|(w, _)| w.as_str()).collect();
            writeln!(
                f,
                "{:>6}  {:>3.0} %  {}\n        appris : {}",
                r.story,
                r.probability * 100.0,
                r.title,
                words.join(", ")
            )?;
        }
        write!(f, "{} histoire(s) à vérifier", self.rows.len())
    }
}

/// Reads a labelled file, or says in French why it cannot.
fn labelled_file(path: &Path) -> Result<String, CommandError> {
    std::fs::read_to_string(path).map_err(|e| {
        CommandError::Usage(format!(
            "impossible de lire {} : {}",
            path.display(),
            crate::wording::io(&e)
        ))
    })
}

/// A mistake in a labelled file, with the file's name.
fn bad_file(path: &Path, message: String) -> CommandError {
    CommandError::Usage(format!("{}: {message}", path.display()))
}

/// `veille eval tags FILE`: the rules alone; with `--train TRAIN` or `--folds K`, the rules
/// plus the learned scorer.
pub(crate) fn eval_tags(
    config: &Config,
    path: &Path,
    train: Option<&Path>,
    folds: Option<usize>,
    verbose: bool,
) -> Result<TagsEvaluated, CommandError> {
    let tsv = labelled_file(path)?;
    let tagger = Tagger::new(config).map_err(anyhow::Error::new)?;
    let result = match (train, folds) {
        (Some(train_path), _) => {
            let train = labelled_file(train_path)?;
            crate::tag::eval::evaluate_trained(&tagger, &tsv, &train)
        }
        (None, Some(k)) => crate::tag::eval::cross_validate(&tagger, &tsv, k),
        (None, None) => crate::tag::eval::evaluate(&tagger, &tsv),
    };
    let evaluation = result.map_err(|message| bad_file(path, message))?;
    Ok(TagsEvaluated {
        evaluation,
        verbose,
    })
}

/// The tagging measured on labelled rows; `--verbose` lists each disagreement.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct TagsEvaluated {
    evaluation: crate::tag::eval::TagEvaluation,
    #[serde(skip)]
    verbose: bool,
}

impl Report for TagsEvaluated {
    const PRETTY: bool = true;
}

impl std::fmt::Display for TagsEvaluated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.evaluation.render(self.verbose);
        f.write_str(text.strip_suffix('\n').unwrap_or(&text))
    }
}

/// `veille eval dedup FILE`: story merging measured on labelled pairs, at the configured
/// threshold with the best threshold found; with `--folds K`, the threshold chosen on the
/// other folds and measured on each fold.
pub(crate) fn eval_dedup(
    config: &Config,
    path: &Path,
    threshold: Option<f64>,
    folds: Option<usize>,
    verbose: bool,
) -> Result<DedupEvaluated, CommandError> {
    let tsv = labelled_file(path)?;
    let measured = match folds {
        Some(k) => crate::dedup::eval::cross_validate(&tsv, k).map(DedupMeasure::Folded),
        None => {
            let threshold = threshold
                .or(config.settings.story_threshold)
                .unwrap_or(crate::dedup::DEFAULT_THRESHOLD);
            crate::dedup::eval::evaluate(&tsv, threshold).map(DedupMeasure::Fixed)
        }
    };
    Ok(DedupEvaluated {
        measure: measured.map_err(|message| bad_file(path, message))?,
        verbose,
    })
}

/// Story merging measured at one threshold, or by cross-validation.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum DedupMeasure {
    Fixed(crate::dedup::eval::DedupEvaluation),
    Folded(crate::dedup::eval::FoldedEvaluation),
}

/// Story merging measured on labelled pairs; `--verbose` lists each misclassified pair.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct DedupEvaluated {
    measure: DedupMeasure,
    #[serde(skip)]
    verbose: bool,
}

impl Report for DedupEvaluated {
    const PRETTY: bool = true;
}

impl std::fmt::Display for DedupEvaluated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::report::lines(f, |out| match &self.measure {
            DedupMeasure::Fixed(e) => write_dedup_fixed(out, e, self.verbose),
            DedupMeasure::Folded(e) => write_dedup_folded(out, e, self.verbose),
        })
    }
}

fn write_dedup_fixed(
    out: &mut String,
    e: &crate::dedup::eval::DedupEvaluation,
    verbose: bool,
) -> std::fmt::Result {
    writeln!(
        out,
        "{} paires, dont {} de la même histoire",
        e.pairs, e.same_story_pairs
    )?;
    writeln!(
        out,
        "Au seuil {:.3} : précision {:.3}, rappel {:.3}, F1 {:.3}",
        e.threshold, e.scores.precision, e.scores.recall, e.scores.f1
    )?;
    let b = &e.best_threshold;
    writeln!(
        out,
        "Meilleur seuil {:.3} : précision {:.3}, rappel {:.3}, F1 {:.3}{}",
        b.threshold,
        b.precision,
        b.recall,
        b.f1,
        if b.precision_floor_met {
            " (meilleur F0,5 à précision ≥ 0,95)"
        } else {
            " (précision 0,95 hors d'atteinte : meilleur F0,5)"
        }
    )?;
    write_pair_errors(out, &e.errors_by_kind, &e.misclassified, verbose)
}

fn write_dedup_folded(
    out: &mut String,
    e: &crate::dedup::eval::FoldedEvaluation,
    verbose: bool,
) -> std::fmt::Result {
    writeln!(
        out,
        "{} paires, dont {} de la même histoire ; validation croisée en {} plis",
        e.pairs, e.same_story_pairs, e.folds
    )?;
    let thresholds: Vec<String> = e.thresholds.iter().map(|t| format!("{t:.3}")).collect();
    writeln!(
        out,
        "Seuils choisis sur les autres plis : {}",
        thresholds.join(", ")
    )?;
    writeln!(
        out,
        "Mesuré sur les plis mis de côté : précision {:.3}, rappel {:.3}, F1 {:.3}",
        e.scores.precision, e.scores.recall, e.scores.f1
    )?;
    write_pair_errors(out, &e.errors_by_kind, &e.misclassified, verbose)
}

/// The errors of a pair evaluation by kind of pair, and (verbose) each misclassified pair.
fn write_pair_errors(
    out: &mut String,
    errors_by_kind: &std::collections::BTreeMap<String, crate::dedup::eval::KindErrors>,
    misclassified: &[crate::dedup::eval::Misclassified],
    verbose: bool,
) -> std::fmt::Result {
    writeln!(out, "\nErreurs par type de paire :")?;
    for (kind, k) in errors_by_kind {
        writeln!(
            out,
            "  {kind:<28} {:>4} paires  {:>3} fusions à tort  {:>3} fusions manquées  {:>3} liées (suite de)",
            k.pairs, k.false_merges, k.missed_merges, k.linked
        )?;
    }
    if verbose {
        writeln!(out, "\nPaires mal classées :")?;
        for m in misclassified {
            let what = if m.same_story { "manquée" } else { "à tort" };
            writeln!(
                out,
                "  {:<14} {:<28} similarité {:.3}  fusion {what}",
                m.id, m.kind, m.similarity
            )?;
        }
    }
    Ok(())
}
