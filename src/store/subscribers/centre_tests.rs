//! Two centres on one store, on whichever backend the tests run: each imports, lists,
//! sends to, erases, hears the bounces of and lets manage only its own subscribers, even
//! for an address on both centres' lists.

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::config::centre::Centre;
use crate::store::bounces::{BounceApplied, BouncePolicy, BounceRecord, BounceTarget};
use crate::store::preferences::AddressChange;

fn centre(id: &str) -> Centre {
    Centre {
        id: id.into(),
        name: format!("Centre {id}"),
        region: "occitanie".into(),
    }
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn entry(email: &str, centre: &str) -> ImportEntry {
    ImportEntry {
        email: email.into(),
        name: None,
        details: SubscriberDetails {
            organisation: Some(format!("Structure {centre}")),
            ..SubscriberDetails::default()
        },
        // Each centre keys the suppression list with its own secret.
        hash: format!("h-{centre}-{email}"),
    }
}

/// Centres A ("rt") and B ("mp") on one store; both have partage@ on their list, and one
/// address of their own each.
async fn two_centres(dir: &std::path::Path) -> (Store, Store) {
    let store = crate::testing::open_store(dir).await;
    let a = store.for_centre(&centre("rt")).await.unwrap();
    let b = store.for_centre(&centre("mp")).await.unwrap();
    for (s, own, id) in [(&a, "a@example.org", "rt"), (&b, "b@example.org", "mp")] {
        let entries = [entry("partage@example.org", id), entry(own, id)];
        let outcomes = s
            .import_subscribers("flash-info", &entries, "liste.csv", at())
            .await
            .unwrap();
        // partage@ is new to each centre: imported by both, not a duplicate of the other's.
        assert_eq!(outcomes, [ImportOutcome::Imported, ImportOutcome::Imported]);
    }
    (a, b)
}

fn emails(rows: &[SubscriberRow]) -> Vec<&str> {
    rows.iter().map(|r| r.email.as_str()).collect()
}

async fn statuses(s: &Store) -> Vec<(String, SubscriptionStatus)> {
    s.subscriber_rows(None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.email, r.status))
        .collect()
}

/// A subscriber of the other centre: its signed links change nothing here.
#[tokio::test]
async fn each_centre_lists_and_manages_only_its_own_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_centres(dir.path()).await;
    let rows = a.subscriber_rows(None).await.unwrap();
    assert_eq!(emails(&rows), ["a@example.org", "partage@example.org"]);
    assert_eq!(
        rows[1].details.organisation.as_deref(),
        Some("Structure rt")
    );
    let rows = b.subscriber_rows(Some("flash-info")).await.unwrap();
    assert_eq!(emails(&rows), ["b@example.org", "partage@example.org"]);
    assert_eq!(a.subscriber_details("flash-info").await.unwrap().len(), 2);

    let shared_a = a
        .subscriber_id("partage@example.org")
        .await
        .unwrap()
        .unwrap();
    let shared_b = b
        .subscriber_id("partage@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(shared_a, shared_b);
    assert_eq!(a.subscriber_id("b@example.org").await.unwrap(), None);
    assert_eq!(a.subscriber_email(shared_b).await.unwrap(), None);
    assert!(a.preferences(shared_b).await.unwrap().is_none());

    // A's store is handed B's subscriber (a link of B's opened on A's serve): nothing moves.
    let lists = ["flash-info".to_string()];
    a.unsubscribe(shared_b, "flash-info", at()).await.unwrap();
    a.leave_all(shared_b, at()).await.unwrap();
    a.set_lists(shared_b, &[], &lists, at()).await.unwrap();
    assert!(
        !a.confirm_subscription(shared_b, "flash-info", at())
            .await
            .unwrap()
    );
    assert_eq!(
        a.change_address(shared_b, "pirate@example.org")
            .await
            .unwrap(),
        AddressChange::Gone
    );
    let all_active = |emails: [&str; 2]| {
        emails
            .iter()
            .map(|e| (e.to_string(), SubscriptionStatus::Active))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        statuses(&b).await,
        all_active(["b@example.org", "partage@example.org"])
    );

    // The same address may be B's subscriber: it is not taken for A.
    assert_eq!(
        a.change_address(shared_a, "b@example.org").await.unwrap(),
        AddressChange::Done
    );
    assert_eq!(
        a.change_address(shared_a, "a@example.org").await.unwrap(),
        AddressChange::Taken
    );
    // A's own link works in A.
    a.unsubscribe(shared_a, "flash-info", at()).await.unwrap();
    assert_eq!(
        statuses(&a).await,
        [
            ("a@example.org".to_string(), SubscriptionStatus::Active),
            (
                "b@example.org".to_string(),
                SubscriptionStatus::Unsubscribed
            ),
        ]
    );
    assert_eq!(
        statuses(&b).await,
        all_active(["b@example.org", "partage@example.org"])
    );
    // The web form of B for an address A has: B's own pending subscriber.
    let asked = b
        .request_subscription("a@example.org", "h-mp-a", "lettre", "127.0.0.1", at())
        .await
        .unwrap()
        .expect("new to B");
    assert_eq!(
        b.subscriber_email(asked).await.unwrap().as_deref(),
        Some("a@example.org")
    );
    assert_eq!(a.subscriber_rows(None).await.unwrap().len(), 2);
}

