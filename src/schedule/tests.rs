use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;

use super::*;

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn upcoming(expr: &str, from: &str, count: usize) -> Vec<String> {
    Schedule::new(&[expr], Paris)
        .unwrap()
        .upcoming(t(from), count)
        .iter()
        .map(|d| d.to_rfc3339())
        .collect()
}

#[test]
fn expressions_are_five_posix_fields() {
    assert!(Expr::parse("*/30 6-21 * * 1-5").is_ok());
    assert!(Expr::parse("0 8 1 */2 *").is_ok());
    let e = Expr::parse("0 0 7 * * *").unwrap_err();
    assert!(e.message.contains("6 champs au lieu de 5"), "{e:?}");
    let e = Expr::parse("0 25 * * *").unwrap_err();
    assert!(
        e.message.contains("champ « heure » invalide (`25`)"),
        "{e:?}"
    );
    assert_eq!(e.offset, Some(2));
    let e = Expr::parse("*/30 6-21 * * lundi").unwrap_err();
    assert!(e.message.contains("jour de la semaine"), "{e:?}");
    assert_eq!(e.offset, Some(14));
    let e = Expr::parse("0 0 31 2 *").unwrap_err();
    assert!(e.message.contains("n'existe jamais"), "{e:?}");
    assert!(Expr::parse("  ").is_err());
}

#[test]
fn weekdays_count_from_sunday_zero() {
    // 2025-06-01 is a Sunday: `0 7 * * 1-5` skips it, `0 7 * * 0` and `… 7` take it.
    assert_eq!(
        upcoming("0 7 * * 1-5", "2025-05-31T12:00:00+02:00", 1),
        ["2025-06-02T07:00:00+02:00"]
    );
    assert_eq!(
        upcoming("0 7 * * 0", "2025-05-31T12:00:00+02:00", 1),
        ["2025-06-01T07:00:00+02:00"]
    );
    assert_eq!(
        upcoming("0 7 * * 7", "2025-05-31T12:00:00+02:00", 1),
        ["2025-06-01T07:00:00+02:00"]
    );
}

#[test]
fn fixed_times_in_the_spring_gap_run_right_after_it() {
    assert_eq!(
        upcoming("30 2 * * *", "2025-03-29T12:00:00+01:00", 3),
        [
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T02:30:00+02:00",
            "2025-04-01T02:30:00+02:00"
        ]
    );
    assert_eq!(
        upcoming("0 2 * * *", "2026-03-28T12:00:00+01:00", 2),
        ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"]
    );
}

#[test]
fn fixed_times_in_the_autumn_overlap_run_once() {
    assert_eq!(
        upcoming("30 2 * * *", "2025-10-25T12:00:00+02:00", 2),
        ["2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"]
    );
    // Starting inside the second copy of the hour: the first copy has passed, so tomorrow.
    assert_eq!(
        upcoming("30 2 * * *", "2025-10-26T02:10:00+01:00", 1),
        ["2025-10-27T02:30:00+01:00"]
    );
}

#[test]
fn intervals_keep_their_pace_in_real_time() {
    assert_eq!(
        upcoming("*/15 * * * *", "2025-03-30T01:40:00+01:00", 2),
        ["2025-03-30T01:45:00+01:00", "2025-03-30T03:00:00+02:00"]
    );
    assert_eq!(
        upcoming("*/15 * * * *", "2025-10-26T02:40:00+02:00", 3),
        [
            "2025-10-26T02:45:00+02:00",
            "2025-10-26T02:00:00+01:00",
            "2025-10-26T02:15:00+01:00"
        ]
    );
}

#[test]
fn a_union_of_expressions_runs_once_per_instant() {
    let s = Schedule::new(&["*/30 6-21 * * 1-5", "0 * * * *"], Paris).unwrap();
    let runs: Vec<String> = s
        .upcoming(t("2025-06-02T05:10:00+02:00"), 4)
        .iter()
        .map(|d| d.to_rfc3339())
        .collect();
    assert_eq!(
        runs,
        [
            "2025-06-02T06:00:00+02:00",
            "2025-06-02T06:30:00+02:00",
            "2025-06-02T07:00:00+02:00",
            "2025-06-02T07:30:00+02:00"
        ]
    );
    // Saturday night: hourly only.
    let runs: Vec<String> = s
        .upcoming(t("2025-06-07T22:10:00+02:00"), 2)
        .iter()
        .map(|d| d.to_rfc3339())
        .collect();
    assert_eq!(
        runs,
        ["2025-06-07T23:00:00+02:00", "2025-06-08T00:00:00+02:00"]
    );
}

fn job(name: &str, exprs: &[&str], task: Task) -> Job {
    Job {
        name: name.into(),
        label: name.into(),
        schedule: Schedule::new(exprs, Paris).unwrap(),
        task,
    }
}

fn draft(name: &str, exprs: &[&str]) -> Job {
    job(name, exprs, Task::Draft { kind: name.into() })
}

/// Drives a scheduler through simulated time from `start` to `end` as the daemon does
/// (wake at the next slot, run what is due); returns each run as (job, local slot).
fn simulate(scheduler: &mut Scheduler, start: &str, end: &str) -> Vec<(String, String)> {
    let (mut now, end) = (t(start), t(end));
    let mut runs = Vec::new();
    loop {
        for due in scheduler.due(now) {
            runs.push((
                scheduler.jobs[due.index].job.name.clone(),
                due.slot.with_timezone(&Paris).to_rfc3339(),
            ));
            scheduler.mark_run(due.index, due.slot);
        }
        match scheduler.next_wake() {
            Some(wake) if wake <= end => now = wake,
            _ => return runs,
        }
    }
}

