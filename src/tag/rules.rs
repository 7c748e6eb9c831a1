//! The dossier rule language: parser and matcher.
//!
//! A rule is a list of terms, mostly keywords, that add up to a score. The full syntax, for
//! the people who edit `feeds.toml`, is in README.md (« Règles de marquage des dossiers »); in short:
//!
//! ```text
//! pauvreté précarité^2 "seuil de pauvreté"^3     whitespace = OR: each matched term adds its weight
//! violence AND femme                              both, the score is the sum
//! voile -bateau   NOT régate                      exclusion: the enclosing group does not count
//! (radicalisation OR islamisme)^2                 a group, weighted
//! femme NEAR/5 violence                           at most 5 words apart (NEAR alone = NEAR/10)
//! titre:attentat                                  only in the title (title:, summary:, résumé:)
//! « violences conjugales »                        phrase; also "…" and “…”
//! =REP  ="sans papiers"                           folded words, no stemming (REP ≠ repas)
//! # a comment to the end of the line ("# " with a space; #MeToo is a term)
//! ```
//!
//! Precedence, loosest first: OR and juxtaposition, then AND, then NEAR, then NOT / `-`.
//! Terms and the text are analysed with the same French analyser (`text::stems`), so case,
//! accents, elisions and plurals do not matter, and stop words leave the same gaps in both.
//! A term that analyses to several words (`sans-abri`, `16-18`) is a phrase; stop words at
//! its edges must be there too (`sans-abri` needs `sans`, the analyser would drop it).
//!
//! Scores: a term counts once per article, its weight times the factor of the best field
//! where it occurs; OR and AND add up their members; in one list, terms that match the same
//! words of the text count once (the widest, then the heaviest), so that `femme femmes` or
//! `précarité "grande précarité"` do not count a word twice. An exclusion that fires makes
//! its enclosing list (or the whole rule) not match.
//!
//! The parser never panics: every input gives a rule or a `RuleError` with a byte offset.

use std::collections::HashMap;

use crate::text;

/// Default distance of a bare `NEAR`.
pub const DEFAULT_NEAR: usize = 10;
/// Nesting depth beyond which a rule is refused, so that no input can exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A mistake in a rule, located by its byte offset in the rule text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub offset: usize,
    /// In French, for the people who edit `feeds.toml`.
    pub message: String,
    pub hint: Option<String>,
}

/// Where a term may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Any,
    Title,
    Summary,
}

/// A word or a phrase of a rule, analysed once when the rule is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// As written in the rule (quotes removed), for the `why` of a tag.
    pub text: String,
    pub weight: f64,
    pub field: Field,
    /// `=mot`: folded words compared without stemming (stop words included).
    pub exact: bool,
    /// The words to find and their position relative to the first one: stems (stop words
    /// leave gaps), or folded words for an exact term.
    pub stems: Vec<(String, usize)>,
    /// Stop words at the edges of a stemmed term, which must be there too (folded, with
    /// their position relative to the first stem): `sans-abri` needs `sans` before `abri`.
    pub edges: Vec<(isize, String)>,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Term(Term),
    /// OR, explicit or by juxtaposition. `Not` children are exclusions for the whole group.
    Any(Vec<Node>),
    All(Vec<Node>),
    Not(Box<Node>),
    /// Both sides within `distance` words; sides are terms or groups of terms.
    Near {
        left: Box<Node>,
        right: Box<Node>,
        distance: usize,
    },
    /// A parenthesised group with a weight: its score is multiplied.
    Weighted(Box<Node>, f64),
}

/// A rule as read from `feeds.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub root: Node,
}

