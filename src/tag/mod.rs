//! Tagging: files each article under the dossiers whose rule it matches, with a score and the
//! reasons (the *why*), and under the Occitanie départements it names.
//!
//! - `rules`: the rule language (syntax in README.md, « Règles de marquage »), parser and matcher;
//! - `territories`: départements, towns and neighbourhoods of Occitanie;
//! - `eval`: precision / recall / F1 against a labelled TSV (`veille eval tags`), with k-fold
//!   cross-validation of the learned scorer;
//! - `learn`: the per-dossier scorer learned from curators' decisions (the "to check" band).
//!
//! Scoring, per dossier: the sum of the weights of the rule's matched terms, a term found in
//! the title counting `TITLE_FACTOR` times its weight; a source that lists the dossier in its
//! `dossiers` hint adds `SOURCE_PRIOR`, but only to an article that already matched a term:
//! a hint never tags alone. A term found only in the article's full text (fetched after the
//! feed pass) counts `BODY_FACTOR` times its weight: a long page names many side subjects.
//! The article is tagged when the score reaches the dossier's
//! `threshold` (`DEFAULT_THRESHOLD` if none). A dossier without `rules` tags nothing.

pub(crate) mod eval;
pub(crate) mod learn;
pub mod rules;
pub(crate) mod territories;

use std::collections::BTreeSet;

use crate::config::{Config, ConfigError, ConfigErrors};
use crate::model::{DossierTag, Match, Tagging};
use rules::{AnalysedField, Hit, Outcome, Rule, RuleError};

/// A term found in the title counts this many times its weight: a headline names its
/// subject, a summary also names the context.
const TITLE_FACTOR: f64 = 1.5;
/// A term found only in the article's full text counts this fraction of its weight: three
/// ordinary terms deep in the page weigh about one in the summary.
const BODY_FACTOR: f64 = 0.4;
/// What a source's dossier hint adds to an article that matched at least one term.
const SOURCE_PRIOR: f64 = 0.5;
/// Score needed to be tagged when the dossier sets no `threshold`: one ordinary term in the
/// summary, or a term of weight 0.7 or more in the title.
pub(crate) const DEFAULT_THRESHOLD: f64 = 1.0;

/// The tagging rules of every dossier, parsed once.
#[derive(Debug, Clone)]
pub struct Tagger {
    dossiers: Vec<DossierRule>,
}

#[derive(Debug, Clone)]
struct DossierRule {
    id: String,
    rule: Option<Rule>,
    threshold: f64,
}

/// A dossier's score for one article, tagged or not (the evaluation shows near misses).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DossierScore {
    pub(crate) dossier: String,
    pub(crate) score: f64,
    pub(crate) threshold: f64,
    pub(crate) tagged: bool,
    pub(crate) why: Vec<Match>,
}

