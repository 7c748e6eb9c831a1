//! The recent articles, indexed for story lookup: an inverted index from content stems to the
//! articles that contain them, so that a new article is compared only with those sharing a
//! word or a name, not with the whole window.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Duration, Utc};

use super::analyse::Class;
use super::fingerprint::{Fingerprint, FpToken, Params, follows, similarity_reaching};

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
/// The weight is negative when the stem is not in the entry's title (see [`title_weight`]).
type Postings = HashMap<u64, VecDeque<(u32, f32)>, BuildHasherDefault<StemHasher>>;

/// A posting's weight, and its weight in the titles' overlap: a stem of the summary only
/// counts in the overlap of the whole texts. Stored as a sign: no memory more per posting.
fn title_weight(stored: f32) -> (f32, f32) {
    (stored.abs(), stored.max(0.0))
}

/// Weight shared with the query per entry position, reused from one lookup to the next:
/// allocating and zeroing a slot per article of the window for every lookup cost more than
/// the lookup itself. Only the touched positions are reset.
#[derive(Default)]
struct Scratch {
    /// In the whole texts, then in the titles alone: side by side, so that a posting read
    /// updates one cache line.
    shared: Vec<[f32; 2]>,
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
    unread: Unread,
}

/// What a candidate may share with the query beyond the postings read ([`StoryIndex::accumulate`]).
#[derive(Default)]
struct Unread {
    /// In the whole texts.
    whole: f64,
    /// In the titles alone.
    title: f64,
    /// In the whole texts, through the query's key stems that an entry may hold as a date or
    /// boilerplate (in none of its postings): at most the entry's own [`Meta::loose`].
    mismatch: f64,
}

/// What the candidate loop reads of every touched entry, kept in a list of its own, one cache
/// line each: the touched entries are read in no useful order, and each read is a miss (the
/// counts in a list of their own made it two).
#[repr(align(64))]
struct Meta {
    millis: i64,
    total: f64,
    title_total: f64,
    /// The weight of the entry's stems that are in none of its postings but may be a key stem
    /// of a query (dates and boilerplate): what the whole texts may share unread. Rounded up.
    loose: f32,
    counts: Counts,
}

impl Meta {
    fn of(fp: &Fingerprint, millis: i64) -> Meta {
        let any_key = fp.tokens().iter().any(|t| is_key(t.class));
        let loose = if any_key {
            let loose: f64 = fp
                .tokens()
                .iter()
                .filter(|t| matches!(t.class, Class::Date | Class::Boiler))
                .map(FpToken::weight)
                .sum();
            // An `f32` a hair above, so that it still bounds.
            (loose * (1.0 + 1e-5)) as f32
        } else {
            // Every stem of a text without keys is posted.
            0.0
        };
        Meta {
            millis,
            total: fp.total(),
            title_total: fp.title_total(),
            loose,
            counts: Counts::of(fp),
        }
    }
}

/// The lightest totals among the entries held, kept as entries come and go (a monotonic
/// queue per total, each entry pushed and popped once), so that the many candidates sharing
/// too little to reach even the lightest entry are dismissed without reading their own totals.
#[derive(Default)]
struct Lightest {
    /// (entry id, total of the whole text), totals ascending: the front is the lightest.
    whole: VecDeque<(u64, f64)>,
    /// The same for the titles' totals.
    title: VecDeque<(u64, f64)>,
    /// The same for the entries' [`Meta::loose`] weights, negated: the front is the loosest.
    loose: VecDeque<(u64, f64)>,
}

impl Lightest {
    fn push(&mut self, id: u64, whole: f64, title: f64, loose: f64) {
        for (queue, total) in [
            (&mut self.whole, whole),
            (&mut self.title, title),
            (&mut self.loose, -loose),
        ] {
            while queue.back().is_some_and(|&(_, t)| t >= total) {
                queue.pop_back();
            }
            queue.push_back((id, total));
        }
    }

    /// Entry `id`, the oldest held, leaves.
    fn pop(&mut self, id: u64) {
        for queue in [&mut self.whole, &mut self.title, &mut self.loose] {
            if queue.front().is_some_and(|&(i, _)| i == id) {
                queue.pop_front();
            }
        }
    }

    /// The lightest totals of the whole texts and of the titles (0 with nothing held).
    fn totals(&self) -> (f64, f64) {
        let front = |queue: &VecDeque<(u64, f64)>| queue.front().map_or(0.0, |&(_, t)| t);
        (front(&self.whole), front(&self.title))
    }

