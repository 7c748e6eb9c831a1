//! Tests of the rule language: lexing and parsing errors, precedence, scores, hits.

use super::*;
use proptest::prelude::*;

fn ok(src: &str) -> Rule {
    parse(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"))
}

fn error(src: &str) -> RuleError {
    parse(src).expect_err(src)
}

/// Score of a rule on a title and a summary (title factor 1.5), None if no match.
fn score(rule: &str, title: &str, summary: &str) -> Option<f64> {
    let fields = [
        AnalysedField::new("title", title, 1.5),
        AnalysedField::new("summary", summary, 1.0),
    ];
    match evaluate(&ok(rule), &fields) {
        Outcome::Yes(s, _) => Some(s),
        _ => None,
    }
}

#[test]
fn terms_phrases_weights_and_fields() {
    let rule = ok(r#"pauvreté précarité^2 "seuil de pauvreté"^3 titre:attentat"#);
    let terms = rule.terms();
    assert_eq!(terms.len(), 4);
    assert_eq!(terms[1].weight, 2.0);
    assert_eq!(terms[2].text, "seuil de pauvreté");
    assert_eq!(
        terms[2].stems,
        vec![("seuil".to_string(), 0), ("pauvret".to_string(), 2)]
    );
    assert_eq!(terms[3].field, Field::Title);
    let Node::Any(items) = &rule.root else {
        panic!("juxtaposition is OR")
    };
    assert_eq!(items.len(), 4);
    // French quotes and a decimal comma.
    let rule = ok("« violences conjugales »^1,5");
    assert_eq!(rule.terms()[0].weight, 1.5);
    assert_eq!(rule.terms()[0].text, " violences conjugales ");
}

#[test]
fn precedence_or_and_near_not() {
    let rule = ok("chat chien AND loup NEAR/3 ours -renard");
    let Node::Any(items) = &rule.root else {
        panic!()
    };
    assert_eq!(items.len(), 3);
    let Node::All(all) = &items[1] else { panic!() };
    assert!(matches!(all[1], Node::Near { distance: 3, .. }));
    assert!(matches!(items[2], Node::Not(_)));
    assert!(matches!(
        ok("(chat OR chien)^2").root,
        Node::Weighted(_, w) if w == 2.0
    ));
    assert!(matches!(
        ok("chat NEAR chien").root,
        Node::Near { distance: 10, .. }
    ));
    // Comments, and #MeToo as a term.
    let rule = ok("# un commentaire\n#MeToo # autre commentaire\n");
    assert_eq!(rule.terms().len(), 1);
    assert_eq!(rule.terms()[0].stems[0].0, "metoo");
    // Lowercase `or` is a word (French « or »), not an operator.
    assert_eq!(ok("or").terms().len(), 1);
}

#[test]
fn errors_have_offsets_and_french_messages() {
    let e = error("pauvreté (précarité OR misère");
    assert_eq!(e.offset, "pauvreté ".len());
    assert_eq!(e.message, "parenthèse fermante manquante");
    let e = error("chat \"seuil de pauvreté");
    assert_eq!((e.offset, e.message.as_str()), (5, "guillemet non fermé"));
    let e = error("violences AND");
    assert_eq!(e.message, "opérateur AND sans terme à droite");
    assert_eq!(e.offset, "violences ".len());
    assert_eq!(
        error("AND chat").message,
        "opérateur AND sans terme à gauche"
    );
    assert_eq!(error("chat OR").message, "opérateur OR sans terme à droite");
    assert_eq!(error("OR chat").message, "opérateur OR sans terme à gauche");
    assert_eq!(error("chat^x").message, "poids manquant après `^`");
    let e = error("précarité^0");
    assert_eq!(
        (e.offset, e.message.as_str()),
        ("précarité".len(), "poids invalide `^0`")
    );
    assert!(e.hint.is_some());
    assert_eq!(error("chat ^2").message, "poids `^` détaché du terme");
    assert_eq!(
        error("chat)").message,
        "parenthèse fermante sans parenthèse ouvrante"
    );
    assert_eq!(error("()").message, "parenthèses vides");
    assert_eq!(error("\"\"").message, "expression vide");
    assert!(error("le").message.contains("mots vides"));
    assert_eq!(error("chat - chien").message, "signe `-` isolé");
    assert_eq!(error("NOT").message, "exclusion sans terme");
    assert_eq!(
        error("chat NEAR/0 chien").message,
        "distance invalide `NEAR/0`"
    );
    assert!(
        error("(chat AND chien) NEAR loup")
            .message
            .starts_with("NEAR ne relie")
    );
    assert_eq!(error("titre: chat").message, "champ `titre:` sans terme");
    assert_eq!(error("  # rien\n").message, "règle vide");
    assert_eq!(error(&"(".repeat(200)).message, "règle trop imbriquée");
}

#[test]
fn accents_case_elisions_plurals() {
    assert!(score("état", "L’État s'engage", "").is_some());
    assert!(score("Sécurité", "securite routiere", "").is_some());
    assert!(score("discrimination", "", "Les discriminations à l'embauche").is_some());
    assert!(score("LAÏCITÉ", "la laicite a l'ecole", "").is_some());
    assert!(score("sans-abri", "Un sans abri retrouvé", "").is_some());
    assert!(score("viol", "Condamné pour violences", "").is_none());
}

#[test]
fn exact_words_and_edge_stop_words() {
    // `islamiste` stems to `islam`; `=islamiste` does not.
    assert!(score("islamiste", "L'islam en France", "").is_some());
    assert!(score("=islamiste", "L'islam en France", "").is_none());
    assert!(score("=islamiste", "Un attentat ISLAMISTE", "").is_some());
    assert!(score("=\"sans papiers\"", "Les sans-papiers", "").is_some());
    // `sans` is a stop word, yet `sans-abri` must not match any `abri`.
    assert!(score("sans-abri", "Un abri de jardin", "").is_none());
    assert!(score("sans-abri", "Les sans abri du centre", "").is_some());
    assert_eq!(error("= x").message, "signe `=` isolé");
    assert!(error("=(chat)").message.starts_with("`=` ne s'applique"));
    let fields = [AnalysedField::new("title", "Trois sans-abri", 1.0)];
    let Outcome::Yes(_, hits) = evaluate(&ok("sans-abri"), &fields) else {
        panic!()
    };
    assert_eq!(&"Trois sans-abri"[hits[0].start..hits[0].end], "sans-abri");
}

#[test]
fn phrases_keep_stop_word_gaps() {
    let rule = "\"seuil de pauvreté\"";
    assert!(score(rule, "Sous le seuil de pauvreté", "").is_some());
    assert!(score(rule, "Le seuil des pauvretés", "").is_some());
    assert!(score(rule, "seuil pauvreté", "").is_none());
    assert!(score(rule, "la pauvreté, seuil", "").is_none());
    assert!(score("\"violences conjugales\"", "violences très conjugales", "").is_none());
}

#[test]
fn weights_title_factor_and_sum() {
    assert_eq!(score("chat^2", "", "chat"), Some(2.0));
    assert_eq!(score("chat^2", "chat", "chat"), Some(3.0));
    assert_eq!(
        score("pauvreté précarité", "", "pauvreté et précarité"),
        Some(2.0)
    );
    assert_eq!(
        score("(pauvreté précarité)^0.5", "", "pauvreté précarité"),
        Some(1.0)
    );
    assert_eq!(score("summary:pauvreté", "pauvreté", ""), None);
    assert_eq!(score("titre:(pauvreté OR misère)", "misère", ""), Some(1.5));
}

#[test]
fn one_word_counts_once_in_a_list() {
    // Two forms of one stem, and a word inside a phrase.
    assert_eq!(score("femme femmes", "", "une femme"), Some(1.0));
    assert_eq!(score("femme^0.5 femmes^2", "", "des femmes"), Some(2.0));
    assert_eq!(
        score(
            "précarité \"grande précarité\"^2",
            "",
            "la grande précarité"
        ),
        Some(2.0)
    );
    // Elsewhere in the text, both count.
    assert_eq!(
        score(
            "précarité \"grande précarité\"^2",
            "précarité",
            "la grande précarité"
        ),
        Some(3.5)
    );
    // Different words add up.
    assert_eq!(
        score("pauvreté précarité", "", "pauvreté, précarité"),
        Some(2.0)
    );
}

#[test]
fn and_not_and_local_exclusions() {
    assert_eq!(score("femme AND violence", "", "une femme"), None);
    assert_eq!(
        score("femme AND violence", "", "violences faites à une femme"),
        Some(2.0)
    );
    // Top-level exclusion kills the rule.
    assert_eq!(score("voile -bateau", "", "le voile à l'école"), Some(1.0));
    assert_eq!(score("voile -bateau", "", "la voile du bateau"), None);
    assert_eq!(score("voile NOT bateau", "", "la voile du bateau"), None);
    // A group's exclusion only removes the group.
    assert_eq!(
        score("(voile -bateau) laïcité", "", "voile, bateau et laïcité"),
        Some(1.0)
    );
    assert_eq!(score("chat AND NOT chien", "", "chat"), Some(1.0));
    assert_eq!(score("chat AND NOT chien", "", "chat chien"), None);
    assert_eq!(score("-chien", "", "chat"), Some(0.0));
}

#[test]
fn proximity() {
    let rule = "femme NEAR/3 (violence OR coups)";
    assert_eq!(score(rule, "", "une femme victime de violences"), Some(2.0));
    assert_eq!(score(rule, "", "violences : une femme"), Some(2.0));
    assert_eq!(
        score(
            rule,
            "",
            "une femme qui marchait dans la rue a vu des violences"
        ),
        None
    );
    // Both sides must be in the same field.
    assert_eq!(score(rule, "femme", "violences"), None);
    assert_eq!(
        score(
            "\"grande précarité\" NEAR/2 hiver",
            "",
            "grande précarité cet hiver"
        ),
        Some(2.0)
    );
}

#[test]
fn hits_point_at_the_original_text() {
    let text = "Les Discriminations à l’embauche";
    let fields = [AnalysedField::new("summary", text, 1.0)];
    let Outcome::Yes(_, hits) = evaluate(&ok("\"discrimination à l'embauche\""), &fields) else {
        panic!()
    };
    assert_eq!(
        &text[hits[0].start..hits[0].end],
        "Discriminations à l’embauche"
    );
}

fn token_soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a",
        "pauvreté",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "NEAR/3",
        "NEAR/x",
        "(",
        ")",
        "\"",
        "«",
        "»",
        "^2",
        "^",
        "-",
        "titre:",
        "summary:",
        "# ",
        "\n",
        " ",
        "le",
        "^0,5",
        "l’État",
        "-(",
        "x^",
        "é",
        "=",
        "=x",
        "sans-abri",
    ]);
    prop::collection::vec(piece, 0..24).prop_map(|v| v.join(" "))
}

proptest! {
    #[test]
    fn never_panics_on_any_string(s in "\\PC{0,60}") {
        let _ = parse(&s);
    }

    #[test]
    fn never_panics_on_token_soup(s in token_soup(), glued in token_soup()) {
        if let Ok(rule) = parse(&s) {
            let fields = [AnalysedField::new("title", "a pauvreté le État", 1.5)];
            let _ = evaluate(&rule, &fields);
        }
        let _ = parse(&glued.replace(' ', ""));
    }

    #[test]
    fn error_offsets_are_char_boundaries(s in "\\PC{0,40}") {
        if let Err(e) = parse(&s) {
            prop_assert!(e.offset <= s.len() && s.is_char_boundary(e.offset));
        }
    }
}
