//! What story merging keeps of an article, and how two of them compare.

use super::analyse::{Class, analyse_folded};
use super::slots::{self, Slot};
use crate::text;

/// Format version written at the head of [`Fingerprint::to_text`]; bump it when the analysis
/// changes, so that stored fingerprints are recomputed rather than compared across versions.
/// `fp2` added the slots, `fp3` the named ones (people, organisations, teams); an `fp2` value
/// still reads with its slots, an `fp1` value without slots.
const VERSION: &str = "fp3";
const VERSION_WITHOUT_NAMES: &str = "fp2";
const VERSION_WITHOUT_SLOTS: &str = "fp1";

/// Shared content words from which names added on both sides no longer conflict.
const CONTEXT_WORDS: usize = 3;

/// The weights and factors of the similarity, chosen by measurement on the development pairs
/// (a plateau of the best F1 under precision ≥ 0.95, checked by 5-fold cross-validation of
/// the threshold); a struct so that tuning can vary them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Params {
    pub(crate) word: f64,
    pub(crate) entity: f64,
    pub(crate) number: f64,
    pub(crate) date: f64,
    boiler: f64,
    pub(super) rubric: f64,
    /// Summary words weigh less than title words: ledes are longer and wander.
    pub(crate) summary: f64,
    /// Factor applied when the two texts name *different* people, places or numbers in the
    /// same kind of headline (the "Gers" / "Tarn" case).
    pub(super) conflict: f64,
    /// Factor applied when the texts share a name but no content word (same person or place,
    /// different news), unless they share two distinct names (a match between two teams, a
    /// person and a club).
    topic_only: f64,
    /// Share of Dice in the base score, the rest being the overlap over the lighter text.
    pub(super) dice_share: f64,
    /// Factor applied when the titles' slots of one type disagree (another département, town
    /// or neighbourhood, another count of the same thing, another day): different events.
    slot_conflict: f64,
}

impl Params {
    pub(crate) const DEFAULT: Params = Params {
        word: 1.0,
        entity: 1.25,
        number: 2.5,
        date: 0.1,
        boiler: 0.1,
        rubric: 0.3,
        summary: 0.5,
        conflict: 0.5,
        topic_only: 0.5,
        dice_share: 0.3,
        slot_conflict: 0.4,
    };

    fn class_weight(&self, class: Class) -> f64 {
        match class {
            Class::Word => self.word,
            Class::Entity => self.entity,
            Class::Number => self.number,
            Class::Date => self.date,
            Class::Boiler => self.boiler,
            Class::Rubric => self.rubric,
        }
    }

    /// The most one stem can share between a text where it is a key word of the index (a
    /// word, a name, a number) and one where it is not: a date ("10 janvier" / "10 morts",
    /// "mars" / "marié" once stemmed) or boilerplate (a publisher's suffix). Template words
    /// never meet a key word this way: their stems are listed, and a listed stem is never a
    /// word or a name, nor a number (no digits among them).
    pub(super) fn key_mismatch(&self) -> f64 {
        self.date.max(self.boiler)
    }

    fn weight(&self, t: &FpToken) -> f64 {
        self.weight_of(t.class, t.in_title)
    }

    fn weight_of(&self, class: Class, in_title: bool) -> f64 {
        let w = self.class_weight(class);
        if in_title { w } else { w * self.summary }
    }
}

/// One distinct stem of an article.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FpToken {
    pub(crate) stem: String,
    pub(crate) class: Class,
    /// False when the stem occurs only in the summary.
    pub(crate) in_title: bool,
    /// [`stem_hash`] of the stem: tokens are kept in this order, so that comparing two
    /// fingerprints compares integers.
    pub(crate) hash: u64,
}

impl FpToken {
    fn new(stem: String, class: Class, in_title: bool) -> FpToken {
        let hash = stem_hash(&stem);
        FpToken {
            stem,
            class,
            in_title,
            hash,
        }
    }

    pub(crate) fn weight(&self) -> f64 {
        Params::DEFAULT.weight(self)
    }

    fn key(&self) -> (u64, &str) {
        (self.hash, self.stem.as_str())
    }
}