    /// The largest [`Meta::loose`] among the entries held (0 with nothing held).
    fn loosest(&self) -> f64 {
        self.loose.front().map_or(0.0, |&(_, t)| -t)
    }
}

/// What the count veto needs of an entry, read only for the candidates whose bound reaches the
/// threshold: the same text under another number is most of those, and telling them apart from
/// the fingerprints themselves cost more than the bound of every touched entry.
struct Counts {
    /// One bit per stem hash of the entry ([`bloom_bit`]): a bit unset means the stem is absent.
    bloom: u128,
    /// The low half of the stem hashes of the title's numbers that can conflict: a query stem
    /// with the same low half counts as a match, so the veto stays sure.
    numbers: [u32; 3],
    /// Their kind bits.
    kinds: [u8; 3],
    /// How many; [`Counts::MANY`] past three.
    len: u8,
}

fn bloom_bit(hash: u64) -> u128 {
    // FNV-1a barely moves its top bits for stems that differ in their last byte ("12" /
    // "13"): a Fibonacci multiplication brings the low bits up first.
    1u128 << (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 57)
}

impl Counts {
    fn of(fp: &Fingerprint) -> Counts {
        let bloom = fp
            .tokens()
            .iter()
            .fold(0, |bloom, t| bloom | bloom_bit(t.hash));
        let mut counts = Counts {
            bloom,
            numbers: [0; 3],
            kinds: [0; 3],
            len: 0,
        };
        for (hash, kind) in fp.title_numbers() {
            let len = usize::from(counts.len);
            if len == counts.numbers.len() {
                counts.len = Counts::MANY;
                break;
            }
            counts.numbers[len] = hash as u32;
            counts.kinds[len] = kind;
            counts.len += 1;
        }
        counts
    }

    const MANY: u8 = u8::MAX;

    /// Do the titles surely disagree on a count, a day or a year (the similarity's number
    /// veto)? Only when both sides surely lack one of the other's of one kind: a hash the query
    /// holds, or a bloom bit set, counts as a match, so `true` implies the veto.
    fn conflict(&self, query: &Fingerprint) -> bool {
        if self.len == Counts::MANY {
            return false;
        }
        let len = usize::from(self.len);
        let theirs = self.numbers[..len]
            .iter()
            .zip(&self.kinds)
            .filter(|&(&low, _)| !query.tokens().iter().any(|t| t.hash as u32 == low))
            .fold(0u8, |kinds, (_, kind)| kinds | kind);
        theirs != 0
            && query
                .title_numbers()
                .filter(|(hash, _)| self.bloom & bloom_bit(*hash) == 0)
                .fold(0u8, |kinds, (_, kind)| kinds | kind)
                & theirs
                != 0
    }
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
    lightest: Lightest,
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
            lightest: Lightest::default(),
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

    fn keys(fp: &Fingerprint) -> impl Iterator<Item = (u64, f64, bool)> {
        let any_key = fp.tokens().iter().any(|t| is_key(t.class));
        // A text made only of template words still needs a way to be found.
        fp.tokens()
            .iter()
            .filter(move |t| !any_key || is_key(t.class))
            .map(|t| (t.hash, t.weight(), t.in_title))
    }

    /// Adds an article of `story`, published (or first seen) at `at`. Nothing is dropped here:
    /// dropping what lies a window before the newest article seen made the stories of a pass
    /// depend on the order sources answered in (an old item arriving after a recent one no
    /// longer found its story). Callers that stream through time call
    /// [`StoryIndex::evict_before`].
    pub fn insert(&mut self, story: i64, at: DateTime<Utc>, fp: Fingerprint) {
        let id = self.first_id + self.entries.len() as u64;
        for (hash, weight, in_title) in Self::keys(&fp) {
            let weight = weight as f32;
            self.postings
                .entry(hash)
                .or_default()
                .push_back((id as u32, if in_title { weight } else { -weight }));
        }
        let millis = at.timestamp_millis();
        let meta = Meta::of(&fp, millis);
        self.lightest
            .push(id, fp.total(), fp.title_total(), f64::from(meta.loose));
        self.meta.push_back(meta);
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
            self.lightest.pop(id);
            for (hash, ..) in Self::keys(&entry.fp) {
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
        self.scan(fp, at, self.threshold, false, similarity_reaching)
    }

    /// The earlier story that an article of a new story continues ("suite de"): the most
    /// related article dated before it, by [`follows`]. Only asked when [`StoryIndex::find`]
    /// found no story to join.
    pub(crate) fn running(&self, fp: &Fingerprint, at: DateTime<Utc>) -> Option<(i64, f64)> {
        self.scan(fp, at, super::LINK_THRESHOLD, true, |a, b, floor, _| {
            follows(a, b, self.threshold).filter(|&s| s >= floor)
        })
    }

    /// The story of the best-scoring article within the window around `at` (before it, with
    /// `earlier_only`) whose score reaches `threshold`. `score` returns `None` below its
    /// floor and never more than the weighted overlap, which bounds the candidates to read;
    /// it is given that bound.
    fn scan(
        &self,
        fp: &Fingerprint,
        at: DateTime<Utc>,
        threshold: f64,
        earlier_only: bool,
        score: impl Fn(&Fingerprint, &Fingerprint, f64, f64) -> Option<f64>,
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
        shared.resize(self.entries.len(), [0.0; 2]);
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
            shared[k] = [0.0; 2];
        }
        touched.clear();
        best
    }