impl Rule {
    /// Every term of the rule, in order (for documentation and tests).
    pub fn terms(&self) -> Vec<&Term> {
        fn walk<'a>(node: &'a Node, out: &mut Vec<&'a Term>) {
            match node {
                Node::Term(t) => out.push(t),
                Node::Any(v) | Node::All(v) => v.iter().for_each(|n| walk(n, out)),
                Node::Not(n) | Node::Weighted(n, _) => walk(n, out),
                Node::Near { left, right, .. } => {
                    walk(left, out);
                    walk(right, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
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
struct Token {
    tok: Tok,
    offset: usize,
    /// End offset, to tell whether a `^` is glued to what precedes it.
    end: usize,
}

fn err(offset: usize, message: impl Into<String>, hint: Option<&str>) -> RuleError {
    RuleError {
        offset,
        message: message.into(),
        hint: hint.map(str::to_string),
    }
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

fn lex(src: &str) -> Result<Vec<Token>, RuleError> {
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

// ---------------------------------------------------------------------------------------
// Parser (recursive descent)
// ---------------------------------------------------------------------------------------

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// Parses a rule. An empty rule (or only comments) is an error: a dossier without rules
/// simply has no `rules` key.
pub fn parse(src: &str) -> Result<Rule, RuleError> {
    let tokens = lex(src)?;
    if tokens.is_empty() {
        return Err(err(
            0,
            "règle vide",
            Some("écrivez au moins un terme, ou retirez la clé `rules`"),
        ));
    }
    let mut parser = Parser {
        src,
        tokens,
        pos: 0,
        depth: 0,
    };
    let root = parser.list()?;
    if let Some(token) = parser.peek() {
        // `list` stops only at `)` or at the end.
        return Err(err(
            token.offset,
            "parenthèse fermante sans parenthèse ouvrante",
            Some("retirez cette `)` ou ajoutez la `(` qui lui correspond"),
        ));
    }
    Ok(Rule { root })
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    fn end_offset(&self) -> usize {
        self.src.len()
    }

    fn enter(&mut self, offset: usize) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                offset,
                "règle trop imbriquée",
                Some("simplifiez les parenthèses ou les NOT en cascade"),
            ));
        }
        Ok(())
    }

    /// After a binary operator (at `offset`): a term must follow, not the end, `)` or
    /// another operator.
    fn expect_right_operand(
        &self,
        offset: usize,
        operator: &str,
        example: &str,
    ) -> Result<(), RuleError> {
        if matches!(
            self.peek_tok(),
            None | Some(Tok::Close | Tok::Or | Tok::And)
        ) {
            return Err(RuleError {
                offset,
                message: format!("opérateur {operator} sans terme à droite"),
                hint: Some(format!("{operator} relie deux termes : {example}")),
            });
        }
        Ok(())
    }

    /// list := and ( [OR] and )*
    fn list(&mut self) -> Result<Node, RuleError> {
        let mut items = Vec::new();
        loop {
            match self.peek_tok() {
                None | Some(Tok::Close) => break,
                Some(Tok::Or) => {
                    let offset = self.peek().map_or(0, |t| t.offset);
                    if items.is_empty() {
                        return Err(err(
                            offset,
                            "opérateur OR sans terme à gauche",
                            Some("OR relie deux termes : pauvreté OR précarité"),
                        ));
                    }
                    self.pos += 1;
                    self.expect_right_operand(offset, "OR", "pauvreté OR précarité")?;
                }
                Some(_) => items.push(self.and()?),
            }
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Node::Any(items)
        })
    }

    /// and := near ( AND near )*
    fn and(&mut self) -> Result<Node, RuleError> {
        let mut items = vec![self.near()?];
        while let Some(Tok::And) = self.peek_tok() {
            let offset = self.peek().map_or(0, |t| t.offset);
            self.pos += 1;
            self.expect_right_operand(offset, "AND", "violences AND femmes")?;
            items.push(self.near()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Node::All(items)
        })
    }

    /// near := unary ( NEAR/n unary )?
    fn near(&mut self) -> Result<Node, RuleError> {
        let start = self.peek().map_or(0, |t| t.offset);
        let left = self.unary()?;
        let Some(Tok::Near(distance)) = self.peek_tok().cloned() else {
            return Ok(left);
        };
        let near_offset = self.peek().map_or(0, |t| t.offset);
        self.pos += 1;
        self.expect_right_operand(near_offset, "NEAR", "femme NEAR/5 violence")?;
        let right_start = self.peek().map_or(0, |t| t.offset);
        let right = self.unary()?;
        for (side, offset) in [(&left, start), (&right, right_start)] {
            if !positional(side) {
                return Err(err(
                    offset,
                    "NEAR ne relie que des termes, des expressions ou des groupes OR",
                    Some("exemple : (femme OR femmes) NEAR/5 (violence OR coups)"),
                ));
            }
        }
        if let Some(Tok::Near(_)) = self.peek_tok() {
            return Err(err(
                self.peek().map_or(0, |t| t.offset),
                "deux NEAR à la suite",
                Some("NEAR relie deux termes ; groupez avec AND : (a NEAR b) AND (b NEAR c)"),
            ));
        }
        Ok(Node::Near {
            left: Box::new(left),
            right: Box::new(right),
            distance,
        })
    }

    /// unary := (NOT | -) unary | primary
    fn unary(&mut self) -> Result<Node, RuleError> {
        match self.peek().cloned() {
            Some(Token {
                tok: Tok::Not | Tok::Minus,
                offset,
                ..
            }) => {
                self.pos += 1;
                if matches!(
                    self.peek_tok(),
                    None | Some(Tok::Close | Tok::Or | Tok::And)
                ) {
                    return Err(err(
                        offset,
                        "exclusion sans terme",
                        Some("NOT bateau ou -bateau exclut les textes qui contiennent « bateau »"),
                    ));
                }
                self.enter(offset)?;
                let inner = self.unary();
                self.depth -= 1;
                Ok(Node::Not(Box::new(inner?)))
            }
            _ => self.primary(),
        }
    }

    /// primary := [field] (WORD | PHRASE | '(' list ')') [^weight]
    fn primary(&mut self) -> Result<Node, RuleError> {
        let Some(token) = self.peek().cloned() else {
            return Err(err(
                self.end_offset(),
                "terme attendu en fin de règle",
                None,
            ));
        };
        self.pos += 1;
        let mut node = match token.tok {
            Tok::Field(field) => {
                self.enter(token.offset)?;
                let inner = self.primary();
                self.depth -= 1;
                return Ok(with_field(inner?, field));
            }
            Tok::Word(word) => self.term(word, token.offset, false, false)?,
            Tok::Phrase(phrase) => self.term(phrase, token.offset, true, false)?,
            Tok::Exact => {
                let (text, offset, quoted) = match self.peek().cloned() {
                    Some(Token {
                        tok: Tok::Word(text),
                        offset,
                        ..
                    }) if offset == token.end => (text, offset, false),
                    Some(Token {
                        tok: Tok::Phrase(text),
                        offset,
                        ..
                    }) if offset == token.end => (text, offset, true),
                    _ => {
                        return Err(err(
                            token.offset,
                            "`=` ne s'applique qu'à un mot ou une expression",
                            Some("=islamiste ou =\"sans papiers\""),
                        ));
                    }
                };
                self.pos += 1;
                self.term(text, offset, quoted, true)?
            }
            Tok::Open => {
                self.enter(token.offset)?;
                if let Some(Tok::Close) = self.peek_tok() {
                    return Err(err(
                        token.offset,
                        "parenthèses vides",
                        Some("écrivez au moins un terme entre les parenthèses"),
                    ));
                }
                let inner = self.list()?;
                self.depth -= 1;
                match self.peek_tok() {
                    Some(Tok::Close) => self.pos += 1,
                    _ => {
                        return Err(err(
                            token.offset,
                            "parenthèse fermante manquante",
                            Some("ajoutez la `)` qui ferme cette parenthèse"),
                        ));
                    }
                }
                inner
            }
            Tok::Close => {
                return Err(err(
                    token.offset,
                    "parenthèse fermante sans parenthèse ouvrante",
                    Some("retirez cette `)` ou ajoutez la `(` qui lui correspond"),
                ));
            }
            Tok::And | Tok::Or => {
                let op = if token.tok == Tok::And { "AND" } else { "OR" };
                return Err(err(
                    token.offset,
                    format!("opérateur {op} sans terme à gauche"),
                    Some("un opérateur relie deux termes : violences AND femmes"),
                ));
            }
            Tok::Near(_) => {
                return Err(err(
                    token.offset,
                    "opérateur NEAR sans terme à gauche",
                    Some("NEAR relie deux termes : femme NEAR/5 violence"),
                ));
            }
            Tok::Weight(_) => {
                return Err(err(
                    token.offset,
                    "poids `^` sans terme",
                    Some("collez le poids au terme : précarité^2"),
                ));
            }
            Tok::Not | Tok::Minus => {
                return Err(err(token.offset, "exclusion inattendue ici", None));
            }
        };
        if let Some(Token {
            tok: Tok::Weight(weight),
            offset,
            ..
        }) = self.peek().cloned()
        {
            let previous_end = self.tokens[self.pos - 1].end;
            if offset != previous_end {
                return Err(err(
                    offset,
                    "poids `^` détaché du terme",
                    Some("collez le poids au terme, sans espace : précarité^2"),
                ));
            }
            self.pos += 1;
            node = match node {
                Node::Term(mut term) => {
                    term.weight = weight;
                    Node::Term(term)
                }
                other => Node::Weighted(Box::new(other), weight),
            };
        }
        Ok(node)
    }

    fn term(
        &self,
        text: String,
        offset: usize,
        quoted: bool,
        exact: bool,
    ) -> Result<Node, RuleError> {
        let folded = text::folded_words(&text);
        let words = if exact {
            folded.clone()
        } else {
            text::stems(&text)
        };
        let (Some(first), Some(last)) = (words.first(), words.last()) else {
            return Err(err(
                offset,
                if quoted && text.trim().is_empty() || folded.is_empty() {
                    "expression vide".to_string()
                } else {
                    format!("« {} » ne contient que des mots vides", text.trim())
                },
                Some(
                    "les mots vides (le, de, pour…) sont ignorés ; choisissez un mot porteur de sens, ou écrivez =mot",
                ),
            ));
        };
        let (base, end) = (first.position, last.position);
        let edges = folded
            .iter()
            .filter(|w| !exact && (w.position < base || w.position > end))
            .map(|w| (w.position as isize - base as isize, w.text.clone()))
            .collect();
        Ok(Node::Term(Term {
            stems: words
                .iter()
                .map(|w| (w.text.clone(), w.position - base))
                .collect(),
            text,
            weight: 1.0,
            field: Field::Any,
            exact,
            edges,
        }))
    }
}

/// Whether a node can be a side of NEAR: a term, or an OR group of terms.
fn positional(node: &Node) -> bool {
    match node {
        Node::Term(_) => true,
        Node::Any(items) => items.iter().all(positional),
        _ => false,
    }
}

/// `titre:(a b)` restricts every term of the group that has no field of its own.
fn with_field(node: Node, field: Field) -> Node {
    match node {
        Node::Term(mut t) => {
            if t.field == Field::Any {
                t.field = field;
            }
            Node::Term(t)
        }
        Node::Any(v) => Node::Any(v.into_iter().map(|n| with_field(n, field)).collect()),
        Node::All(v) => Node::All(v.into_iter().map(|n| with_field(n, field)).collect()),
        Node::Not(n) => Node::Not(Box::new(with_field(*n, field))),
        Node::Weighted(n, w) => Node::Weighted(Box::new(with_field(*n, field)), w),
        Node::Near {
            left,
            right,
            distance,
        } => Node::Near {
            left: Box::new(with_field(*left, field)),
            right: Box::new(with_field(*right, field)),
            distance,
        },
    }
}

// ---------------------------------------------------------------------------------------
// Matcher
// ---------------------------------------------------------------------------------------

/// Words of a text with an index from word to places, for one analyser.
struct Analysed {
    words: Vec<text::Word>,
    index: HashMap<String, Vec<usize>>,
}

impl Analysed {
    fn new(words: Vec<text::Word>) -> Self {
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, w) in words.iter().enumerate() {
            index.entry(w.text.clone()).or_default().push(i);
        }
        Analysed { words, index }
    }

    /// The word at a position, if any (positions grow with the index).
    fn at(&self, position: usize) -> Option<&text::Word> {
        self.words
            .binary_search_by_key(&position, |w| w.position)
            .ok()
            .map(|i| &self.words[i])
    }
}

/// One place where a term occurs: word positions (inclusive) and byte range.
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    first: usize,
    last: usize,
    start: usize,
    end: usize,
}