/// 64-bit FNV-1a of a stem: fixed constants, so the order of tokens, and with it the stored
/// text of a fingerprint, is the same on every run and every machine.
pub(super) fn stem_hash(stem: &str) -> u64 {
    stem.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A name: indices into the tokens, whether it is a leading dateline ("Loudéac. …", a weaker
/// clue since a local paper files many stories under one town), and whether the title says it
/// (only title names and numbers can conflict: two ledes of one story easily name different
/// people).
#[derive(Debug, Clone, PartialEq)]
struct Name {
    ids: Vec<u16>,
    dateline: bool,
    in_title: bool,
}

/// Only the start of a summary counts: the lede says what the story is, and the rest would
/// only dilute it (and cost time).
const SUMMARY_BYTES: usize = 1_000;

/// The first `max` bytes of `text`, cut at a word boundary.
fn lede(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind(char::is_whitespace) {
        Some(space) if space > 0 => &text[..space],
        _ => &text[..end],
    }
}

/// The comparable form of an article: its distinct stems with their class, and its names as
/// runs of stems. Built by [`fingerprint`]; stored as text with `Fingerprint::to_text`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fingerprint {
    /// One per stem, in [`FpToken::key`] order.
    tokens: Vec<FpToken>,
    /// Names ("Elizabeth Warren" is one name of two stems).
    names: Vec<Name>,
    /// Sum of the token weights.
    total: f64,
    /// Sum of the weights of the title's tokens, as if there were no summary.
    title_total: f64,
    /// The title's typed slots, sorted.
    slots: Vec<Slot>,
    /// The title's numbers, from the tokens ([`title_numbers`]).
    numbers: Vec<(u16, u8)>,
}

/// Builds the fingerprint of an article from its title and summary (plain text; either may be
/// empty).
pub fn fingerprint(title: &str, summary: &str) -> Fingerprint {
    // Every reading, in text order (the title's first); merged per stem below.
    let mut readings: Vec<FpToken> = Vec::new();
    let mut runs: Vec<(Vec<String>, bool, bool)> = Vec::new();
    let title_words = text::folded_words(title);
    for (text, in_title) in [(title, true), (lede(summary, SUMMARY_BYTES), false)] {
        let tokens = if in_title {
            analyse_folded(text, true, &title_words)
        } else {
            analyse_folded(text, false, &text::folded_words(text))
        };
        let mut run: Vec<String> = Vec::new();
        let mut dateline = false;
        for t in tokens {
            if t.class == Class::Entity && (run.is_empty() || !t.breaks) {
                dateline |= t.dateline;
                run.push(t.stem.clone());
            } else {
                if !run.is_empty() {
                    runs.push((std::mem::take(&mut run), dateline, in_title));
                }
                dateline = t.dateline;
                if t.class == Class::Entity {
                    run.push(t.stem.clone());
                }
            }
            readings.push(FpToken::new(t.stem, t.class, in_title));
        }
        if !run.is_empty() {
            runs.push((run, dateline, in_title));
        }
    }
    // A stable sort keeps a stem's readings in text order: a sorted list merged in place costs
    // less than a map from stems (their hashing, a second copy of each).
    readings.sort_by(|a, b| a.key().cmp(&b.key()));
    let mut tokens: Vec<FpToken> = Vec::with_capacity(readings.len());
    for t in readings {
        match tokens.last_mut() {
            // The heavier reading of a stem said twice wins.
            Some(old) if old.hash == t.hash && old.stem == t.stem => {
                if Params::DEFAULT.weight(&t) > old.weight() {
                    old.class = t.class;
                    old.in_title = t.in_title;
                }
                old.in_title |= t.in_title;
            }
            _ => tokens.push(t),
        }
    }
    let mut names: Vec<Name> = Vec::new();
    for (run, dateline, in_title) in runs {
        // The tokens are sorted by key: a name's few stems are found by binary search.
        let ids: Vec<u16> = run
            .iter()
            .filter_map(|s| {
                let key = (stem_hash(s), s.as_str());
                tokens.binary_search_by(|t| t.key().cmp(&key)).ok()
            })
            .map(|i| i as u16)
            .collect();
        if ids.is_empty() {
            continue;
        }
        // The title comes first, so a name said again in the summary keeps its title flags.
        if !names.iter().any(|n| n.ids == ids) {
            names.push(Name {
                ids,
                dateline,
                in_title,
            });
        }
    }
    Fingerprint::new(tokens, names, slots::slots_in(title, title_words))
}

impl Fingerprint {
    fn new(tokens: Vec<FpToken>, names: Vec<Name>, slots: Vec<Slot>) -> Fingerprint {
        let total = tokens.iter().map(FpToken::weight).sum();
        let p = Params::DEFAULT;
        let title_total = tokens
            .iter()
            .filter(|t| t.in_title)
            .map(|t| p.class_weight(t.class))
            .sum();
        Fingerprint {
            numbers: title_numbers(&tokens),
            tokens,
            names,
            total,
            title_total,
            slots,
        }
    }

    /// The title's numbers that can conflict ([`numbers_conflict`]): (stem hash, kind bit).
    pub(super) fn title_numbers(&self) -> impl Iterator<Item = (u64, u8)> + '_ {
        self.numbers
            .iter()
            .map(|&(i, kind)| (self.tokens[i as usize].hash, kind))
    }

    /// Does a stem with this hash occur (the tokens are sorted by hash first)?
    pub(super) fn has_hash(&self, hash: u64) -> bool {
        self.tokens.binary_search_by(|t| t.hash.cmp(&hash)).is_ok()
    }

    /// The title's typed slots.
    pub(crate) fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub(crate) fn tokens(&self) -> &[FpToken] {
        &self.tokens
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Sum of the token weights.
    pub(crate) fn total(&self) -> f64 {
        self.total
    }

    /// Sum of the weights of the title's tokens.
    pub(super) fn title_total(&self) -> f64 {
        self.title_total
    }

    fn get(&self, stem: &str) -> Option<&FpToken> {
        let key = (stem_hash(stem), stem);
        self.tokens
            .binary_search_by(|t| t.key().cmp(&key))
            .ok()
            .map(|i| &self.tokens[i])
    }

    /// `fp1 stem:c stem:c …|0.1 *4 +7` — tokens with their class code (upper case when the
    /// stem occurs only in the summary), then the names as dotted token indices (`*` marks a
    /// dateline, `+` a name of the summary only). Stems never contain spaces, `:`, `|`, `*`,
    /// `+` or `.` (the analyser splits on them).
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::from(VERSION);
        for t in &self.tokens {
            out.push(' ');
            out.push_str(&t.stem);
            out.push(':');
            let c = t.class.code();
            out.push(if t.in_title {
                c
            } else {
                c.to_ascii_uppercase()
            });
        }
        out.push('|');
        let names: Vec<String> = self
            .names
            .iter()
            .map(|n| {
                let ids = n
                    .ids
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(".");
                match (n.dateline, n.in_title) {
                    (true, _) => format!("*{ids}"),
                    (false, false) => format!("+{ids}"),
                    (false, true) => ids,
                }
            })
            .collect();
        out.push_str(&names.join(" "));
        out.push('|');
        let slots: Vec<String> = self.slots.iter().map(Slot::to_text).collect();
        out.push_str(&slots.join(" "));
        out
    }

    /// Reads [`Fingerprint::to_text`]; `None` for another version or a damaged value (the
    /// caller then recomputes it from the article).
    pub(crate) fn from_text(text: &str) -> Option<Fingerprint> {
        let (tokens_part, rest) = text.split_once('|')?;
        let mut parts = tokens_part.split(' ');
        let (names_part, slots_part) = match parts.next()? {
            VERSION | VERSION_WITHOUT_NAMES => rest.split_once('|')?,
            VERSION_WITHOUT_SLOTS if !rest.contains('|') => (rest, ""),
            _ => return None,
        };
        let mut slots = Vec::new();
        for slot in slots_part.split(' ').filter(|s| !s.is_empty()) {
            slots.push(Slot::from_text(slot)?);
        }
        if !slots.windows(2).all(|w| w[0] < w[1]) {
            return None;
        }
        let mut tokens = Vec::new();
        for part in parts {
            let (stem, code) = part.rsplit_once(':')?;
            let mut chars = code.chars();
            let c = chars.next()?;
            if chars.next().is_some() || stem.is_empty() {
                return None;
            }
            let class = Class::from_code(c.to_ascii_lowercase())?;
            tokens.push(FpToken::new(
                stem.to_string(),
                class,
                c.is_ascii_lowercase(),
            ));
        }
        if !tokens.windows(2).all(|w| w[0].key() < w[1].key()) {
            return None;
        }
        let mut names = Vec::new();
        for name in names_part.split(' ').filter(|n| !n.is_empty()) {
            let (name, dateline, in_title) = if let Some(rest) = name.strip_prefix('*') {
                (rest, true, true)
            } else if let Some(rest) = name.strip_prefix('+') {
                (rest, false, false)
            } else {
                (name, false, true)
            };
            let ids = name
                .split('.')
                .map(|i| {
                    i.parse::<u16>()
                        .ok()
                        .filter(|&i| (i as usize) < tokens.len())
                })
                .collect::<Option<Vec<u16>>>()?;
            names.push(Name {
                ids,
                dateline,
                in_title,
            });
        }
        Some(Fingerprint::new(tokens, names, slots))
    }
}

