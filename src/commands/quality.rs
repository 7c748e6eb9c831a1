//! `veille eval tags` and `veille eval dedup`, with `--train`/`--folds` the figures that are
//! measured on rows the tuning never saw; and `veille to-check DOSSIER`, the band the
//! learned scorer proposes.

use std::path::Path;

use super::{EXIT_OK, EXIT_USAGE, read_labelled_file, unknown_dossier};
use crate::config::Config;
use crate::store::Store;
use crate::tag::Tagger;

/// Stories shown by `veille to-check`.
const TO_CHECK_LIMIT: u32 = 200;

/// `veille to-check DOSSIER`: the dossier's "to check" band, most probable first, with the
/// learned words behind each proposal.
pub async fn to_check(
    config: &Config,
    archive: &Path,
    dossier: &str,
    json: bool,
) -> anyhow::Result<i32> {
    if unknown_dossier(config, Some(dossier)) {
        return Ok(EXIT_USAGE);
    }
    let store = Store::open(archive).await?;
    let rows = store.to_check(dossier, TO_CHECK_LIMIT).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(EXIT_OK);
    }
    if rows.is_empty() {
        println!(
            "Rien à vérifier dans « {dossier} » (le classement apprend des décisions : au moins {} histoires gardées et {} rejetées).",
            crate::tag::learn::MIN_EXAMPLES,
            crate::tag::learn::MIN_EXAMPLES
        );
        return Ok(EXIT_OK);
    }
    for r in &rows {
        let words: Vec<&str> = r.words.iter().map(|(w, _)| w.as_str()).collect();
        println!(
            "{:>6}  {:>3.0} %  {}\n        appris : {}",
            r.story,
            r.probability * 100.0,
            r.title,
            words.join(", ")
        );
    }
    println!("{} histoire(s) à vérifier", rows.len());
    Ok(EXIT_OK)
}

/// `veille eval tags FILE`: the rules alone; with `--train TRAIN` or `--folds K`, the rules
/// plus the learned scorer.
pub fn eval_tags(
    config: &Config,
    path: &Path,
    train: Option<&Path>,
    folds: Option<usize>,
    json: bool,
    verbose: bool,
) -> anyhow::Result<i32> {
    let tsv = match read_labelled_file(path) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let tagger = Tagger::new(config)?;
    let result = match (train, folds) {
        (Some(train_path), _) => {
            let train = match read_labelled_file(train_path) {
                Ok(t) => t,
                Err(code) => return Ok(code),
            };
            crate::tag::eval::evaluate_trained(&tagger, &tsv, &train)
        }
        (None, Some(k)) => crate::tag::eval::cross_validate(&tagger, &tsv, k),
        (None, None) => crate::tag::eval::evaluate(&tagger, &tsv),
    };
    match result {
        Ok(evaluation) if json => println!("{}", serde_json::to_string_pretty(&evaluation)?),
        Ok(evaluation) => print!("{}", evaluation.render(verbose)),
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return Ok(EXIT_USAGE);
        }
    }
    Ok(EXIT_OK)
}

/// `veille eval dedup FILE`: story merging measured on labelled pairs, at the configured
/// threshold with the best threshold found; with `--folds K`, the threshold chosen on the
/// other folds and measured on each fold.
pub fn eval_dedup(
    config: &Config,
    path: &Path,
    threshold: Option<f64>,
    folds: Option<usize>,
    json: bool,
    verbose: bool,
) -> anyhow::Result<i32> {
    let tsv = match read_labelled_file(path) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let printed = match folds {
        Some(k) => crate::dedup::eval::cross_validate(&tsv, k)
            .map(|e| print_dedup_folded(&e, json, verbose)),
        None => {
            let threshold = threshold
                .or(config.settings.story_threshold)
                .unwrap_or(crate::dedup::DEFAULT_THRESHOLD);
            crate::dedup::eval::evaluate(&tsv, threshold)
                .map(|e| print_dedup_fixed(&e, json, verbose))
        }
    };
    match printed {
        Ok(done) => done.map(|()| EXIT_OK),
        Err(message) => {
            eprintln!("{}: {message}", path.display());
            Ok(EXIT_USAGE)
        }
    }
}

fn print_dedup_fixed(
    e: &crate::dedup::eval::DedupEvaluation,
    json: bool,
    verbose: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(e)?);
        return Ok(());
    }
    println!(
        "{} paires, dont {} de la même histoire",
        e.pairs, e.same_story_pairs
    );
    println!(
        "Au seuil {:.3} : précision {:.3}, rappel {:.3}, F1 {:.3}",
        e.threshold, e.scores.precision, e.scores.recall, e.scores.f1
    );
    let b = &e.best_threshold;
    println!(
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
    );
    print_pair_errors(&e.errors_by_kind, &e.misclassified, verbose);
    Ok(())
}

fn print_dedup_folded(
    e: &crate::dedup::eval::FoldedEvaluation,
    json: bool,
    verbose: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(e)?);
        return Ok(());
    }
    println!(
        "{} paires, dont {} de la même histoire ; validation croisée en {} plis",
        e.pairs, e.same_story_pairs, e.folds
    );
    let thresholds: Vec<String> = e.thresholds.iter().map(|t| format!("{t:.3}")).collect();
    println!(
        "Seuils choisis sur les autres plis : {}",
        thresholds.join(", ")
    );
    println!(
        "Mesuré sur les plis mis de côté : précision {:.3}, rappel {:.3}, F1 {:.3}",
        e.scores.precision, e.scores.recall, e.scores.f1
    );
    print_pair_errors(&e.errors_by_kind, &e.misclassified, verbose);
    Ok(())
}

/// The errors of a pair evaluation by kind of pair, and (verbose) each misclassified pair.
pub(crate) fn print_pair_errors(
    errors_by_kind: &std::collections::BTreeMap<String, crate::dedup::eval::KindErrors>,
    misclassified: &[crate::dedup::eval::Misclassified],
    verbose: bool,
) {
    println!("\nErreurs par type de paire :");
    for (kind, k) in errors_by_kind {
        println!(
            "  {kind:<28} {:>4} paires  {:>3} fusions à tort  {:>3} fusions manquées  {:>3} liées (suite de)",
            k.pairs, k.false_merges, k.missed_merges, k.linked
        );
    }
    if verbose {
        println!("\nPaires mal classées :");
        for m in misclassified {
            let what = if m.same_story { "manquée" } else { "à tort" };
            println!(
                "  {:<14} {:<28} similarité {:.3}  fusion {what}",
                m.id, m.kind, m.similarity
            );
        }
    }
}