/// One field of an article, analysed once for all the rules.
pub struct AnalysedField<'a> {
    pub name: &'static str,
    pub text: &'a str,
    /// Multiplies the weight of a term found here (title matches count more).
    pub factor: f64,
    stems: Analysed,
    /// Folded words, stop words included, at the same positions as the stems.
    folded: Analysed,
}

impl<'a> AnalysedField<'a> {
    pub fn new(name: &'static str, text: &'a str, factor: f64) -> Self {
        AnalysedField {
            name,
            text,
            factor,
            stems: Analysed::new(text::stems(text)),
            folded: Analysed::new(text::folded_words(text)),
        }
    }

    /// Every occurrence of a term.
    fn occurrences(&self, term: &Term) -> Vec<Occurrence> {
        let list = if term.exact {
            &self.folded
        } else {
            &self.stems
        };
        let Some((first, _)) = term.stems.first() else {
            return Vec::new();
        };
        let Some(starts) = list.index.get(first) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        'start: for &i in starts {
            let base = list.words[i].position;
            let mut last = &list.words[i];
            for (word, rel) in &term.stems[1..] {
                match list.at(base + rel) {
                    Some(w) if &w.text == word => last = w,
                    _ => continue 'start,
                }
            }
            let mut start = list.words[i].start;
            let mut end = last.end;
            for (rel, word) in &term.edges {
                let Some(position) = base.checked_add_signed(*rel) else {
                    continue 'start;
                };
                match self.folded.at(position) {
                    Some(w) if &w.text == word => {
                        start = start.min(w.start);
                        end = end.max(w.end);
                    }
                    _ => continue 'start,
                }
            }
            found.push(Occurrence {
                first: base,
                last: last.position,
                start,
                end,
            });
        }
        found
    }
}