    /// Adds, per entry position, the weight it shares with `fp` through the postings read, in
    /// the whole texts and in the titles; returns the weight that candidates may share outside
    /// them (the query's non-key stems and its too-common keys), which bounds what an entry
    /// can reach.
    fn accumulate(
        &self,
        fp: &Fingerprint,
        shared: &mut [[f32; 2]],
        touched: &mut Vec<usize>,
    ) -> Unread {
        let any_key = fp.tokens().iter().any(|t| is_key(t.class));
        let mut unread = Unread::default();
        for t in fp.tokens() {
            let weight = t.weight();
            // A title stem's weight is its class weight, which the titles' overlap counts.
            let title = if t.in_title { weight } else { 0.0 };
            if any_key && !is_key(t.class) {
                unread.whole += weight;
                unread.title += title;
                continue;
            }
            // An entry that holds this key stem as a date or boilerplate is in none of its
            // postings: the titles may share that much more. (The whole texts' bound has
            // never counted it; a query without keys reads every class, so anything.)
            unread.title += match (t.in_title, any_key) {
                (false, _) => 0.0,
                (true, true) => Params::DEFAULT.key_mismatch(),
                (true, false) => title,
            };
            // The same in the whole texts, where a summary's stem counts too; bounded again
            // per entry by what it holds outside its postings.
            unread.mismatch += if any_key {
                Params::DEFAULT.key_mismatch().min(weight)
            } else {
                weight
            };
            let Some(list) = self.postings.get(&t.hash) else {
                continue;
            };
            if list.len() > MAX_POSTING {
                unread.whole += weight;
                unread.title += title;
                continue;
            }
            let weight = weight as f32;
            // `evict_before` removes an entry from each of its lists, so every id here is
            // held; the check only guards against a list out of step.
            let (front, back) = list.as_slices();
            for &(id, stored) in front.iter().chain(back) {
                let k = id.wrapping_sub(self.first_id as u32) as usize;
                let Some(slot) = shared.get_mut(k) else {
                    continue;
                };
                if slot[0] == 0.0 {
                    touched.push(k);
                }
                let (w, w_title) = title_weight(stored);
                slot[0] += weight.min(w);
                if t.in_title {
                    slot[1] += weight.min(w_title);
                }
            }
        }
        unread
    }

