//! The detail of the next story, read after the frame: a `j` (or `k`) then shows a detail
//! read a moment before instead of waiting on seven reads of the store before its frame. A
//! detail read more than `FRESH` ago is read again, and every write or reload forgets them,
//! so that what the pane shows is never older than what the polling loop would show.

use std::time::{Duration, Instant};

use super::{App, Mode};
use crate::store::StoryDetail;

/// How long a detail read ahead may stand for the store's.
const FRESH: Duration = Duration::from_secs(1);

/// The detail pane of a story and the story it continues, as `App::load_detail` reads them.
type Pane = (Option<StoryDetail>, Option<(i64, String)>);

/// A story's detail pane, read ahead.
#[derive(Debug, Clone)]
pub(crate) struct Prefetched {
    pub(crate) story: i64,
    read: Instant,
    detail: Option<StoryDetail>,
    follows: Option<(i64, String)>,
}

impl App {
    /// The detail of `story` read ahead less than `FRESH` ago, taken out.
    pub(super) fn take_prefetched(&mut self, story: i64) -> Option<Pane> {
        let i = self
            .prefetched
            .iter()
            .position(|p| p.story == story && p.read.elapsed() < FRESH)?;
        let p = self.prefetched.swap_remove(i);
        Some((p.detail, p.follows))
    }

    /// Forgets what was read ahead (after a write, a reload, another list).
    pub(super) fn forget_prefetched(&mut self) {
        self.prefetched.clear();
        self.prefetched_around = None;
    }

    /// After a frame of the inbox: the detail of the row the last move goes towards (the
    /// one below at first), once per selection and direction. Returns whether it read anything.
    pub(super) async fn prefetch_next(&mut self) -> anyhow::Result<bool> {
        if self.mode != Mode::Inbox {
            return Ok(false);
        }
        let Some(current) = self.selected_row().map(|r| r.story) else {
            return Ok(false);
        };
        if self.prefetched_around == Some((current, self.moved_up)) {
            return Ok(false);
        }
        self.prefetched_around = Some((current, self.moved_up));
        let next = if self.moved_up {
            self.selected.checked_sub(1)
        } else {
            self.selected.checked_add(1)
        };
        let Some(story) = next.and_then(|i| self.rows.get(i)).map(|r| r.story) else {
            return Ok(false);
        };
        self.prefetched
            .retain(|p| p.story == story && p.read.elapsed() < FRESH);
        if !self.prefetched.is_empty() {
            return Ok(false);
        }
        let read = Instant::now();
        let detail = self.store.story_detail(story).await?;
        let follows = self.store.story_follows(story).await?;
        self.prefetched.push(Prefetched {
            story,
            read,
            detail,
            follows,
        });
        Ok(true)
    }
}
