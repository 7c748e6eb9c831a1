//! The rule lexer: rule text → tokens with byte offsets (words, phrases, operators, weights,
//! field prefixes), so that the parser can point errors at the right place.

use super::{DEFAULT_NEAR, Field, RuleError, err};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Phrase(String),
    Open,
    Close,
    And,
    Or,
    Not,
    /// `-` glued to the next term or group.
    Minus,
    Near(usize),
    Weight(f64),
    Field(Field),
    /// `=` glued to a word or a phrase: no stemming.
    Exact,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) offset: usize,
    /// End offset, to tell whether a `^` is glued to what precedes it.
    pub(super) end: usize,
}

/// Characters that end a word.
fn is_special(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '^' | '«' | '»' | '“' | '”')
}

fn closing_quote(c: char) -> Option<char> {
    match c {
        '"' => Some('"'),
        '«' => Some('»'),
        '“' => Some('”'),
        _ => None,
    }
}

fn field_of(prefix: &str) -> Option<Field> {
    match prefix.to_lowercase().as_str() {
        "title" | "titre" => Some(Field::Title),
        "summary" | "resume" | "résumé" => Some(Field::Summary),
        _ => None,
    }
}

pub(super) fn lex(src: &str) -> Result<Vec<Token>, RuleError> {
    let mut tokens = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        // `# ` starts a comment to the end of the line; `#MeToo` is a term.
        if c == '#' && src[i + 1..].chars().next().is_none_or(char::is_whitespace) {
            while let Some(&(_, c)) = chars.peek() {
                if c == '\n' {
                    break;
                }
                chars.next();
            }
            continue;
        }
        match c {
            '(' | ')' => {
                chars.next();
                let tok = if c == '(' { Tok::Open } else { Tok::Close };
                tokens.push(Token {
                    tok,
                    offset: i,
                    end: i + 1,
                });
            }
            '"' | '«' | '“' => {
                chars.next();
                let close = closing_quote(c).unwrap_or('"');
                let start = i + c.len_utf8();
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    // A straight quote also closes a typographic one: editors mix them.
                    if d == close || d == '"' {
                        end = Some((j, j + d.len_utf8()));
                        break;
                    }
                }
                let Some((content_end, after)) = end else {
                    return Err(err(
                        i,
                        "guillemet non fermé",
                        Some("fermez l'expression exacte : \"seuil de pauvreté\""),
                    ));
                };
                tokens.push(Token {
                    tok: Tok::Phrase(src[start..content_end].to_string()),
                    offset: i,
                    end: after,
                });
            }
            '»' | '”' => {
                return Err(err(
                    i,
                    "guillemet fermant sans guillemet ouvrant",
                    Some(
                        "une expression exacte s'écrit « seuil de pauvreté » ou \"seuil de pauvreté\"",
                    ),
                ));
            }
            '^' => {
                chars.next();
                let start = i + 1;
                let mut end = start;
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_ascii_digit() || d == '.' || d == ',' {
                        end = j + 1;
                        chars.next();
                    } else {
                        break;
                    }
                }
                let number = src[start..end].replace(',', ".");
                let weight = number
                    .parse::<f64>()
                    .ok()
                    .filter(|w| *w > 0.0 && *w <= 100.0);
                let Some(weight) = weight else {
                    return Err(err(
                        i,
                        if number.is_empty() {
                            "poids manquant après `^`".to_string()
                        } else {
                            format!("poids invalide `^{number}`")
                        },
                        Some(
                            "un poids est un nombre positif jusqu'à 100 : précarité^2, emprise^0.5",
                        ),
                    ));
                };
                tokens.push(Token {
                    tok: Tok::Weight(weight),
                    offset: i,
                    end,
                });
            }
            _ => {
                let start = i;
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if is_special(d) {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                let word = &src[start..end];
                lex_word(src, word, start, end, &mut tokens)?;
            }
        }
    }
    Ok(tokens)
}

/// A run of ordinary characters: an operator, field prefixes, `-` exclusions and a term.
/// A loop rather than recursion, so that `------a` cannot exhaust the stack.
fn lex_word(
    src: &str,
    mut word: &str,
    mut start: usize,
    end: usize,
    tokens: &mut Vec<Token>,
) -> Result<(), RuleError> {
    let push = |tokens: &mut Vec<Token>, tok, offset, end| tokens.push(Token { tok, offset, end });
    let glued_to_group = matches!(src[end..].chars().next(), Some('(' | '"' | '«' | '“'));
    loop {
        let keyword = match word {
            "AND" => Some(Tok::And),
            "OR" => Some(Tok::Or),
            "NOT" => Some(Tok::Not),
            "NEAR" => Some(Tok::Near(DEFAULT_NEAR)),
            _ => None,
        };
        if let Some(tok) = keyword {
            push(tokens, tok, start, end);
            return Ok(());
        }
        if let Some(n) = word.strip_prefix("NEAR/") {
            let distance = n.parse::<usize>().ok().filter(|d| (1..=1000).contains(d));
            return match distance {
                Some(d) => {
                    push(tokens, Tok::Near(d), start, end);
                    Ok(())
                }
                None => Err(err(
                    start,
                    format!("distance invalide `{word}`"),
                    Some("NEAR/5 : au plus 5 mots d'écart (un nombre entier de 1 à 1000)"),
                )),
            };
        }
        // `-` (exclusion) and `=` (exact word) glue to the term that follows.
        let prefix = match word.chars().next() {
            Some('-') => Some((
                Tok::Minus,
                "signe `-` isolé",
                "collez le `-` au terme à exclure : -bateau, ou écrivez NOT bateau",
            )),
            Some('=') => Some((
                Tok::Exact,
                "signe `=` isolé",
                "collez le `=` au mot à prendre tel quel : =islamiste",
            )),
            _ => None,
        };
        if let Some((tok, message, hint)) = prefix {
            let rest = &word[1..];
            if rest.is_empty() && !glued_to_group {
                return Err(err(start, message, Some(hint)));
            }
            push(tokens, tok, start, start + 1);
            word = rest;
            start += 1;
            if word.is_empty() {
                return Ok(());
            }
            continue;
        }
        if let Some((prefix, rest)) = word.split_once(':')
            && let Some(field) = field_of(prefix)
        {
            if rest.is_empty() && !glued_to_group {
                return Err(err(
                    start,
                    format!("champ `{prefix}:` sans terme"),
                    Some(
                        "collez le terme au champ : titre:attentat ou titre:\"violences conjugales\"",
                    ),
                ));
            }
            let colon_end = start + prefix.len() + 1;
            push(tokens, Tok::Field(field), start, colon_end);
            word = rest;
            start = colon_end;
            if word.is_empty() {
                return Ok(());
            }
            continue;
        }
        push(tokens, Tok::Word(word.to_string()), start, end);
        return Ok(());
    }
}
