//! The clocks that drive the scheduler: the real one, and two injected ones for tests and
//! benchmarks, chosen by the hidden variable `VEILLE_TEST_CLOCK`:
//!
//! - `START` (RFC 3339): the clock reads `START` when the process starts and then runs at
//!   the real pace (a daemon "restarted" hours later, without waiting hours);
//! - `START..END`: compressed time; every wait for the next slot ends at once and moves the
//!   clock to that slot, until `END`, where the clock stops and the daemon only idles.
//!
//! Only the scheduler reads this clock; fetching and storing keep the real time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The variable that injects a clock (tests and benchmarks only).
pub(crate) const TEST_CLOCK_VAR: &str = "VEILLE_TEST_CLOCK";

/// The longest single sleep: the clock is read again at least this often, so that a wall
/// clock that jumps (NTP, suspend) is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Time to read the clock again (the target may or may not be reached).
    Again,
    /// A compressed clock reached its end: nothing will ever be due.
    Exhausted,
}

pub(crate) type WakeFuture<'a> = Pin<Box<dyn Future<Output = Wake> + Send + 'a>>;

pub(crate) trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Waits towards `t`; the caller reads the clock again on waking.
    fn sleep_until(&self, t: DateTime<Utc>) -> WakeFuture<'_>;
    /// For logs.
    fn describe(&self) -> String;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SystemClock;

fn sleep_towards(now: DateTime<Utc>, t: DateTime<Utc>) -> WakeFuture<'static> {
    let wait = (t - now).to_std().unwrap_or(Duration::ZERO).min(MAX_SLEEP);
    Box::pin(async move {
        tokio::time::sleep(wait).await;
        Wake::Again
    })
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep_until(&self, t: DateTime<Utc>) -> WakeFuture<'_> {
        sleep_towards(Utc::now(), t)
    }
    fn describe(&self) -> String {
        "horloge du système".into()
    }
}

/// The system clock shifted: it read `start` when created.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShiftedClock {
    offset: chrono::Duration,
}

impl ShiftedClock {
    pub(crate) fn starting_at(start: DateTime<Utc>) -> Self {
        ShiftedClock {
            offset: start - Utc::now(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
    fn sleep_until(&self, t: DateTime<Utc>) -> WakeFuture<'_> {
        sleep_towards(self.now(), t)
    }
    fn describe(&self) -> String {
        format!("horloge de test décalée (maintenant {})", self.now())
    }
}

/// Compressed time: waiting moves the clock at once, up to `end`.
#[derive(Debug)]
pub(crate) struct CompressedClock {
    now: Mutex<DateTime<Utc>>,
    end: DateTime<Utc>,
}

impl CompressedClock {
    pub(crate) fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        CompressedClock {
            now: Mutex::new(start),
            end,
        }
    }
}

impl Clock for CompressedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock")
    }
    fn sleep_until(&self, t: DateTime<Utc>) -> WakeFuture<'_> {
        let wake = {
            let mut now = self.now.lock().expect("clock lock");
            if t <= self.end {
                *now = (*now).max(t);
                Wake::Again
            } else {
                *now = (*now).max(self.end);
                Wake::Exhausted
            }
        };
        Box::pin(async move {
            tokio::task::yield_now().await;
            wake
        })
    }
    fn describe(&self) -> String {
        format!("horloge de test accélérée ({} → {})", self.now(), self.end)
    }
}

/// The clock `VEILLE_TEST_CLOCK` asks for, else the system clock.
pub(crate) fn from_env() -> Result<Box<dyn Clock>, String> {
    match std::env::var(TEST_CLOCK_VAR) {
        Ok(spec) if !spec.trim().is_empty() => parse(&spec),
        _ => Ok(Box::new(SystemClock)),
    }
}

fn parse(spec: &str) -> Result<Box<dyn Clock>, String> {
    let time = |t: &str| {
        DateTime::parse_from_rfc3339(t.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{TEST_CLOCK_VAR} : date RFC 3339 invalide « {t} » ({e})"))
    };
    match spec.split_once("..") {
        Some((start, end)) => {
            let (start, end) = (time(start)?, time(end)?);
            if end < start {
                return Err(format!("{TEST_CLOCK_VAR} : la fin précède le début"));
            }
            Ok(Box::new(CompressedClock::new(start, end)))
        }
        None => Ok(Box::new(ShiftedClock::starting_at(time(spec)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn compressed_clock_jumps_then_stops() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let clock = parse("2025-06-02T10:00:00+02:00..2025-06-02T11:00:00+02:00").unwrap();
        assert_eq!(clock.now(), t("2025-06-02T08:00:00Z"));
        assert_eq!(
            clock.sleep_until(t("2025-06-02T08:30:00Z")).await,
            Wake::Again
        );
        assert_eq!(clock.now(), t("2025-06-02T08:30:00Z"));
        assert_eq!(
            clock.sleep_until(t("2025-06-02T09:30:00Z")).await,
            Wake::Exhausted
        );
        assert_eq!(clock.now(), t("2025-06-02T09:00:00Z"));
        let shifted = parse("2020-01-01T00:00:00Z").unwrap();
        assert!(
            (shifted.now() - t("2020-01-01T00:00:00Z"))
                .num_seconds()
                .abs()
                < 5
        );
        assert!(parse("hier").is_err());
    }
}
