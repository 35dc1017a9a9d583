//! Failure drills against the real broker (slow; see each test's doc comment).

mod common;

use std::time::Duration;

use common::*;
use scamwatch_load::corpus::{self, Mix};
use scamwatch_load::kafka;

/// The failure drill of the production-readiness issue: SIGKILL the service five times during a
/// 100,000-post run; every post still gets a verdict. Duplicates are reported.
///
/// Takes about 1.5 minutes (each kill waits out the group session, see `Service::crash`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_sigkills_during_a_hundred_thousand_posts_lose_nothing() {
    let brokers = broker();
    let t = topics(&brokers, "drill", 4).await;
    let mix = Mix {
        malformed: 0.0,
        ..Mix::default()
    };
    let messages: Vec<_> = (0..100_000).map(|i| corpus::generate(31, i, mix)).collect();
    let expected = expected_ids(&messages);
    let producer = kafka::producer(&brokers).unwrap();
    kafka::produce_all(&producer, &t.input, &messages, 1000)
        .await
        .unwrap();
    drop(messages);

    for run in 1..=5 {
        let mut service = Service::start(&brokers, &t, &[]);
        let progressed =
            tokio::task::block_in_place(|| service.wait_outputs(8_000, Duration::from_secs(90)));
        assert!(progressed, "run {run} made no progress");
        tokio::task::block_in_place(|| service.crash());
    }
    let service = Service::start(&brokers, &t, &[]);
    let out = tokio::task::block_in_place(|| {
        common::collect_verdicts(&brokers, &t, &expected, Duration::from_secs(60))
    });
    let missing = out.missing_verdicts(expected.iter());
    println!(
        "drill: 5 SIGKILLs, {} posts, verdicts for {} ids, {} duplicates",
        expected.len(),
        out.verdict_counts.len(),
        out.duplicates()
    );
    assert!(
        missing.is_empty(),
        "{} posts lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    drop(service);
}
