//! The daemon commands: `run` (schedules + web server), `schedule` (next run times of an
//! expression), `status` (the daemon's figures for a person); and the schedules that
//! `check` lists.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, LocalResult, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::report::{CommandError, Report};
use super::{EXIT_OK, EXIT_USAGE, local_time, truncate};
use crate::config::Config;
use crate::cron::{self, Expr, Schedule};
use crate::daemon::lock::{self, DaemonLock, LockError};
use crate::daemon::metrics::{self, Snapshot, age};
use crate::prepared::Prepared;
use crate::schedule::clock;
use crate::store::Store;

/// `veille run [--listen ADDR:PORT]`: the daemon, until SIGTERM or SIGINT.
pub(crate) async fn run(
    prepared: &Prepared,
    archive: &Path,
    listen: Option<&str>,
) -> anyhow::Result<i32> {
    let config = &prepared.config;
    let Some(addr) = super::listen_address(config, listen) else {
        return Ok(EXIT_USAGE);
    };
    let clock = match clock::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(EXIT_USAGE);
        }
    };
    let lock = match DaemonLock::acquire(archive) {
        Ok(l) => l,
        Err(e @ LockError::Held { .. }) => {
            eprintln!(
                "erreur : {e} ({}).\n  aide : arrêtez-le d'abord (systemctl stop veille, ou kill PID), ou donnez une autre archive avec --archive",
                archive.display()
            );
            return Ok(EXIT_USAGE);
        }
        Err(e) => return Err(e.into()),
    };
    let listener = crate::web::bind(addr).await?;
    crate::daemon::run(prepared.clone(), archive.to_path_buf(), listener, clock).await?;
    drop(lock);
    Ok(EXIT_OK)
}

/// Reads `--from`: RFC 3339, or a local `AAAA-MM-JJTHH:MM[:SS]` in the configured timezone.
fn parse_from(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(|| {
            format!(
                "date invalide « {text} » (--from) : RFC 3339 (2025-03-30T01:00:00+01:00) ou heure locale AAAA-MM-JJTHH:MM"
            )
        })?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "l'heure locale « {text} » n'existe pas ({tz} avance d'une heure ce jour-là)"
        )),
    }
}

/// `veille schedule "EXPR" [--from T] [--count N] [--json]`: the next run times.
pub(crate) fn schedule(
    config: &Config,
    expr: &str,
    from: Option<&str>,
    count: usize,
) -> Result<Upcoming, CommandError> {
    let tz = config.tz();
    if let Err(e) = Expr::parse(expr) {
        return Err(CommandError::Usage(format!(
            "{}\n  aide : {}",
            e.message,
            cron::SYNTAX_HINT
        )));
    }
    let schedule = Schedule::new(&[expr], tz).expect("checked above");
    let from = from
        .map(|f| parse_from(f, tz))
        .transpose()
        .map_err(CommandError::Usage)?
        .unwrap_or_else(Utc::now);
    if count == 0 || count > 10_000 {
        return Err(CommandError::Usage(
            "--count doit être entre 1 et 10000".into(),
        ));
    }
    Ok(Upcoming {
        runs: schedule.upcoming(from, count),
        text: schedule.text(),
        from: from.with_timezone(&tz),
    })
}

/// The next run times of an expression: a JSON array of RFC 3339 times with their offset, or
/// one French line each under the expression.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Upcoming {
    #[serde(serialize_with = "offset_times")]
    runs: Vec<DateTime<Tz>>,
    /// The expression, as the schedule writes it.
    #[serde(skip)]
    text: String,
    #[serde(skip)]
    from: DateTime<Tz>,
}

fn offset_times<S: serde::Serializer>(runs: &[DateTime<Tz>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        runs.iter()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false)),
    )
}

impl Report for Upcoming {
    const PRETTY: bool = true;
}

impl fmt::Display for Upcoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "« {} » ({}), après le {} :",
            self.text,
            self.from.timezone(),
            self.from.format("%d/%m/%Y %H:%M:%S %:z")
        )?;
        for t in &self.runs {
            write!(
                f,
                "\n  {} {}",
                day_name(t.date_naive()),
                t.format("%d/%m/%Y %H:%M (UTC%:z)")
            )?;
        }
        Ok(())
    }
}

fn day_name(day: chrono::NaiveDate) -> &'static str {
    use chrono::Datelike;
    ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
        [day.weekday().num_days_from_monday() as usize]
}

