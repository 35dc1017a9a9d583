//! The review database on both backends: SQLite always, PostgreSQL when
//! `SCAMWATCH_TEST_POSTGRES_URL` is set (`scripts/test.sh` starts one with scripts/postgres.sh,
//! and says so when it cannot). Each test runs the same body against every backend.

mod common;

use std::sync::Arc;

use scamwatch::message::{Action, Decision, Feedback, Post, Verdict};
use scamwatch::review::export::write_jsonl;
use scamwatch::review::store::{Ingested, QueueFilter, ReviewStore, StoreError};
use scamwatch::scorer::Scorer;

const MINUTE: i64 = 60_000;

/// Fresh, empty databases: one SQLite file, and one PostgreSQL database when configured.
async fn backends() -> Vec<(String, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![(
        format!("sqlite://{}", dir.path().join("review.db").display()),
        dir,
    )];
    match std::env::var("SCAMWATCH_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&base)
                .await
                .expect("connecting to PostgreSQL");
            // Unique per process and call: tests run in parallel and may start in the same µs.
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!(
                "review_{}_{}_{n}",
                std::process::id(),
                scamwatch_load::kafka::now_us()
            );
            // Concurrent CREATE DATABASE can fail while another copies template1: retry.
            let mut attempts = 0;
            while let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
            {
                attempts += 1;
                assert!(attempts < 50, "CREATE DATABASE {name}: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            admin.close().await;
            let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
            urls.push((url, tempfile::tempdir().unwrap()));
        }
        _ => eprintln!("SCAMWATCH_TEST_POSTGRES_URL not set: PostgreSQL leg skipped"),
    }
    urls
}

fn post(id: &str, text: &str) -> Post {
    serde_json::from_value(serde_json::json!({"id": id, "text": text, "platform": "jobboard"}))
        .unwrap()
}

fn flagged(scorer: &Scorer, id: &str) -> Verdict {
    common::flagged_verdict(
        scorer,
        id,
        None,
        "URGENT HIRING customer service in Sihanoukville, Cambodia. Salary USD 1,500/month, \
         free food and accommodation, free flight ticket, no experience needed. \
         Contact Telegram @hr_amy_kh88",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_opening_a_new_database_at_once_all_succeed() {
    // The console and a second process (a replica, `feedback export`) may both create the
    // schema of a new database.
    for (url, _dir) in backends().await {
        let opened = futures::future::join_all((0..4).map(|_| ReviewStore::connect(&url))).await;
        for store in opened {
            store.unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }
}

#[tokio::test]
async fn flagged_verdicts_are_queued_once_and_allow_verdicts_not_at_all() {
    let scorer = common::rules_only_scorer();
    for (url, _dir) in backends().await {
        let store = ReviewStore::connect(&url).await.unwrap();
        let v = flagged(&scorer, "p1");
        assert!(
            matches!(store.ingest(&v, 1).await.unwrap(), Ingested::Queued(_)),
            "{url}"
        );
        assert_eq!(
            store.ingest(&v, 2).await.unwrap(),
            Ingested::Duplicate,
            "{url}"
        );
        let honest = scorer.score(&post(
            "p2",
            "Bakery in Leeds hiring a weekend sales assistant.",
        ));
        assert_eq!(honest.action, Action::Allow);
        assert_eq!(
            store.ingest(&honest, 3).await.unwrap(),
            Ingested::NotFlagged
        );
        let queue = store.queue(&QueueFilter::default(), 100).await.unwrap();
        assert_eq!(queue.len(), 1, "{url}");
        assert_eq!(queue[0].post_id, "p1");
        assert!(!queue[0].rules.is_empty());
        // Filters: by rule (exact id, not a prefix match) and by language.
        let rule = queue[0].rules[0].clone();
        let by_rule = QueueFilter {
            rule: Some(rule.clone()),
            ..Default::default()
        };
        assert_eq!(store.queue(&by_rule, 100).await.unwrap().len(), 1);
        let prefix = QueueFilter {
            rule: Some(rule[..rule.len() - 1].to_string()),
            ..Default::default()
        };
        assert_eq!(store.queue(&prefix, 100).await.unwrap().len(), 0, "{url}");
        let other_lang = QueueFilter {
            language: Some("th".into()),
            ..Default::default()
        };
        assert_eq!(store.queue(&other_lang, 100).await.unwrap().len(), 0);
    }
}

#[tokio::test]
async fn two_reviewers_racing_for_one_item_exactly_one_wins() {
    let scorer = common::rules_only_scorer();
    for (url, _dir) in backends().await {
        let store = Arc::new(ReviewStore::connect(&url).await.unwrap());
        for round in 0..20 {
            let id = match store
                .ingest(&flagged(&scorer, &format!("race-{round}")), round)
                .await
            {
                Ok(Ingested::Queued(id)) => id,
                other => panic!("{other:?}"),
            };
            let (a, b) = tokio::join!(
                {
                    let s = store.clone();
                    async move { s.claim(id, "alice", 1_000, 10 * MINUTE).await.unwrap() }
                },
                {
                    let s = store.clone();
                    async move { s.claim(id, "bob", 1_000, 10 * MINUTE).await.unwrap() }
                }
            );
            assert!(a ^ b, "{url} round {round}: alice {a}, bob {b}");
            let (winner, loser) = if a {
                ("alice", "bob")
            } else {
                ("bob", "alice")
            };
            let lost = store
                .decide(id, loser, Decision::Fraud, None, &[], 2_000)
                .await;
            assert!(matches!(lost, Err(StoreError::NotClaimed(_))), "{lost:?}");
            store
                .decide(id, winner, Decision::NotFraud, None, &[], 2_000)
                .await
                .unwrap();
            let again = store
                .decide(id, winner, Decision::Fraud, None, &[], 3_000)
                .await;
            assert!(
                matches!(again, Err(StoreError::AlreadyDecided(_))),
                "{again:?}"
            );
        }
        // An expired claim can be taken over.
        let Ingested::Queued(id) = store
            .ingest(&flagged(&scorer, "expiring"), 0)
            .await
            .unwrap()
        else {
            panic!()
        };
        assert!(store.claim(id, "alice", 0, MINUTE).await.unwrap());
        assert!(!store.claim(id, "bob", MINUTE - 1, MINUTE).await.unwrap());
        assert!(store.claim(id, "bob", MINUTE + 1, MINUTE).await.unwrap());
        let late = store
            .decide(id, "alice", Decision::Fraud, None, &[], MINUTE + 2)
            .await;
        assert!(matches!(late, Err(StoreError::NotClaimed(_))), "{late:?}");
    }
}

#[tokio::test]
async fn decisions_are_audited_and_queued_for_the_feedback_topic_and_survive_a_restart() {
    let scorer = common::rules_only_scorer();
    for (url, _dir) in backends().await {
        let verdict = flagged(&scorer, "audited");
        let id = {
            let store = ReviewStore::connect(&url).await.unwrap();
            let Ingested::Queued(id) = store.ingest(&verdict, 0).await.unwrap() else {
                panic!()
            };
            assert!(store.claim(id, "alice", 10, MINUTE).await.unwrap());
            store
                .decide(
                    id,
                    "alice",
                    Decision::Escalate,
                    Some("check the number"),
                    &[],
                    20,
                )
                .await
                .unwrap();
            // Escalated items stay pending; a senior reviewer finishes them.
            assert_eq!(
                store
                    .queue(&QueueFilter::default(), 10)
                    .await
                    .unwrap()
                    .len(),
                1
            );
            assert!(store.claim(id, "bob", 30, MINUTE).await.unwrap());
            let labels = vec!["compound".to_string(), "kh".to_string()];
            store
                .decide(id, "bob", Decision::Fraud, None, &labels, 40)
                .await
                .unwrap();
            store.close().await;
            id
        };
        // Restart: everything is still there, and a redelivered verdict is not queued again.
        let store = ReviewStore::connect(&url).await.unwrap();
        assert_eq!(
            store.ingest(&verdict, 50).await.unwrap(),
            Ingested::Duplicate
        );
        let audit = store.audit(id).await.unwrap();
        let trail: Vec<_> = audit
            .iter()
            .map(|a| {
                (
                    a.reviewer.as_str(),
                    a.previous_status.as_str(),
                    a.decision.as_str(),
                    a.decided_at,
                )
            })
            .collect();
        assert_eq!(
            trail,
            [
                ("alice", "open", "escalate", 20),
                ("bob", "escalated", "fraud", 40)
            ],
            "{url}"
        );
        assert_eq!(audit[0].note.as_deref(), Some("check the number"));
        assert_eq!(audit[1].labels, ["compound", "kh"]);
        let item = store.item(id).await.unwrap().unwrap();
        assert_eq!(item.row.status, "fraud");
        assert_eq!(item.decided_by.as_deref(), Some("bob"));
        assert!(
            store
                .queue(&QueueFilter::default(), 10)
                .await
                .unwrap()
                .is_empty()
        );

        let pending = store.pending_feedback(10).await.unwrap();
        assert_eq!(pending.len(), 2, "{url}");
        let last: Feedback = serde_json::from_str(&pending[1].payload).unwrap();
        assert_eq!(
            (last.post_id.as_str(), last.decision, last.reviewer.as_str()),
            ("audited", Decision::Fraud, "bob")
        );
        assert!(
            last.contacts
                .iter()
                .any(|c| c.value.contains("hr_amy_kh88")),
            "{last:?}"
        );
        let errors = common::schema_errors(
            &common::schema("feedback.v1.json"),
            &serde_json::from_str(&pending[1].payload).unwrap(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        for p in &pending {
            store.mark_published(p.outbox_id, 60).await.unwrap();
        }
        assert!(store.pending_feedback(10).await.unwrap().is_empty());

        let mut out = Vec::new();
        assert_eq!(write_jsonl(&store, &mut out).await.unwrap(), 1);
        let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(line["id"], "audited");
        assert_eq!(line["label"], 1);
        assert_eq!(line["source"], "review");
        assert_eq!(line["meta"]["reviewer"], "bob");
        assert!(line["text"].as_str().unwrap().contains("Sihanoukville"));
    }
}

#[tokio::test]
async fn sessions_expire_and_contacts_link_related_posts() {
    let scorer = common::rules_only_scorer();
    for (url, _dir) in backends().await {
        let store = ReviewStore::connect(&url).await.unwrap();
        let (token, session) = store.create_session("alice", 0, MINUTE).await.unwrap();
        assert_eq!(
            store.session(&token, MINUTE).await.unwrap().unwrap().csrf,
            session.csrf
        );
        assert!(store.session(&token, MINUTE + 1).await.unwrap().is_none());
        assert!(store.session("forged", 0).await.unwrap().is_none());

        let Ingested::Queued(a) = store.ingest(&flagged(&scorer, "a"), 0).await.unwrap() else {
            panic!()
        };
        let Ingested::Queued(b) = store.ingest(&flagged(&scorer, "b"), 1).await.unwrap() else {
            panic!()
        };
        let shared = store.sharing_contacts(a).await.unwrap();
        assert!(
            shared
                .iter()
                .any(|s| s.item_id == b && s.contact.contains("hr_amy_kh88")),
            "{url}: {shared:?}"
        );
    }
}