/// A matched term, before it becomes a `model::Match`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub term: String,
    pub field: &'static str,
    /// Byte range in the field's text.
    pub start: usize,
    pub end: usize,
}

/// The outcome of a rule, or of part of it, on one article.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Does not match.
    No,
    /// Matches with this score and these reasons (a score of 0 is possible: an exclusion
    /// that holds, a group of only exclusions).
    Yes(f64, Vec<Hit>),
    /// An exclusion fired: the enclosing group does not count.
    Veto,
}

/// Scores a rule against the analysed fields of an article.
pub fn evaluate(rule: &Rule, fields: &[AnalysedField]) -> Outcome {
    eval(&rule.root, fields)
}

fn eval(node: &Node, fields: &[AnalysedField]) -> Outcome {
    match node {
        Node::Term(term) => eval_term(term, fields),
        Node::Any(items) => {
            let mut positives = 0;
            // (is a term, score, hits) of the members that matched.
            let mut matched: Vec<(bool, f64, Vec<Hit>)> = Vec::new();
            for item in items {
                if let Node::Not(_) = item {
                    if eval(item, fields) == Outcome::Veto {
                        return Outcome::No;
                    }
                    continue;
                }
                positives += 1;
                // A nested group that vetoed itself simply does not count here.
                if let Outcome::Yes(s, h) = eval(item, fields) {
                    matched.push((matches!(item, Node::Term(_)), s, h));
                }
            }
            if matched.is_empty() {
                return if positives == 0 {
                    Outcome::Yes(0.0, Vec::new())
                } else {
                    Outcome::No
                };
            }
            let kept = not_covered(&matched);
            let mut score = 0.0;
            let mut hits = Vec::new();
            for ((_, s, h), keep) in matched.into_iter().zip(kept) {
                if keep {
                    score += s;
                    hits.extend(h);
                }
            }
            Outcome::Yes(score, hits)
        }
        Node::All(items) => {
            let mut score = 0.0;
            let mut hits = Vec::new();
            for item in items {
                match eval(item, fields) {
                    Outcome::Yes(s, h) => {
                        score += s;
                        hits.extend(h);
                    }
                    Outcome::No | Outcome::Veto => return Outcome::No,
                }
            }
            Outcome::Yes(score, hits)
        }
        Node::Not(inner) => match eval(inner, fields) {
            Outcome::Yes(..) => Outcome::Veto,
            Outcome::No | Outcome::Veto => Outcome::Yes(0.0, Vec::new()),
        },
        Node::Weighted(inner, weight) => match eval(inner, fields) {
            Outcome::Yes(s, h) => Outcome::Yes(s * weight, h),
            other => other,
        },
        Node::Near {
            left,
            right,
            distance,
        } => eval_near(left, right, *distance, fields),
    }
}