/// The jobs of `check`, with their next run.
pub(super) fn schedules(config: &Config) -> Vec<ScheduledJob> {
    let now = Utc::now();
    crate::daemon::jobs(config)
        .into_iter()
        .map(|j| {
            let next_at = j.schedule.next_after(now);
            ScheduledJob {
                next: next_at.map(|t| {
                    t.with_timezone(&j.schedule.timezone())
                        .to_rfc3339_opts(SecondsFormat::Secs, false)
                }),
                schedule: j.schedule.text(),
                job: j.name,
                label: j.label,
                next_at,
            }
        })
        .collect()
}

/// A job of the daemon as `check` lists it.
#[derive(Debug, serde::Serialize)]
pub(super) struct ScheduledJob {
    job: String,
    label: String,
    /// The expression as written in the configuration.
    schedule: String,
    /// The next run in the job's timezone (RFC 3339), none when the expression never fires.
    next: Option<String>,
    #[serde(skip)]
    next_at: Option<DateTime<Utc>>,
}

/// The jobs of `check`, for a person.
pub(super) fn write_schedules(
    out: &mut String,
    config: &Config,
    jobs: &[ScheduledJob],
) -> fmt::Result {
    use std::fmt::Write;
    writeln!(
        out,
        "Planification du démon `veille run` ({} tâche(s), fuseau {}, arrêt en {} s au plus pour les relèves en cours) :",
        jobs.len(),
        config.settings.timezone,
        config.schedule.stop_grace_secs
    )?;
    for j in jobs {
        let next = j
            .next_at
            .map_or_else(|| "jamais".into(), |t| local_time(config, t));
        writeln!(
            out,
            "  {:<34} {:<34} prochaine : {next}",
            truncate(&j.label, 34),
            j.schedule
        )?;
    }
    Ok(())
}

/// `veille status [--json]`: the daemon's figures, as `/metrics` gives them, for a person.
pub(crate) async fn status<'a>(
    config: &'a Config,
    archive: &Path,
) -> Result<Status<'a>, CommandError> {
    let store = Store::open(archive).await?;
    store.sync_sources(&config.sources).await?;
    let now = Utc::now();
    let snapshot = metrics::snapshot(&store, config, now).await?;
    let holder = lock::holder(archive);
    let bounces = super::bounces::status_figures(config, &store).await?;
    Ok(Status {
        snapshot,
        daemon: Daemon {
            running: holder.is_some(),
            pid: holder.filter(|p| *p > 0),
        },
        bounces,
        config,
    })
}

/// The daemon's figures: whether it runs, its jobs, the sources, the bounce loop.
#[derive(Serialize)]
pub(crate) struct Status<'a> {
    #[serde(flatten)]
    snapshot: Snapshot,
    daemon: Daemon,
    bounces: super::bounces::StatusFigures,
    /// For the local times.
    #[serde(skip)]
    config: &'a Config,
}

/// Whether a daemon holds the archive's lock, and its process when it said.
#[derive(Serialize)]
struct Daemon {
    running: bool,
    pid: Option<u32>,
}

impl Report for Status<'_> {
    const PRETTY: bool = true;
    const SORTED: bool = true;
}

impl fmt::Display for Status<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::fmt::Write;
        super::report::lines(f, |out| {
            match self.daemon.pid {
                Some(pid) => writeln!(out, "Démon : en marche (pid {pid})")?,
                None if self.daemon.running => writeln!(out, "Démon : en marche")?,
                None => writeln!(
                    out,
                    "Démon : arrêté (lancez `veille run`, ou `systemctl start veille`)"
                )?,
            }
            write_status(out, self.config, &self.snapshot)?;
            super::bounces::write_status_figures(out, &self.bounces)
        })
    }
}

