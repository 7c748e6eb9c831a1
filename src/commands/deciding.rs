//! `veille decide STORY garder|rejeter|etoiler [--dossier ID]`: a curator's decision on a
//! story, for people and for programs.

use std::fmt;
use std::path::Path;

use chrono::Utc;

use super::report::{CommandError, Report};
use super::{NO_CURATOR, dossier_refusal, known_curator};
use crate::config::Config;
use crate::model::DecisionState;
use crate::store::{DecisionError, Store};

/// `veille decide STORY keep|reject|star [--dossier ID]`.
pub(crate) async fn decide(
    config: &Config,
    archive: &Path,
    story: i64,
    action: &str,
    dossier: Option<&str>,
) -> Result<Decided, CommandError> {
    let state = match action {
        "keep" | "garder" => DecisionState::Kept,
        "reject" | "rejeter" => DecisionState::Rejected,
        "star" | "etoiler" | "étoiler" => DecisionState::Starred,
        other => {
            return Err(CommandError::Usage(format!(
                "action inconnue « {other} » : garder, rejeter ou etoiler"
            )));
        }
    };
    if let Some(refusal) = dossier_refusal(config, dossier) {
        return Err(CommandError::Usage(refusal));
    }
    let curator = known_curator().ok_or_else(|| CommandError::Usage(NO_CURATOR.into()))?;
    let store = Store::open(archive).await?;
    let dossiers = match store
        .decide(story, dossier, state, &curator, Utc::now())
        .await
    {
        Ok(dossiers) => dossiers,
        Err(DecisionError::UnknownStory(s)) => {
            return Err(CommandError::Usage(format!(
                "histoire inconnue : {s} (voir `veille articles`)"
            )));
        }
        Err(DecisionError::Store(e)) => return Err(e.into()),
    };
    // The decision is stored; a band not refreshed now is at the next pass.
    if let Err(e) = crate::learning::refresh(&store, Utc::now()).await {
        eprintln!("attention : bande « à vérifier » non mise à jour : {e}");
    }
    Ok(Decided {
        curator,
        dossiers,
        state,
        story,
    })
}

/// A decision stored: one JSON line, or one French sentence.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Decided {
    curator: String,
    /// The dossiers it applies to; `[""]` for a story outside any dossier.
    dossiers: Vec<String>,
    state: DecisionState,
    story: i64,
}

impl Report for Decided {}

impl fmt::Display for Decided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.state {
            DecisionState::Kept => "gardée",
            DecisionState::Rejected => "rejetée",
            DecisionState::Starred => "étoilée",
            DecisionState::New => "nouvelle",
        };
        let where_ = if self.dossiers == [String::new()] {
            "hors dossier".to_string()
        } else {
            self.dossiers.join(", ")
        };
        write!(
            f,
            "Histoire {} {label} ({where_}) par {}",
            self.story, self.curator
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_reads_as_a_sentence_and_as_one_json_line() {
        let decided = Decided {
            curator: "marie".into(),
            dossiers: vec!["logement".into(), "pauvrete".into()],
            state: DecisionState::Starred,
            story: 42,
        };
        assert_eq!(
            decided.to_string(),
            "Histoire 42 étoilée (logement, pauvrete) par marie"
        );
        let before = serde_json::json!({"story": 42, "state": DecisionState::Starred,
            "dossiers": decided.dossiers, "curator": "marie"});
        assert_eq!(serde_json::to_string(&decided).unwrap(), before.to_string());
        assert_eq!(
            before.to_string(),
            "{\"curator\":\"marie\",\"dossiers\":[\"logement\",\"pauvrete\"],\
             \"state\":\"starred\",\"story\":42}"
        );
        let outside = Decided {
            curator: "paul".into(),
            dossiers: vec![String::new()],
            state: DecisionState::Rejected,
            story: 7,
        };
        assert_eq!(
            outside.to_string(),
            "Histoire 7 rejetée (hors dossier) par paul"
        );
    }
}
