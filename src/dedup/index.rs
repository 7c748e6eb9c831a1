//! The recent articles, indexed for story lookup: an inverted index from content stems to the
//! articles that contain them, so that a new article is compared only with those sharing a
//! word or a name, not with the whole window.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Duration, Utc};

use super::analyse::Class;
use super::fingerprint::{Fingerprint, Params, follows, similarity_reaching};

/// Stems found in more articles of the window than this are not used to find candidates (a
/// candidate must share a rarer one): comparing against thousands of articles for one word
/// would cost more than it finds.
const MAX_POSTING: usize = 1_000;

/// Only these classes find candidates; dates, boilerplate and template words are shared by
/// too many articles to say anything alone.
fn is_key(class: Class) -> bool {
    matches!(class, Class::Word | Class::Entity | Class::Number)
}

/// Stem hashes are already FNV-1a hashes: hashing them again for the postings map would only
/// cost time.
#[derive(Default)]
struct StemHasher(u64);

impl Hasher for StemHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `u64` keys; anything else still gets a usable hash.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Ids are kept as `u32` (the low bits of the entry id): half the memory a lookup reads, and a
/// window never holds four billion articles, so positions computed by wrapping stay exact.
type Postings = HashMap<u64, VecDeque<(u32, f32)>, BuildHasherDefault<StemHasher>>;

/// Weight shared with the query per entry position, reused from one lookup to the next:
/// allocating and zeroing a slot per article of the window for every lookup cost more than
/// the lookup itself. Only the touched positions are reset.
#[derive(Default)]
struct Scratch {
    shared: Vec<f32>,
    touched: Vec<usize>,
    /// (upper bound of the score, position) of the candidates worth scoring.
    bounded: Vec<(f64, usize)>,
}

/// One lookup: the article, its date, the score to reach, whether only earlier articles count,
/// and the weight it may share outside the postings read.
struct Query<'a> {
    fp: &'a Fingerprint,
    at_millis: i64,
    threshold: f64,
    earlier_only: bool,
    unread: f64,
}

/// What the candidate loop reads of every touched entry, kept in a list of its own.
struct Meta {
    millis: i64,
    total: f64,
    title_total: f64,
}

struct Entry {
    story: i64,
    at: DateTime<Utc>,
    fp: Fingerprint,
}

/// Recent articles with their story, for [`StoryIndex::find`].
pub struct StoryIndex {
    window: Duration,
    threshold: f64,
    /// In insertion order; `entries[k]` has id `first_id + k`.
    entries: VecDeque<Entry>,
    /// `meta[k]` describes `entries[k]`.
    meta: VecDeque<Meta>,
    first_id: u64,
    /// Stem hash → (entry id, weight of the stem in that entry), ids ascending. Two stems
    /// with one hash would only add candidates, which the similarity then sorts out. Weights
    /// are `f32`: they only bound which candidates to score, with a margin for rounding.
    postings: Postings,
    scratch: RefCell<Scratch>,
}

impl StoryIndex {
    /// An empty index matching articles within `window` of each other's own dates, merging
    /// at `threshold` (see [`super::DEFAULT_THRESHOLD`]).
    pub fn new(window: Duration, threshold: f64) -> StoryIndex {
        StoryIndex {
            window,
            threshold,
            entries: VecDeque::new(),
            meta: VecDeque::new(),
            first_id: 0,
            postings: Postings::default(),
            scratch: RefCell::default(),
        }
    }