fn write_status(out: &mut String, config: &Config, s: &Snapshot) -> fmt::Result {
    use std::fmt::Write;
    let when = |t: Option<DateTime<Utc>>| t.map_or_else(|| "—".into(), |t| local_time(config, t));
    writeln!(out, "\nTâches planifiées (fuseau {}) :", s.timezone)?;
    for job in &s.jobs {
        let j = &job.stored;
        let last = match (&j.last_run, j.last_status.as_deref()) {
            (None, _) => "jamais exécutée".to_string(),
            (Some(t), status) => {
                let state = if status == Some("error") {
                    "échec"
                } else {
                    "ok"
                };
                let seconds = j.last_duration_ms.unwrap_or(0) as f64 / 1000.0;
                format!(
                    "dernière {} ({state}, {})",
                    local_time(config, *t),
                    format!("{seconds:.1} s").replace('.', ",")
                )
            }
        };
        writeln!(out, "  {} — {}", job.label, job.schedule)?;
        writeln!(
            out,
            "      {last} ; prochaine {} ; {} exécution(s), {} échec(s)",
            when(job.next_run),
            j.runs,
            j.failures
        )?;
        if let Some(e) = j
            .last_error
            .as_deref()
            .filter(|_| j.last_status.as_deref() == Some("error"))
        {
            writeln!(out, "      ↳ {e}")?;
        }
    }
    if s.reminders.is_empty() {
        writeln!(out, "\nAucune édition à préparer.")?;
    } else {
        writeln!(out)?;
        for r in &s.reminders {
            writeln!(
                out,
                "{} (période du {} au {})",
                r.message(),
                r.period_start,
                r.period_end
            )?;
        }
    }
    let failing = s
        .sources
        .iter()
        .filter(|x| x.consecutive_errors > 0)
        .count();
    writeln!(
        out,
        "\nArticles : {} ; histoires : {} ; articles nouveaux relevés : {}",
        s.totals.articles, s.totals.stories, s.articles_ingested
    )?;
    let deliveries: Vec<String> = s
        .totals
        .deliveries
        .iter()
        .map(|(state, n)| format!("{n} {}", delivery_label(state)))
        .collect();
    writeln!(
        out,
        "Envois : {}",
        if deliveries.is_empty() {
            "aucun".to_string()
        } else {
            deliveries.join(", ")
        }
    )?;
    writeln!(
        out,
        "\nSources : {} dont {failing} en erreur",
        s.sources.len()
    )?;
    writeln!(
        out,
        "  {:<44} {:>8} {:>8} {:>9}  Dernier succès",
        "Source", "Relèves", "Erreurs", "De suite"
    )?;
    for x in &s.sources {
        let last = x.last_success.map_or_else(
            || "jamais".to_string(),
            |t| format!("il y a {}", age((s.at - t).num_seconds())),
        );
        let off = if x.enabled { "" } else { " (désactivée)" };
        writeln!(
            out,
            "  {:<44} {:>8} {:>8} {:>9}  {last}{off}",
            truncate(&x.name, 44),
            x.fetches,
            x.errors,
            x.consecutive_errors
        )?;
    }
    Ok(())
}

fn delivery_label(state: &str) -> &str {
    match state {
        "queued" => "en attente",
        "sending" => "en cours (incertains)",
        "sent" => "envoyé(s)",
        "failed_temp" => "refus temporaire(s)",
        "failed_perm" => "échec(s) définitif(s)",
        "skipped" => "ignoré(s)",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_accepts_rfc3339_and_local_times() {
        let tz = chrono_tz::Europe::Paris;
        assert_eq!(
            parse_from("2025-03-30T01:00:00+01:00", tz).unwrap(),
            parse_from("2025-03-30T01:00", tz).unwrap()
        );
        // The first of the two 02:30 in October.
        assert_eq!(
            parse_from("2025-10-26T02:30", tz).unwrap().to_rfc3339(),
            "2025-10-26T00:30:00+00:00"
        );
        assert!(
            parse_from("2025-03-30T02:30", tz)
                .unwrap_err()
                .contains("n'existe pas")
        );
        assert!(parse_from("demain", tz).is_err());
    }

    #[test]
    fn the_next_runs_read_as_french_lines_and_as_the_json_array() {
        let tz = chrono_tz::Europe::Paris;
        let schedule = Schedule::new(&["30 2 * * *"], tz).unwrap();
        let from = parse_from("2026-03-28T12:00", tz).unwrap();
        let upcoming = Upcoming {
            runs: schedule.upcoming(from, 2),
            text: schedule.text(),
            from: from.with_timezone(&tz),
        };
        assert_eq!(
            upcoming.to_string(),
            "« 30 2 * * * » (Europe/Paris), après le 28/03/2026 12:00:00 +01:00 :\n  \
             dim. 29/03/2026 03:00 (UTC+02:00)\n  lun. 30/03/2026 02:30 (UTC+02:00)"
        );
        assert_eq!(
            serde_json::to_string_pretty(&upcoming).unwrap(),
            "[\n  \"2026-03-29T03:00:00+02:00\",\n  \"2026-03-30T02:30:00+02:00\"\n]"
        );
    }
}