    /// The touched entries within the window whose score may reach the threshold, with that
    /// upper bound, highest first (and the most recent first among equal bounds).
    fn bound(
        &self,
        q: &Query,
        shared: &[[f32; 2]],
        touched: &[usize],
        out: &mut Vec<(f64, usize)>,
    ) {
        let p = Params::DEFAULT;
        let window_millis = self.window.num_milliseconds();
        let (total, title_total) = (q.fp.total(), q.fp.title_total());
        // With Dice at most 1, reaching the threshold needs an overlap over the lighter text of
        // at least `needed`: a multiplication that dismisses most candidates before the
        // divisions below (a hair lower, so that rounding never dismisses one they keep).
        let needed = ((q.threshold - p.dice_share) / (1.0 - p.dice_share)).max(0.0) * (1.0 - 1e-9);
        // What even the lightest entry held needs: most candidates share less.
        let (lightest, lightest_title) = self.lightest.totals();
        let floor = needed * total.min(lightest);
        let floor_title = needed * title_total.min(lightest_title);
        // What the whole texts may share through stems an entry holds as dates or boilerplate,
        // before reading the entry's own: no more than the loosest entry held.
        let mismatch = q.unread.mismatch.min(self.lightest.loosest());
        out.clear();
        for &k in touched {
            // The vetoes only lower the weighted overlap, whose upper bound follows from the
            // shared weight read plus all that was not read (with a margin for the `f32`
            // sums). The overlap is the better of the whole texts and of the titles alone,
            // each bounded by what it may share: a lede that shares a few words with the
            // query's does not make their titles alike.
            let [whole, title] = shared[k];
            let whole = f64::from(whole) * (1.0 + 1e-5) + q.unread.whole;
            let title = f64::from(title) * (1.0 + 1e-5) + q.unread.title;
            // A title shares no more than the whole text: the titles' own bound, with its
            // allowance for unindexed dates, only helps when ledes share more than titles.
            if whole + mismatch < floor && title.min(whole + mismatch) < floor_title {
                continue;
            }
            // Dates and totals sit apart from the fingerprints: the rest of the candidates are
            // mostly dismissed on them, without reading the fingerprint's memory.
            let meta = &self.meta[k];
            if (meta.millis - q.at_millis).abs() > window_millis
                || (q.earlier_only && meta.millis > q.at_millis)
            {
                continue;
            }
            let whole = whole + q.unread.mismatch.min(f64::from(meta.loose));
            let title = title.min(whole);
            if whole < needed * total.min(meta.total)
                && title < needed * title_total.min(meta.title_total)
            {
                continue;
            }
            let upper = |bound: f64, ta: f64, tb: f64| {
                let lighter = ta.min(tb);
                if lighter <= 0.0 {
                    return 0.0;
                }
                p.dice_share * (2.0 * bound / (ta + tb)).min(1.0)
                    + (1.0 - p.dice_share) * (bound / lighter).min(1.0)
            };
            let mut upper =
                upper(whole, total, meta.total).max(upper(title, title_total, meta.title_total));
            // A count veto lowers any score by its factor (a sequel's too): at the default
            // weights, out of reach of a merge.
            if upper >= q.threshold && meta.counts.conflict(q.fp) {
                upper = upper.min(1.0) * p.conflict;
            }
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
        score: &impl Fn(&Fingerprint, &Fingerprint, f64, f64) -> Option<f64>,
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
            if let Some(s) = score(q.fp, &entry.fp, floor, upper)
                && best.is_none_or(|(bk, _, b)| s > b || (s == b && k > bk))
            {
                best = Some((k, entry.story, s));
            }
        }
        best.map(|(_, story, s)| (story, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_conflict_only_where_the_number_veto_applies() {
        use super::super::fingerprint::{compare, fingerprint};
        let base = fingerprint("Canicule : les écoles du Gers fermées jeudi (12)", "");
        for (other, vetoed) in [
            ("Canicule : les écoles du Gers fermées jeudi (13)", true),
            ("Canicule : les écoles du Gers fermées jeudi (12)", false),
            ("Canicule : les écoles du Gers fermées jeudi", false),
            ("Canicule : 12 écoles du Gers fermées jeudi (13)", false),
        ] {
            let fp = fingerprint(other, "");
            let sure = Counts::of(&fp).conflict(&base);
            assert_eq!(sure, vetoed, "{other}");
            // Never a veto that the similarity would not apply.
            assert!(!sure || compare(&base, &fp).conflict, "{other}");
        }
    }

    #[test]
    fn lightest_totals_follow_the_entries_held() {
        // Entries come in and leave oldest first; the lightest totals are those of the
        // entries still held, whatever the order of their weights.
        let mut lightest = Lightest::default();
        let totals: Vec<(f64, f64)> = (0..40u64)
            .map(|i| {
                let w = ((i * 7919) % 13) as f64 + 1.0;
                (w, w * 0.5 + (i % 3) as f64)
            })
            .collect();
        assert_eq!(lightest.totals(), (0.0, 0.0));
        let mut first = 0;
        for (id, &(whole, title)) in totals.iter().enumerate() {
            lightest.push(id as u64, whole, title, title - whole);
            if id % 3 == 2 {
                lightest.pop(first as u64);
                first += 1;
            }
            let held = &totals[first..=id];
            let min = |f: fn(&(f64, f64)) -> f64| held.iter().map(f).fold(f64::INFINITY, f64::min);
            assert_eq!(
                lightest.totals(),
                (min(|t| t.0), min(|t| t.1)),
                "after {id}"
            );
            // The loosest is a maximum: the smallest of the negated weights.
            assert_eq!(lightest.loosest(), -min(|t| t.0 - t.1), "after {id}");
        }
    }
}