/// One ready edition of A's (written directly: the edition's own queries are not this
/// file's), sent: the row id.
async fn sent_edition_of(s: &Store, id: &str) -> i64 {
    s.exec(&format!(
        "INSERT INTO editions (kind, number, period_start, period_end, status, created_at,
           updated_at, centre)
         VALUES ('flash-info', 1, '2026-11-24', '2026-11-30', 'ready', 'x', 'x', '{id}')"
    ))
    .await;
    let (edition, queued) = s
        .start_sending("flash-info", 1, "flash-info", "example.org", at())
        .await
        .unwrap();
    assert_eq!(queued, 2, "the centre's two active subscribers, no more");
    edition
}

/// A complaint heard by A about B's subscriber (a forged or stray target) is not B's
/// business from A: nothing happens to B's row; one about A's own is applied, and
/// suppresses the address for A only.
async fn complaints_stay_home(a: &Store, b: &Store, edition: i64) {
    let shared_a = a
        .subscriber_id("partage@example.org")
        .await
        .unwrap()
        .unwrap();
    let shared_b = b
        .subscriber_id("partage@example.org")
        .await
        .unwrap()
        .unwrap();
    let policy = BouncePolicy {
        soft_limit: 1,
        soft_editions: 1,
    };
    let complaint = |key: &str, subscriber: i64| BounceRecord {
        message_key: key.into(),
        kind: "complaint".into(),
        status: None,
        reason: None,
        targets: vec![BounceTarget {
            subscriber,
            edition: Some(edition),
            suppression_hash: "h-rt-partage@example.org".into(),
        }],
        outcome: "applied".into(),
        detail: None,
    };
    let applied = a
        .record_bounce(&complaint("m1", shared_b), policy, at())
        .await;
    assert_eq!(applied.unwrap(), BounceApplied::Recorded(vec![]));
    let applied = a
        .record_bounce(&complaint("m2", shared_a), policy, at())
        .await;
    assert_eq!(
        applied.unwrap(),
        BounceApplied::Recorded(vec![(shared_a, "complained".into())])
    );
    // Both messages were read by A: B's figures have none, and B has not processed them
    // (reading a shared mailbox, B would apply them to its own subscribers).
    assert_eq!(
        a.bounce_message_counts().await.unwrap(),
        [("applied".to_string(), 2)]
    );
    assert!(b.bounce_message_counts().await.unwrap().is_empty());
    assert!(a.bounce_processed("m1").await.unwrap());
    assert!(!b.bounce_processed("m1").await.unwrap());
    assert_eq!(
        a.bounce_events("partage@example.org").await.unwrap().len(),
        1
    );
    assert!(
        b.bounce_events("partage@example.org")
            .await
            .unwrap()
            .is_empty()
    );
    let b_status = statuses(b).await;
    assert!(
        b_status
            .iter()
            .all(|(_, s)| *s == SubscriptionStatus::Active)
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM suppressions WHERE centre = 'rt'")
            .await,
        1
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM suppressions WHERE centre = 'mp'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_send_erasure_and_bounces_stay_in_their_centre() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_centres(dir.path()).await;
    let edition = sent_edition_of(&a, "rt").await;
    assert_eq!(
        a.column_texts("SELECT email FROM deliveries ORDER BY email")
            .await,
        ["a@example.org", "partage@example.org"]
    );
    let shared_a = a
        .subscriber_id("partage@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a.delivery_email(edition, shared_a)
            .await
            .unwrap()
            .as_deref(),
        Some("partage@example.org")
    );
    assert_eq!(b.delivery_email(edition, shared_a).await.unwrap(), None);
    assert_eq!(b.edition_row_id("flash-info", 1).await.unwrap(), None);
    assert_eq!(b.last_sent_edition().await.unwrap(), None);

    complaints_stay_home(&a, &b, edition).await;

    // A erases partage@: B's subscriber of the same address stays whole.
    assert!(
        a.forget_subscriber("partage@example.org", "h-rt-partage@example.org", at())
            .await
            .unwrap()
    );
    assert_eq!(
        emails(&a.subscriber_rows(None).await.unwrap()),
        ["a@example.org"]
    );
    assert_eq!(
        emails(&b.subscriber_rows(None).await.unwrap()),
        ["b@example.org", "partage@example.org"]
    );
    let mine = a.personal_data().await.unwrap();
    let theirs = b.personal_data().await.unwrap();
    assert_eq!(
        (
            mine.subscribers,
            mine.suppressions,
            mine.deliveries_with_address
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (
            theirs.subscribers,
            theirs.suppressions,
            theirs.deliveries_with_address
        ),
        (2, 0, 0)
    );
    // Suppressed for A only: A's import refuses it, B's list keeps it.
    let again = [entry("partage@example.org", "rt")];
    let outcomes = a
        .import_subscribers("flash-info", &again, "f.csv", at())
        .await
        .unwrap();
    assert_eq!(outcomes, [ImportOutcome::Suppressed]);
    let again = [entry("partage@example.org", "mp")];
    let outcomes = b
        .import_subscribers("flash-info", &again, "f.csv", at())
        .await
        .unwrap();
    assert_eq!(outcomes, [ImportOutcome::Duplicate]);

    // B's nightly purge leaves A's ledger alone; A's erases A's.
    a.exec("UPDATE deliveries SET state = 'sent'").await;
    let later = Utc.with_ymd_and_hms(2027, 12, 1, 0, 0, 0).unwrap();
    assert_eq!(
        b.purge_delivery_logs(later, |e| e.len().to_string())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        a.purge_delivery_logs(later, |e| e.len().to_string())
            .await
            .unwrap(),
        1
    );
}

/// One mailbox read by both centres: a hard bounce for an address both have is applied by
/// each centre to its own subscriber, once; reading it again applies nothing.
#[tokio::test]
async fn a_shared_mailbox_message_is_applied_once_by_each_centre() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_centres(dir.path()).await;
    let policy = BouncePolicy {
        soft_limit: 1,
        soft_editions: 1,
    };
    let hard = |subscriber: i64| BounceRecord {
        message_key: "same-message".into(),
        kind: "hard".into(),
        status: Some("5.1.1".into()),
        reason: None,
        targets: vec![BounceTarget {
            subscriber,
            edition: None,
            suppression_hash: "h-partage@example.org".into(),
        }],
        outcome: "applied".into(),
        detail: None,
    };
    for s in [&a, &b] {
        let shared = s
            .subscriber_id("partage@example.org")
            .await
            .unwrap()
            .unwrap();
        assert!(!s.bounce_processed("same-message").await.unwrap());
        let applied = s.record_bounce(&hard(shared), policy, at()).await.unwrap();
        assert_eq!(
            applied,
            BounceApplied::Recorded(vec![(shared, "bounced".into())])
        );
        assert!(s.bounce_processed("same-message").await.unwrap());
        let again = s.record_bounce(&hard(shared), policy, at()).await.unwrap();
        assert_eq!(again, BounceApplied::AlreadyProcessed);
        assert_eq!(
            s.bounce_events("partage@example.org").await.unwrap().len(),
            1
        );
        assert_eq!(
            s.bounce_message_counts().await.unwrap(),
            [("applied".to_string(), 1)]
        );
    }
    for (s, own) in [(&a, "a@example.org"), (&b, "b@example.org")] {
        assert_eq!(
            statuses(s).await,
            [
                (own.to_string(), SubscriptionStatus::Active),
                (
                    "partage@example.org".to_string(),
                    SubscriptionStatus::Bounced
                )
            ]
        );
    }
}