/// Same name, allowing for a shortened first name or a longer form ("Stan" / "Stanislas",
/// "Alger" / "Algérie" once stemmed).
fn related(stem: &str, other: &Fingerprint) -> bool {
    if other.get(stem).is_some() {
        return true;
    }
    stem.len() >= 4
        && other.tokens.iter().any(|t| {
            t.stem.len() >= 4 && (t.stem.starts_with(stem) || stem.starts_with(t.stem.as_str()))
        })
}

fn initials(fp: &Fingerprint, name: &Name) -> String {
    name.ids
        .iter()
        .filter_map(|&i| fp.tokens[i as usize].stem.chars().next())
        .collect()
}

fn mentions(fp: &Fingerprint, name: &Name, other: &Fingerprint) -> bool {
    name.ids
        .iter()
        .any(|&i| related(&fp.tokens[i as usize].stem, other))
}

/// Does `other` mention `name` of `fp` in any form: one of its stems, or as an acronym, or
/// expanded from one ("GE" / "General Electric")?
fn known(fp: &Fingerprint, name: &Name, other: &Fingerprint) -> bool {
    if mentions(fp, name, other) {
        return true;
    }
    if name.ids.len() >= 2 && other.get(&initials(fp, name)).is_some() {
        return true;
    }
    name.ids.len() == 1
        && other
            .names
            .iter()
            .filter(|n| n.ids.len() >= 2)
            .any(|n| initials(other, n) == fp.tokens[name.ids[0] as usize].stem)
}