#[test]
fn the_loop_runs_each_local_time_once_across_both_changes() {
    for (start, end, expected) in [
        (
            "2025-03-28T12:00:00+01:00",
            "2025-04-01T00:00:00+02:00",
            [
                "2025-03-29T02:30:00+01:00",
                "2025-03-30T03:00:00+02:00",
                "2025-03-31T02:30:00+02:00",
            ],
        ),
        (
            "2025-10-24T12:00:00+02:00",
            "2025-10-28T00:00:00+01:00",
            [
                "2025-10-25T02:30:00+02:00",
                "2025-10-26T02:30:00+02:00",
                "2025-10-27T02:30:00+01:00",
            ],
        ),
    ] {
        let mut s = Scheduler::new(vec![draft("d", &["30 2 * * *"])], |_| None);
        assert_eq!(s.set_baselines(t(start)), [0]);
        let runs: Vec<String> = simulate(&mut s, start, end)
            .into_iter()
            .map(|(_, slot)| slot)
            .collect();
        assert_eq!(runs, expected);
    }
}

#[test]
fn a_downtime_is_caught_up_once() {
    let jobs = vec![
        job(
            "poll",
            &["0 * * * *"],
            Task::Poll {
                sources: vec!["A".into()],
            },
        ),
        draft("d", &["0 7 * * *"]),
    ];
    // Never ran: polling runs at once, the draft waits for its first slot.
    let mut s = Scheduler::new(jobs.clone(), |_| None);
    assert_eq!(s.set_baselines(t("2025-06-02T09:20:00+02:00")), [1]);
    let runs = simulate(
        &mut s,
        "2025-06-02T09:20:00+02:00",
        "2025-06-02T12:10:00+02:00",
    );
    assert_eq!(
        runs,
        [
            ("poll".into(), "2025-06-02T09:20:00+02:00".into()),
            ("poll".into(), "2025-06-02T10:00:00+02:00".into()),
            ("poll".into(), "2025-06-02T11:00:00+02:00".into()),
            ("poll".into(), "2025-06-02T12:00:00+02:00".into()),
        ]
    );
    // Down from 12:10 to 18:30 the next day: restored from what was stored, each job runs
    // once, standing for its latest slot.
    let stored: Vec<_> = s
        .jobs
        .iter()
        .map(|j| (j.job.name.clone(), j.last_slot))
        .collect();
    let mut s = Scheduler::new(jobs, |name| {
        stored.iter().find(|(n, _)| n == name).and_then(|(_, l)| *l)
    });
    assert!(s.set_baselines(t("2025-06-03T18:30:00+02:00")).is_empty());
    let due = s.due(t("2025-06-03T18:30:00+02:00"));
    assert_eq!(
        due,
        [
            Due {
                index: 0,
                slot: t("2025-06-03T18:00:00+02:00"),
                missed: 29,
                first_run: false
            },
            Due {
                index: 1,
                slot: t("2025-06-03T07:00:00+02:00"),
                missed: 0,
                first_run: false
            }
        ]
    );
    for d in due {
        s.mark_run(d.index, d.slot);
    }
    assert!(s.due(t("2025-06-03T18:30:00+02:00")).is_empty());
    assert_eq!(s.next_wake(), Some(t("2025-06-03T19:00:00+02:00")));
}

#[test]
fn bad_schedules_are_located_in_the_file() {
    let errors = crate::config::parse(
        "[schedule]\npoll = [\"0 * * * *\", \"*/30 6-25 * * 1-5\"]\n\n[[sources]]\nname = \"A\"\nfeed = \"https://a.example.org/rss\"\nschedule = \"0 7 * *\"\n\n[publications.flash-info]\ntitle = \"Flash Info\"\ndraft_schedule = \"0 8 1 * * *\"\n",
        "feeds.toml",
    )
    .unwrap_err()
    .0;
    let located: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(located, [(2, 28), (7, 12), (11, 18)], "{errors:#?}");
    assert!(
        errors[0]
            .message
            .contains("champ « heure » invalide (`6-25`)")
    );
    assert!(errors[1].message.contains("4 champs au lieu de 5"));
    assert!(errors[2].message.contains("6 champs au lieu de 5"));
    assert!(errors[0].hint.as_deref().unwrap().contains("5 champs"));
    let e = crate::config::parse(
        "[dossiers.pauvrete]\ntitle = \"P\"\npanorama_schedule = \"0 7 * * *\"\n",
        "f",
    )
    .unwrap_err()
    .0;
    assert!(e[0].message.contains("pas de panorama"), "{e:?}");
}

#[test]
fn empty_list_items_are_refused_at_their_field() {
    for (text, field, offset) in [
        (", 6-21 * * 1-5", "minute", 0),
        ("0 7 1,,15 * *", "jour du mois", 4),
        ("0 7 * * 1,", "jour de la semaine", 8),
    ] {
        let e = Expr::parse(text).unwrap_err();
        assert!(e.message.contains("élément vide"), "{text} : {}", e.message);
        assert!(e.message.contains(field), "{text} : {}", e.message);
        assert_eq!(e.offset, Some(offset), "{text}");
    }
    assert!(Expr::parse("0 7 1,15 * *").is_ok());
}