impl Tagger {
    /// Parses every dossier's rule; all mistakes are reported at once, located in the file.
    pub fn new(config: &Config) -> Result<Tagger, ConfigErrors> {
        let mut dossiers = Vec::new();
        let mut errors = Vec::new();
        for (id, dossier) in &config.dossiers {
            let threshold = dossier.threshold.unwrap_or(DEFAULT_THRESHOLD);
            if !(threshold.is_finite() && threshold > 0.0) {
                errors.push(ConfigError {
                    message: format!("seuil invalide pour le dossier `{id}` : {threshold}"),
                    hint: Some(
                        "le seuil est un nombre positif, par exemple threshold = 1.5".into(),
                    ),
                    ..config.rule_error(id, 0, String::new(), None)
                });
                continue;
            }
            let rule = match dossier.rules.as_deref().map(rules::parse) {
                None => None,
                Some(Ok(rule)) => Some(rule),
                Some(Err(e)) => {
                    errors.push(locate(config, id, e));
                    continue;
                }
            };
            dossiers.push(DossierRule {
                id: id.clone(),
                rule,
                threshold,
            });
        }
        if errors.is_empty() {
            Ok(Tagger { dossiers })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// A tagger from `(dossier, rule, threshold)` triples, for tests and tools.
    #[cfg(test)]
    pub(crate) fn from_rules(
        rules: &[(&str, &str, Option<f64>)],
    ) -> Result<Tagger, (String, RuleError)> {
        let mut dossiers = Vec::new();
        for (id, text, threshold) in rules {
            let rule = rules::parse(text).map_err(|e| (id.to_string(), e))?;
            dossiers.push(DossierRule {
                id: id.to_string(),
                rule: Some(rule),
                threshold: threshold.unwrap_or(DEFAULT_THRESHOLD),
            });
        }
        Ok(Tagger { dossiers })
    }

    /// The dossiers that have a rule.
    pub(crate) fn dossiers(&self) -> impl Iterator<Item = &str> {
        self.dossiers
            .iter()
            .filter(|d| d.rule.is_some())
            .map(|d| d.id.as_str())
    }

    /// Every dossier with a rule that matched at least one term, tagged or not.
    pub(crate) fn scores(
        &self,
        title: &str,
        summary: &str,
        source_hints: &[String],
    ) -> Vec<DossierScore> {
        self.scores_with_body(title, summary, "", source_hints)
    }

    /// `scores` with the article's full text (`""` when there is none).
    fn scores_with_body(
        &self,
        title: &str,
        summary: &str,
        body: &str,
        source_hints: &[String],
    ) -> Vec<DossierScore> {
        // Each text is analysed once for all the rules.
        let mut fields = vec![
            AnalysedField::new("title", title, TITLE_FACTOR),
            AnalysedField::new("summary", summary, 1.0),
        ];
        if !body.trim().is_empty() {
            fields.push(AnalysedField::new("body", body, BODY_FACTOR));
        }
        let mut out = Vec::new();
        for dossier in &self.dossiers {
            let Some(rule) = &dossier.rule else { continue };
            let Outcome::Yes(mut score, hits) = rules::evaluate(rule, &fields) else {
                continue;
            };
            if score <= 0.0 {
                continue;
            }
            if source_hints.iter().any(|h| h == &dossier.id) {
                score += SOURCE_PRIOR;
            }
            out.push(DossierScore {
                dossier: dossier.id.clone(),
                score,
                threshold: dossier.threshold,
                // A hair of tolerance: 0.1 + 0.2 must reach a threshold of 0.3.
                tagged: score + 1e-9 >= dossier.threshold,
                why: why(&fields, hits),
            });
        }
        out
    }

    /// The dossiers and territories of one article.
    pub fn tag(&self, title: &str, summary: &str, source_hints: &[String]) -> Tagging {
        self.tag_with_body(title, summary, "", source_hints)
    }

    /// `tag` with the article's full text (`""` when there is none). Territories stay those
    /// of the title and summary: a page names places in passing.
    pub(crate) fn tag_with_body(
        &self,
        title: &str,
        summary: &str,
        body: &str,
        source_hints: &[String],
    ) -> Tagging {
        let dossiers = self
            .scores_with_body(title, summary, body, source_hints)
            .into_iter()
            .filter(|s| s.tagged)
            .map(|s| DossierTag {
                dossier: s.dossier,
                score: (s.score * 100.0).round() / 100.0,
                why: s.why,
            })
            .collect();
        Tagging {
            dossiers,
            territories: territories_of(title, summary),
        }
    }
}

/// The département slugs named in a title or a summary, sorted.
pub(crate) fn territories_of(title: &str, summary: &str) -> Vec<String> {
    let mut found = BTreeSet::new();
    territories::find_into(title, &mut found);
    territories::find_into(summary, &mut found);
    found.into_iter().map(str::to_string).collect()
}

/// Hits as `Match`es, with the words as they appear in the text, without repeats.
fn why(fields: &[AnalysedField], hits: Vec<Hit>) -> Vec<Match> {
    let mut out: Vec<Match> = Vec::new();
    for hit in hits {
        let Some(field) = fields.iter().find(|f| f.name == hit.field) else {
            continue;
        };
        let m = Match {
            term: hit.term.trim().to_string(),
            field: hit.field.to_string(),
            text: field
                .text
                .get(hit.start..hit.end)
                .unwrap_or_default()
                .to_string(),
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// A rule error as a configuration error: `feeds.toml:LINE:COL: règle du dossier `x`,
/// colonne N : message`.
fn locate(config: &Config, dossier: &str, e: RuleError) -> ConfigError {
    let located = config.rule_error(dossier, e.offset, String::new(), None);
    ConfigError {
        message: format!(
            "règle du dossier `{dossier}`, colonne {} : {}",
            located.column, e.message
        ),
        hint: e.hint,
        ..located
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagger(rules: &[(&str, &str, Option<f64>)]) -> Tagger {
        Tagger::from_rules(rules).unwrap()
    }

    fn tagged(t: &Tagger, title: &str, summary: &str, hints: &[&str]) -> Vec<String> {
        let hints: Vec<String> = hints.iter().map(|h| h.to_string()).collect();
        t.tag(title, summary, &hints)
            .dossiers
            .into_iter()
            .map(|d| d.dossier)
            .collect()
    }

    #[test]
    fn body_terms_count_less_and_say_so() {
        let t = tagger(&[("pauvrete", "pauvreté titre:précarité", None)]);
        // One term deep in the page is not enough; in the summary it is.
        assert!(
            t.tag_with_body("Un titre", "", "La pauvreté recule.", &[])
                .dossiers
                .is_empty()
        );
        assert_eq!(
            tagged(&t, "Un titre", "La pauvreté recule.", &[]),
            ["pauvrete"]
        );
        let scores = t.scores_with_body("Un titre", "", "La pauvreté recule.", &[]);
        assert!((scores[0].score - BODY_FACTOR).abs() < 1e-9);
        assert_eq!(scores[0].why[0].field_fr(), "dans l'article");
        assert_eq!(scores[0].why[0].text, "pauvreté");
        // A term also in the title counts at the title's factor, once.
        let scores = t.scores_with_body("Pauvreté", "", "La pauvreté recule.", &[]);
        assert!((scores[0].score - TITLE_FACTOR).abs() < 1e-9);
        // `titre:` terms never match the page.
        assert!(
            t.scores_with_body("Un titre", "", "précarité", &[])
                .is_empty()
        );
        // Three ordinary terms in the page reach the default threshold.
        let t = tagger(&[("pauvrete", "pauvreté précarité exclusion", None)]);
        let body = "Pauvreté, précarité et exclusion progressent.";
        assert_eq!(t.tag_with_body("Un titre", "", body, &[]).dossiers.len(), 1);
    }

    #[test]
    fn threshold_title_factor_and_why() {
        let t = tagger(&[
            (
                "pauvrete",
                "pauvreté précarité^0.5 \"seuil de pauvreté\"^2",
                None,
            ),
            (
                "egalite-femmes-hommes",
                "\"violences conjugales\"",
                Some(1.5),
            ),
        ]);
        // One ordinary term in the summary reaches the default threshold.
        assert_eq!(
            tagged(&t, "Un rapport", "La pauvreté progresse", &[]),
            ["pauvrete"]
        );
        // A weak term alone does not, even in the title (0.5 × 1.5).
        assert!(tagged(&t, "La précarité des étudiants", "", &[]).is_empty());
        // The dossier's own threshold: title 1.5 reaches it, summary 1.0 does not.
        assert_eq!(
            tagged(&t, "Violences conjugales : un procès", "", &[]),
            ["egalite-femmes-hommes"]
        );
        assert!(tagged(&t, "Un procès", "violences conjugales", &[]).is_empty());
        let tagging = t.tag(
            "Sous le seuil de pauvreté",
            "Les PAUVRETÉS d’aujourd’hui",
            &[],
        );
        let tag = &tagging.dossiers[0];
        assert_eq!(tag.score, 2.0 * 1.5 + 1.5);
        assert_eq!(
            tag.why,
            vec![
                Match {
                    term: "pauvreté".into(),
                    field: "title".into(),
                    text: "pauvreté".into()
                },
                Match {
                    term: "pauvreté".into(),
                    field: "summary".into(),
                    text: "PAUVRETÉS".into()
                },
                Match {
                    term: "seuil de pauvreté".into(),
                    field: "title".into(),
                    text: "seuil de pauvreté".into()
                },
            ]
        );
    }

    #[test]
    fn source_hint_is_a_prior_not_a_tag() {
        let t = tagger(&[("pauvrete", "pauvreté précarité^0.5", None)]);
        // The hint alone tags nothing.
        assert!(tagged(&t, "Le marché de Noël", "", &["pauvrete"]).is_empty());
        // A weak term plus the hint does: 0.5 × 1.5 + 0.5 ≥ 1.
        assert!(tagged(&t, "La précarité des étudiants", "", &[]).is_empty());
        assert_eq!(
            tagged(&t, "La précarité des étudiants", "", &["pauvrete"]),
            ["pauvrete"]
        );
        // An exclusion that fires gives no score, and the hint cannot revive it.
        let t = tagger(&[("laicite", "voile -bateau", None)]);
        assert!(tagged(&t, "Le voile du bateau", "", &["laicite"]).is_empty());
    }

    #[test]
    fn territories_come_with_the_tagging() {
        let t = tagger(&[("pauvrete", "pauvreté", None)]);
        let tagging = t.tag(
            "Toulouse : la pauvreté au Mirail",
            "Un habitant d'Auch",
            &[],
        );
        assert_eq!(tagging.territories, ["gers", "haute-garonne"]);
    }

    #[test]
    fn rule_errors_name_the_dossier_and_the_column() {
        let text = "[dossiers.pauvrete]\ntitle = \"P\"\nrules = '''\npauvreté\n  (précarité OR misère\n'''\n";
        let config = crate::config::parse(text, "feeds.toml").unwrap();
        let errors = Tagger::new(&config).unwrap_err().0;
        assert_eq!(errors.len(), 1);
        let e = &errors[0];
        assert_eq!((e.line, e.column), (5, 3), "{e}");
        assert_eq!(
            e.message,
            "règle du dossier `pauvrete`, colonne 3 : parenthèse fermante manquante"
        );
        assert!(e.hint.is_some());
        // A dossier without rules tags nothing.
        let config =
            crate::config::parse("[dossiers.pauvrete]\ntitle = \"P\"\n", "feeds.toml").unwrap();
        let t = Tagger::new(&config).unwrap();
        assert_eq!(t.dossiers().count(), 0);
        assert!(t.tag("pauvreté", "", &[]).dossiers.is_empty());
    }

    #[test]
    fn the_project_rules_parse() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
        let config = crate::config::load(&path).unwrap();
        let t = Tagger::new(&config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.dossiers().count(), 10);
    }
}