/// How the names of two texts relate.
struct NameMatch {
    /// Names of `a` that `b` does not know, and the reverse.
    unknown_a: usize,
    unknown_b: usize,
    /// A name shared but completed differently on each side ("CLM Femmes" / "CLM Elites").
    substituted: bool,
    /// Names of each that the other mentions, datelines left out.
    shared_a: usize,
    shared_b: usize,
}

fn match_names(a: &Fingerprint, b: &Fingerprint) -> NameMatch {
    let unknown = |x: &Fingerprint, y: &Fingerprint| {
        x.names
            .iter()
            .filter(|n| n.in_title && !known(x, n, y))
            .count()
    };
    let shared = |x: &Fingerprint, y: &Fingerprint| {
        x.names
            .iter()
            .filter(|n| !n.dateline && mentions(x, n, y))
            .count()
    };
    let extra = |x: &Fingerprint, n: &Name, y: &Fingerprint| {
        n.ids
            .iter()
            .any(|&i| !related(&x.tokens[i as usize].stem, y))
    };
    let substituted = a.names.iter().filter(|n| n.in_title).any(|na| {
        mentions(a, na, b)
            && extra(a, na, b)
            && b.names.iter().filter(|n| n.in_title).any(|nb| {
                nb.ids.iter().any(|&i| {
                    na.ids
                        .iter()
                        .any(|&j| a.tokens[j as usize].stem == b.tokens[i as usize].stem)
                }) && extra(b, nb, a)
            })
    });
    NameMatch {
        unknown_a: unknown(a, b),
        unknown_b: unknown(b, a),
        substituted,
        shared_a: shared(a, b),
        shared_b: shared(b, a),
    }
}

/// Kinds of numbers that can conflict: two titles with different counts, different days or
/// different years are different events ("l'actualité du jeudi 27 juin" is not that of the
/// 25th), but a year on one side and a count on the other ("les années 1990" / "les années
/// 90") are not compared.
#[derive(Clone, Copy, PartialEq)]
enum NumberKind {
    Count = 1,
    Day = 2,
    Year = 4,
}

fn number_kind(t: &FpToken) -> Option<NumberKind> {
    match t.class {
        Class::Number => Some(NumberKind::Count),
        Class::Date if t.stem.starts_with(|c: char| c.is_ascii_digit()) => {
            Some(if t.stem.len() == 4 {
                NumberKind::Year
            } else {
                NumberKind::Day
            })
        }
        _ => None,
    }
}

/// The title's numbers that can conflict: (token index, [`NumberKind`] as a bit).
fn title_numbers(tokens: &[FpToken]) -> Vec<(u16, u8)> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| t.in_title)
        .filter_map(|(i, t)| number_kind(t).map(|k| (i as u16, k as u8)))
        .collect()
}

