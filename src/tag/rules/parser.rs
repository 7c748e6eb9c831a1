//! The rule parser: tokens → `Node` tree by recursive descent, with the precedence of the
//! module documentation and a depth limit; every mistake is a `RuleError`.

use super::lexer::{Tok, Token, lex};
use super::{Field, Node, Rule, RuleError, Term, err};
use crate::text;

/// Nesting depth beyond which a rule is refused, so that no input can exhaust the stack.
const MAX_DEPTH: usize = 64;

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