    /// How far apart two articles may be published and still join one story.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Articles currently held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No article held (a fresh index, or everything evicted).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn keys(fp: &Fingerprint) -> impl Iterator<Item = (u64, f64)> {
        let any_key = fp.tokens().iter().any(|t| is_key(t.class));
        // A text made only of template words still needs a way to be found.
        fp.tokens()
            .iter()
            .filter(move |t| !any_key || is_key(t.class))
            .map(|t| (t.hash, t.weight()))
    }

    /// Adds an article of `story`, published (or first seen) at `at`. Nothing is dropped here:
    /// dropping what lies a window before the newest article seen made the stories of a pass
    /// depend on the order sources answered in (an old item arriving after a recent one no
    /// longer found its story). Callers that stream through time call
    /// [`StoryIndex::evict_before`].
    pub fn insert(&mut self, story: i64, at: DateTime<Utc>, fp: Fingerprint) {
        let id = self.first_id + self.entries.len() as u64;
        for (hash, weight) in Self::keys(&fp) {
            self.postings
                .entry(hash)
                .or_default()
                .push_back((id as u32, weight as f32));
        }
        let millis = at.timestamp_millis();
        self.meta.push_back(Meta {
            millis,
            total: fp.total(),
            title_total: fp.title_total(),
        });
        self.entries.push_back(Entry { story, at, fp });
    }

    /// Drops, in insertion order, the articles dated before `cutoff`, for a caller that knows
    /// no article older than `cutoff + window` will be asked for. An article inserted out of
    /// order waits behind newer ones; [`StoryIndex::find`] checks dates anyway.
    pub fn evict_before(&mut self, cutoff: DateTime<Utc>) {
        while self.entries.front().is_some_and(|e| e.at < cutoff) {
            let entry = self.entries.pop_front().expect("checked");
            self.meta.pop_front();
            let id = self.first_id;
            self.first_id += 1;
            for (hash, _) in Self::keys(&entry.fp) {
                if let Some(list) = self.postings.get_mut(&hash) {
                    // Ids are pushed in ascending order and removed oldest first, so the
                    // entry sits at the front of each of its lists.
                    while list
                        .front()
                        .is_some_and(|&(i, _)| i.wrapping_sub(id as u32) as i32 <= 0)
                    {
                        list.pop_front();
                    }
                    if list.is_empty() {
                        self.postings.remove(&hash);
                    }
                }
            }
        }
    }

    /// The story of the most similar article within the window around `at`, if its
    /// similarity reaches the threshold. Ties go to the most recently inserted article.
    pub fn find(&self, fp: &Fingerprint, at: DateTime<Utc>) -> Option<i64> {
        self.best(fp, at).map(|(story, _)| story)
    }

    /// Like [`StoryIndex::find`], with the similarity.
    pub(crate) fn best(&self, fp: &Fingerprint, at: DateTime<Utc>) -> Option<(i64, f64)> {
        self.scan(fp, at, self.threshold, false, |a, b, floor| {
            similarity_reaching(a, b, floor)
        })
    }

    /// The earlier story that an article of a new story continues ("suite de"): the most
    /// related article dated before it, by [`follows`]. Only asked when [`StoryIndex::find`]
    /// found no story to join.
    pub(crate) fn running(&self, fp: &Fingerprint, at: DateTime<Utc>) -> Option<(i64, f64)> {
        self.scan(fp, at, super::LINK_THRESHOLD, true, |a, b, floor| {
            follows(a, b, self.threshold).filter(|&s| s >= floor)
        })
    }

    /// The story of the best-scoring article within the window around `at` (before it, with
    /// `earlier_only`) whose score reaches `threshold`. `score` returns `None` below its
    /// floor and never more than the weighted overlap, which bounds the candidates to read.
    fn scan(
        &self,
        fp: &Fingerprint,
        at: DateTime<Utc>,
        threshold: f64,
        earlier_only: bool,
        score: impl Fn(&Fingerprint, &Fingerprint, f64) -> Option<f64>,
    ) -> Option<(i64, f64)> {
        if fp.is_empty() {
            return None;
        }
        let mut scratch = self.scratch.borrow_mut();
        let Scratch {
            shared,
            touched,
            bounded,
        } = &mut *scratch;
        shared.resize(self.entries.len(), 0.0);
        let unread = self.accumulate(fp, shared, touched);
        let query = Query {
            fp,
            at_millis: at.timestamp_millis(),
            threshold,
            earlier_only,
            unread,
        };
        self.bound(&query, shared, touched, bounded);
        let best = self.best_of(&query, &score, bounded);
        for &k in touched.iter() {
            shared[k] = 0.0;
        }
        touched.clear();
        best
    }

    /// Adds, per entry position, the weight it shares with `fp` through the postings read;
    /// returns the weight that candidates may share outside them (the query's non-key stems
    /// and its too-common keys), which bounds what an entry can reach.
    fn accumulate(&self, fp: &Fingerprint, shared: &mut [f32], touched: &mut Vec<usize>) -> f64 {
        let any_key = fp.tokens().iter().any(|t| is_key(t.class));
        let mut unread = 0.0;
        for t in fp.tokens() {
            let weight = t.weight();
            if any_key && !is_key(t.class) {
                unread += weight;
                continue;
            }
            let Some(list) = self.postings.get(&t.hash) else {
                continue;
            };
            if list.len() > MAX_POSTING {
                unread += weight;
                continue;
            }
            let weight = weight as f32;
            // `evict_before` removes an entry from each of its lists, so every id here is
            // held; the check only guards against a list out of step.
            let (front, back) = list.as_slices();
            for &(id, w) in front.iter().chain(back) {
                let k = id.wrapping_sub(self.first_id as u32) as usize;
                let Some(slot) = shared.get_mut(k) else {
                    continue;
                };
                if *slot == 0.0 {
                    touched.push(k);
                }
                *slot += weight.min(w);
            }
        }
        unread
    }

    /// The touched entries within the window whose score may reach the threshold, with that
    /// upper bound, highest first (and the most recent first among equal bounds).
    fn bound(&self, q: &Query, shared: &[f32], touched: &[usize], out: &mut Vec<(f64, usize)>) {
        let p = Params::DEFAULT;
        let window_millis = self.window.num_milliseconds();
        let (total, title_total) = (q.fp.total(), q.fp.title_total());
        // With Dice at most 1, reaching the threshold needs an overlap over the lighter text of
        // at least `needed`: a multiplication that dismisses most candidates before the
        // divisions below (a hair lower, so that rounding never dismisses one they keep).
        let needed = ((q.threshold - p.dice_share) / (1.0 - p.dice_share)).max(0.0) * (1.0 - 1e-9);
        out.clear();
        for &k in touched {
            // Dates and totals sit apart from the fingerprints: most candidates are dismissed
            // on them, without reading the fingerprint's memory.
            let meta = &self.meta[k];
            if (meta.millis - q.at_millis).abs() > window_millis
                || (q.earlier_only && meta.millis > q.at_millis)
            {
                continue;
            }
            // The vetoes only lower the weighted overlap, whose upper bound follows from the
            // shared weight read plus all that was not read (with a margin for the `f32`
            // sums). The overlap is the better of the whole texts and of the titles alone,
            // so the bound is the higher of the two.
            let bound = f64::from(shared[k]) * (1.0 + 1e-5) + q.unread;
            let lightest = total.min(meta.total).min(title_total.min(meta.title_total));
            if bound < needed * lightest {
                continue;
            }
            let upper = |ta: f64, tb: f64| {
                let lighter = ta.min(tb);
                if lighter <= 0.0 {
                    return 0.0;
                }
                p.dice_share * (2.0 * bound / (ta + tb)).min(1.0)
                    + (1.0 - p.dice_share) * (bound / lighter).min(1.0)
            };
            let upper = upper(total, meta.total).max(upper(title_total, meta.title_total));
            if upper >= q.threshold {
                out.push((upper, k));
            }
        }
        out.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    }

    /// The best of the `bounded` candidates whose score reaches the threshold; ties go to the
    /// most recent article. Scored from the highest bound down, so that a close match found
    /// early ends the search: no later candidate can beat it once its bound is below it.
    fn best_of(
        &self,
        q: &Query,
        score: &impl Fn(&Fingerprint, &Fingerprint, f64) -> Option<f64>,
        bounded: &[(f64, usize)],
    ) -> Option<(i64, f64)> {
        // (position, story, similarity) of the best so far.
        let mut best: Option<(usize, i64, f64)> = None;
        for &(upper, k) in bounded {
            let floor = best.map_or(q.threshold, |(_, _, b)| b.max(q.threshold));
            if upper < floor {
                break;
            }
            let entry = &self.entries[k];
            if let Some(s) = score(q.fp, &entry.fp, floor)
                && best.is_none_or(|(bk, _, b)| s > b || (s == b && k > bk))
            {
                best = Some((k, entry.story, s));
            }
        }
        best.map(|(_, story, s)| (story, s))
    }
}