/// Do the titles have numbers of one kind that the other text lacks, on both sides?
fn numbers_conflict(a: &Fingerprint, b: &Fingerprint) -> bool {
    // The kinds of which `x`'s title has a number that `y` lacks, as bits.
    let unmatched = |x: &Fingerprint, y: &Fingerprint| {
        x.numbers
            .iter()
            // By hash alone, as the overlap compares stems: a binary search on strings cost
            // more than the rest of the veto.
            .filter(|&&(i, _)| !y.has_hash(x.tokens[i as usize].hash))
            .fold(0u8, |kinds, &(_, kind)| kinds | kind)
    };
    let kinds = unmatched(a, b);
    kinds != 0 && kinds & unmatched(b, a) != 0
}

/// The parts of the similarity, for tests and tuning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Comparison {
    /// Weighted Dice coefficient of the two token sets.
    dice: f64,
    /// Weighted overlap over the lighter of the two (a short title inside a longer one).
    containment: f64,
    /// Both texts name someone, somewhere or a number the other does not.
    pub(super) conflict: bool,
    /// Shared ordinary words (not names, numbers, dates or template words).
    shared_words: usize,
    /// Shared names (the fewer of the two directions).
    shared_names: usize,
    pub(crate) similarity: f64,
}

/// Compares two fingerprints, with the details.
pub(crate) fn compare(a: &Fingerprint, b: &Fingerprint) -> Comparison {
    compare_with(a, b, &Params::DEFAULT)
}

/// The weighted overlap of two token sets, before the vetoes.
struct Overlap {
    dice: f64,
    containment: f64,
    shared_words: usize,
    shared_numbers: usize,
    base: f64,
}

fn overlap(a: &Fingerprint, b: &Fingerprint, p: &Params) -> Overlap {
    let totals = |fp: &Fingerprint| -> (f64, f64) {
        if *p == Params::DEFAULT {
            (fp.total, fp.title_total)
        } else {
            let title = fp.tokens.iter().filter(|t| t.in_title);
            (
                fp.tokens.iter().map(|t| p.weight(t)).sum(),
                title.map(|t| p.class_weight(t.class)).sum(),
            )
        }
    };
    let ((a_total, a_title), (b_total, b_title)) = (totals(a), totals(b));
    let mut shared = 0.0;
    let mut shared_title = 0.0;
    let mut shared_words = 0;
    let mut shared_numbers = 0;
    // Both token lists are sorted: merge them.
    let (mut i, mut j) = (0, 0);
    while i < a.tokens.len() && j < b.tokens.len() {
        let (x, y) = (&a.tokens[i], &b.tokens[j]);
        // Equal hashes are taken as equal stems: a 64-bit collision between two stems of one
        // pair is negligible, and comparing the strings too doubles the cost of a lookup.
        match x.hash.cmp(&y.hash) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += p.weight(x).min(p.weight(y));
                if x.in_title && y.in_title {
                    shared_title += p.class_weight(x.class).min(p.class_weight(y.class));
                }
                // A shared number alone ("… (6)", "10 bons plans") is no shared subject.
                if x.class == Class::Word && y.class == Class::Word {
                    shared_words += 1;
                }
                if x.class == Class::Number && y.class == Class::Number {
                    shared_numbers += 1;
                }
                i += 1;
                j += 1;
            }
        }
    }
    let score = |shared: f64, a_total: f64, b_total: f64| {
        let sum = a_total + b_total;
        let dice = if sum > 0.0 { 2.0 * shared / sum } else { 0.0 };
        let lighter = a_total.min(b_total);
        let containment = if lighter > 0.0 {
            (shared / lighter).min(1.0)
        } else {
            0.0
        };
        (
            dice,
            containment,
            p.dice_share * dice + (1.0 - p.dice_share) * containment,
        )
    };
    // The better of the whole texts and of the titles alone: a lede can help a short title
    // find its story, but two ledes written differently must not hide matching titles.
    let whole = score(shared, a_total, b_total);
    let titles = score(shared_title, a_title, b_title);
    let (dice, containment, base) = if titles.2 > whole.2 { titles } else { whole };
    Overlap {
        dice,
        containment,
        shared_words,
        shared_numbers,
        base,
    }
}

/// [`compare`] with other weights.
fn compare_with(a: &Fingerprint, b: &Fingerprint, p: &Params) -> Comparison {
    let numbers = numbers_conflict(a, b);
    let slot_conflict = slots::conflict(&a.slots, &b.slots).is_some();
    vetoed(a, b, p, overlap(a, b, p), numbers, slot_conflict)
}