/// Terms of one list that match the same words count once: the widest match wins, then the
/// highest score. So `femme femmes` (one stem) or `précarité "grande précarité"` do not
/// count one word twice. Groups and other members always count.
fn not_covered(matched: &[(bool, f64, Vec<Hit>)]) -> Vec<bool> {
    let width = |hits: &[Hit]| hits.iter().map(|h| h.end - h.start).max().unwrap_or(0);
    let mut order: Vec<usize> = (0..matched.len()).collect();
    order.sort_by(|&a, &b| {
        width(&matched[b].2)
            .cmp(&width(&matched[a].2))
            .then(matched[b].1.total_cmp(&matched[a].1))
            .then(a.cmp(&b))
    });
    let mut keep = vec![true; matched.len()];
    let mut taken: Vec<&Hit> = Vec::new();
    for i in order {
        let (is_term, _, hits) = &matched[i];
        if !is_term {
            continue;
        }
        let covered = !hits.is_empty()
            && hits.iter().all(|h| {
                taken
                    .iter()
                    .any(|t| t.field == h.field && t.start <= h.start && h.end <= t.end)
            });
        if covered {
            keep[i] = false;
        } else {
            taken.extend(hits);
        }
    }
    keep
}

fn field_allowed(term: &Term, field: &AnalysedField) -> bool {
    match term.field {
        Field::Any => true,
        Field::Title => field.name == "title",
        Field::Summary => field.name == "summary",
    }
}

