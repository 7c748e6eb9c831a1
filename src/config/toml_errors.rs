//! toml's and serde's messages in French, with a "did you mean" hint for unknown keys.

use super::suggest;

/// Turns a toml/serde message into French, with a "did you mean" hint for unknown keys.
pub(super) fn translate_toml_error(message: &str) -> (String, Option<String>) {
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let unknown = ticked.first().copied().unwrap_or(rest);
        let expected = &ticked[1.min(ticked.len())..];
        let hint = match suggest(unknown, expected) {
            Some(s) => format!("vouliez-vous dire `{s}` ?"),
            None => format!("clés possibles ici : {}", expected.join(", ")),
        };
        return (format!("clé inconnue `{unknown}`"), Some(hint));
    }
    if message.starts_with("missing field") {
        let field = ticked.first().copied().unwrap_or("?");
        return (format!("clé obligatoire manquante `{field}`"), None);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        // `invalid type: string "x", expected u32`
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let found_kind = found.split_whitespace().next().unwrap_or(found);
        let mut text = format!("type de valeur incorrect : {}", toml_kind(found_kind));
        if !expected.is_empty() {
            text.push_str(&format!(", attendu : {}", toml_kind(expected.trim())));
        }
        return (text, None);
    }
    if message.starts_with("duplicate key") {
        let key = ticked.first().copied().unwrap_or("?");
        return (format!("clé en double `{key}`"), None);
    }
    tracing::debug!("erreur TOML : {message}");
    let (what, expected) = message.split_once(", expected ").unwrap_or((message, ""));
    let what = what.trim();
    let french = TOML_SYNTAX
        .iter()
        .find(|(english, _)| *english == what)
        .map(|(_, french)| (*french).to_string())
        .unwrap_or_else(|| "syntaxe TOML invalide".to_string());
    let hint = (!expected.is_empty()).then(|| {
        format!(
            "attendu ici : {}",
            expected
                .replace("nothing", "rien")
                .replace(" or ", " ou ")
                .replace("etc", "…")
        )
    });
    (french, hint)
}

/// A TOML value kind as serde and toml name it, in French.
fn toml_kind(kind: &str) -> String {
    let word = kind.trim_start_matches("a ").trim_start_matches("an ");
    match word {
        "string" => "un texte entre guillemets".into(),
        "integer" | "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" => {
            "un nombre entier".into()
        }
        "float" | "f32" | "f64" => "un nombre".into(),
        "boolean" | "bool" => "true ou false".into(),
        "sequence" | "array" => "une liste [ … ]".into(),
        "map" | "table" => "une table".into(),
        "datetime" => "une date".into(),
        other => format!("`{other}`"),
    }
}

/// toml's syntax messages and their French.
const TOML_SYNTAX: &[(&str, &str)] = &[
    (
        "invalid basic string",
        "texte entre guillemets mal formé : guillemet fermant \" manquant, ou retour à la ligne dans le texte",
    ),
    (
        "invalid literal string",
        "texte entre apostrophes mal formé : apostrophe fermante ' manquante",
    ),
    (
        "invalid multi-line basic string",
        "texte sur plusieurs lignes mal formé : \"\"\" fermant manquant",
    ),
    (
        "invalid multi-line literal string",
        "texte sur plusieurs lignes mal formé : ''' fermant manquant",
    ),
    (
        "missing escaped value",
        "barre oblique inverse \\ seule dans un texte : écrivez \\\\",
    ),
    (
        "invalid escape sequence",
        "séquence \\ inconnue dans un texte : écrivez \\\\ pour une barre oblique inverse",
    ),
    (
        "invalid unquoted key",
        "clé invalide : lettres, chiffres, - et _ seulement, sinon entre guillemets",
    ),
    ("unquoted keys cannot be empty", "clé vide"),
    (
        "missing assignment between key-value pairs",
        "il manque « = valeur » après la clé",
    ),
    (
        "key with no value",
        "clé sans valeur : il manque « = valeur »",
    ),
    ("missing value for key", "clé sans valeur après le ="),
    ("missing value", "valeur manquante"),
    ("invalid value", "valeur invalide"),
    (
        "string values must be quoted",
        "un texte doit être entre guillemets \"…\"",
    ),
    (
        "missing comma between array elements",
        "virgule manquante entre deux éléments de la liste",
    ),
    (
        "missing comma between key-value pairs",
        "virgule manquante entre deux clés de la table",
    ),
    ("extra comma in array", "virgule en trop dans la liste"),
    (
        "extra comma in inline table",
        "virgule en trop dans la table",
    ),
    ("unclosed array", "liste non fermée : ] manquant"),
    ("unclosed table", "en-tête de table non fermé : ] manquant"),
    (
        "unclosed array table",
        "en-tête [[…]] non fermé : ]] manquant",
    ),
    (
        "unclosed inline table",
        "table { … } non fermée : } manquant",
    ),
    (
        "missing table open",
        "[ manquant au début de l'en-tête de table",
    ),
    ("invalid table header", "en-tête de table invalide"),
    ("unexpected content", "contenu inattendu à cet endroit"),
    (
        "unexpected key or value",
        "clé ou valeur inattendue à cet endroit",
    ),
    (
        "unexpected content between comment and newline",
        "contenu inattendu après le commentaire",
    ),
    ("extra assignment between key-value pairs", "= en trop"),
    ("extra `=`", "= en trop"),
    ("unexpected leading zero", "un nombre ne commence pas par 0"),
    (
        "`_` may only go between digits",
        "_ seulement entre deux chiffres",
    ),
    (
        "carriage return must be followed by newline",
        "retour chariot isolé (fichier enregistré avec des fins de ligne anciennes Mac ?)",
    ),
];