/// Applies the vetoes to the overlap, given whether the numbers ([`numbers_conflict`]) and
/// the slots ([`slots::conflict`]) disagree.
fn vetoed(
    a: &Fingerprint,
    b: &Fingerprint,
    p: &Params,
    o: Overlap,
    numbers: bool,
    slot_conflict: bool,
) -> Comparison {
    let m = match_names(a, b);
    let names = m.shared_a.min(m.shared_b);
    // Names that each side adds are context, not a substitution, when the texts already share
    // a name and several content words ("Aux Etats-Unis, … Elizabeth Warren domine le premier
    // débat démocrate" / "Elizabeth Warren domine le premier débat démocrate pour la Maison
    // Blanche"). Different numbers always conflict.
    let names_conflict = ((m.unknown_a > 0 && m.unknown_b > 0) || m.substituted)
        && !(names >= 1 && o.shared_words >= CONTEXT_WORDS);
    let soft_conflict = names_conflict || numbers;
    let conflict = soft_conflict || slot_conflict;
    let mut similarity = o.base;
    if soft_conflict {
        similarity *= p.conflict;
    }
    if slot_conflict {
        similarity *= p.slot_conflict;
    }
    // Two names, or a name and a number ("737 MAX", "Val d'Isère" and "40 ans"), identify an
    // event; one name alone, or a number alone, does not.
    if o.shared_words == 0 && names + usize::from(names > 0 && o.shared_numbers > 0) < 2 {
        similarity *= p.topic_only;
    }
    Comparison {
        dice: o.dice,
        containment: o.containment,
        conflict,
        shared_words: o.shared_words,
        shared_names: names,
        similarity: similarity.clamp(0.0, 1.0),
    }
}

/// The similarity when it reaches `threshold`, else `None`; cheaper than [`similarity`] for
/// the many candidates that share too little, since the vetoes can only lower the overlap.
/// `upper` is a bound on the overlap known beforehand (the index's), at most 1 anyway.
pub(super) fn similarity_reaching(
    a: &Fingerprint,
    b: &Fingerprint,
    threshold: f64,
    upper: f64,
) -> Option<f64> {
    let p = Params::DEFAULT;
    // Disagreeing counts first: a binary search per title number, where the overlap walks
    // both texts. At the default weights a count veto alone puts any overlap out of reach
    // (the same text under another number is most of the near misses of a window).
    let numbers = numbers_conflict(a, b);
    if numbers && upper.min(1.0) * p.conflict < threshold {
        return None;
    }
    let o = overlap(a, b, &p);
    if o.base < threshold {
        return None;
    }
    // Then the slots, before names are matched (the costliest part, with its prefix
    // searches): a disagreeing slot may put the candidate out of reach.
    let mut upper = o.base;
    if numbers {
        upper *= p.conflict;
    }
    let slot_conflict = slots::conflict(&a.slots, &b.slots).is_some();
    if slot_conflict {
        upper *= p.slot_conflict;
    }
    if upper < threshold {
        return None;
    }
    Some(vetoed(a, b, &p, o, numbers, slot_conflict).similarity).filter(|&s| s >= threshold)
}

/// How much `a` reads as a later development of `b`'s story (an arrest, then the indictment;
/// a plan announced, then voted): `Some(similarity)` when the two are related but not the same
/// event — below `threshold`, or above it but kept apart by a disagreeing weekday, date or
/// count — and they share a name of their titles and no slot of place, person, organisation or team disagrees (another town
/// is another story, not its sequel). The caller keeps those over its link threshold.
pub(crate) fn follows(a: &Fingerprint, b: &Fingerprint, threshold: f64) -> Option<f64> {
    let c = compare(a, b);
    if c.shared_names == 0 || c.shared_words == 0 {
        return None;
    }
    // Another place, person, organisation or team is another affair, not its sequel.
    if slots::identity_conflict(&a.slots, &b.slots) {
        return None;
    }
    let p = Params::DEFAULT;
    // The similarity the event slots took away, capped below the merge threshold: this is
    // a relation, never a merge.
    let unvetoed = if slots::conflict(&a.slots, &b.slots).is_some() {
        c.similarity / p.slot_conflict
    } else {
        c.similarity
    };
    if c.similarity >= threshold {
        return None;
    }
    Some(unvetoed.min(1.0))
}

/// Similarity of two articles in [0, 1], vetoes included.
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    compare(a, b).similarity
}