/// A term counts once per article, at the best factor of the fields where it occurs; the
/// `why` keeps its first occurrence in each field.
fn eval_term(term: &Term, fields: &[AnalysedField]) -> Outcome {
    let mut best: Option<f64> = None;
    let mut hits = Vec::new();
    for field in fields.iter().filter(|f| field_allowed(term, f)) {
        if let Some(o) = field.occurrences(term).first() {
            hits.push(Hit {
                term: term.text.clone(),
                field: field.name,
                start: o.start,
                end: o.end,
            });
            best = Some(best.map_or(field.factor, |b: f64| b.max(field.factor)));
        }
    }
    match best {
        Some(factor) => Outcome::Yes(term.weight * factor, hits),
        None => Outcome::No,
    }
}

/// The terms of a NEAR side (a term or an OR group of terms).
fn side_terms(node: &Node) -> Vec<&Term> {
    match node {
        Node::Term(t) => vec![t],
        Node::Any(items) => items.iter().flat_map(side_terms).collect(),
        _ => Vec::new(),
    }
}

/// The closest pair of occurrences of the two sides within `distance` words, in one field;
/// its score is the sum of the two terms' weights.
fn eval_near(left: &Node, right: &Node, distance: usize, fields: &[AnalysedField]) -> Outcome {
    let mut best: Option<(f64, Vec<Hit>)> = None;
    let lefts = side_terms(left);
    let rights = side_terms(right);
    for field in fields {
        let occurrences = |terms: &[&Term]| -> Vec<(Occurrence, f64, usize)> {
            terms
                .iter()
                .enumerate()
                .filter(|(_, t)| field_allowed(t, field))
                .flat_map(|(k, t)| {
                    field
                        .occurrences(t)
                        .into_iter()
                        .map(move |o| (o, t.weight, k))
                })
                .collect()
        };
        let left_occ = occurrences(&lefts);
        if left_occ.is_empty() {
            continue;
        }
        let right_occ = occurrences(&rights);
        for &(l, lw, lk) in &left_occ {
            for &(r, rw, rk) in &right_occ {
                // 0 when the two overlap: the same words are not "near" each other.
                let gap = if r.first > l.last {
                    r.first - l.last
                } else {
                    l.first.saturating_sub(r.last)
                };
                if gap == 0 || gap > distance {
                    continue;
                }
                let score = (lw + rw) * field.factor;
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    let hit = |term: &Term, o: Occurrence| Hit {
                        term: term.text.clone(),
                        field: field.name,
                        start: o.start,
                        end: o.end,
                    };
                    best = Some((score, vec![hit(lefts[lk], l), hit(rights[rk], r)]));
                }
            }
        }
    }
    match best {
        Some((score, hits)) => Outcome::Yes(score, hits),
        None => Outcome::No,
    }
}

#[cfg(test)]
mod tests {
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
        let Outcome::Yes(_, hits) = evaluate(&ok("\"discrimination à l'embauche\""), &fields)
        else {
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
}
