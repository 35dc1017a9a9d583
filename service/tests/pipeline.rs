//! Black-box tests of the whole service against a real Kafka-protocol broker (tansu): posts in,
//! verdicts and dead letters out, nothing lost across crashes and restarts.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use scamwatch_load::corpus::{self, Expected, Mix};
use scamwatch_load::kafka::{self, Collector};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_posts_every_one_answered_and_valid() {
    let brokers = broker();
    let t = topics(&brokers, "blackbox", 4).await;
    // The random mix, plus one message of every malformed or hostile kind (the 10 MB one too).
    let mut messages: Vec<_> = (0..10_000)
        .map(|i| corpus::generate(11, i, Mix::default()))
        .collect();
    let every = corpus::every_kind(11);
    let kind_of: HashMap<String, &str> = every
        .iter()
        .map(|(name, g)| (g.key.clone(), *name))
        .collect();
    messages.extend(every.into_iter().map(|(_, g)| g));
    let expected = expected_ids(&messages);
    let bad: HashMap<String, &'static str> = messages
        .iter()
        .filter_map(|m| match m.expected {
            Expected::DeadLetter { reason } => Some((m.key.clone(), reason)),
            _ => None,
        })
        .collect();
    let kinds = corpus::MALFORMED_KINDS
        .iter()
        .filter(|k| matches!(k.outcome, corpus::Outcome::DeadLetter(_)))
        .count();
    assert!(
        kinds >= 20,
        "corpus must hold at least 20 kinds of malformed input, has {kinds}"
    );
    let reasons: std::collections::HashSet<_> = bad.values().collect();
    assert!(reasons.len() >= 9, "every dead-letter reason: {reasons:?}");

    let producer = kafka::producer(&brokers).unwrap();
    kafka::produce_all(&producer, &t.input, &messages, 500)
        .await
        .unwrap();
    let service = Service::start(&brokers, &t, &[]);
    let collector = Collector::new(&brokers, &[&t.verdicts, &t.dead_letters]).unwrap();
    let mut out = Outputs::default();
    tokio::task::block_in_place(|| {
        collect_until(&collector, &t, &mut out, Duration::from_secs(60), |o| {
            o.verdict_counts.len() >= expected.len() && o.dead_letters.len() >= bad.len()
        })
    });

    let missing = out.missing_verdicts(expected.iter());
    println!(
        "black-box: {} posts, {} valid, {} malformed; verdicts for {} ids ({} duplicates); {} dead letters",
        messages.len(),
        expected.len(),
        bad.len(),
        out.verdict_counts.len(),
        out.duplicates(),
        out.dead_letters.len()
    );
    assert!(
        missing.is_empty(),
        "{} valid posts got no verdict, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    // Hostile but valid posts (SQL, script, zalgo, RTL and emoji floods ...) are scored, never
    // dead-lettered.
    for (key, name) in &kind_of {
        if !bad.contains_key(key) {
            assert!(
                !out.dead_letters.contains_key(key),
                "{name} is a valid post but went to the DLQ"
            );
        }
    }

    // Every malformed message is in the DLQ with the right reason and Connect-style headers.
    for (key, reason) in &bad {
        let kind = kind_of.get(key).copied().unwrap_or("random mix");
        let letter = out
            .dead_letters
            .get(key)
            .unwrap_or_else(|| panic!("malformed message {key} ({kind}, {reason}) not in the DLQ"));
        assert_eq!(letter.payload["reason"], *reason, "{key} ({kind})");
        assert_eq!(
            letter
                .headers
                .get("__connect.errors.exception.class.name")
                .map(String::as_str),
            Some(*reason)
        );
        assert_eq!(letter.headers.get("__connect.errors.topic"), Some(&t.input));
        assert_eq!(
            letter.headers["__connect.errors.offset"],
            letter.payload["source"]["offset"].to_string()
        );
        assert!(
            letter.headers.contains_key("traceparent"),
            "input headers are carried"
        );
    }

    // What the service wrote matches the published schemas.
    let verdict_schema = schema("verdict.v1.json");
    let dlq_schema = schema("dead-letter.v1.json");
    for v in &out.verdicts {
        let errors = schema_errors(&verdict_schema, &v.payload);
        assert!(
            errors.is_empty(),
            "verdict {} violates schemas/verdict.v1.json: {errors:?}",
            v.payload["post_id"]
        );
        assert_eq!(
            v.headers.get("schema-version").map(String::as_str),
            Some("scamwatch.verdict.v1")
        );
        assert_eq!(
            v.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        assert!(
            v.headers.contains_key("traceparent"),
            "traceparent is carried onto the verdict"
        );
    }
    for d in out.dead_letters.values() {
        let errors = schema_errors(&dlq_schema, &d.payload);
        assert!(
            errors.is_empty(),
            "dead letter violates schemas/dead-letter.v1.json: {errors:?}"
        );
    }

    // The rules separate the generated scam ads from the honest posts.
    let by_id: HashMap<&str, &serde_json::Value> = out
        .verdicts
        .iter()
        .map(|v| (v.payload["post_id"].as_str().unwrap(), &v.payload))
        .collect();
    let (mut scam, mut scam_flagged, mut honest, mut honest_allowed) = (0, 0, 0, 0);
    for m in &messages {
        if let Expected::Verdict {
            id, scam: is_scam, ..
        } = &m.expected
        {
            let flagged = by_id[id.as_str()]["action"] != "allow";
            if *is_scam {
                scam += 1;
                scam_flagged += flagged as usize;
            } else {
                honest += 1;
                honest_allowed += !flagged as usize;
            }
        }
    }
    println!(
        "scam ads flagged {scam_flagged}/{scam}; honest posts allowed {honest_allowed}/{honest}"
    );
    assert!(scam_flagged as f64 >= 0.95 * scam as f64);
    assert!(honest_allowed as f64 >= 0.95 * honest as f64);
    drop(service);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_sigterm_mid_stream_lose_nothing() {
    let brokers = broker();
    let t = topics(&brokers, "crash", 4).await;
    let mix = Mix {
        malformed: 0.02,
        ..Mix::default()
    };
    let messages: Vec<_> = (0..30_000).map(|i| corpus::generate(23, i, mix)).collect();
    let expected = expected_ids(&messages);
    let producer = kafka::producer(&brokers).unwrap();
    kafka::produce_all(&producer, &t.input, &messages, 500)
        .await
        .unwrap();

    let collector = Collector::new(&brokers, &[&t.verdicts, &t.dead_letters]).unwrap();
    let mut out = Outputs::default();
    let idle = Duration::from_secs(45);

    // Run 1: killed with SIGKILL once it has made progress of its own.
    let mut service = Service::start(&brokers, &t, &[]);
    assert!(
        service.wait_outputs(3_000, Duration::from_secs(60)),
        "run 1 made no progress"
    );
    tokio::task::block_in_place(|| service.crash());

    // Run 2: takes over the killed member's partitions once its session has expired, then is
    // stopped with SIGTERM mid-stream: it must drain and exit 0.
    let mut service = Service::start(&brokers, &t, &[]);
    assert!(
        service.wait_outputs(3_000, Duration::from_secs(60)),
        "run 2 made no progress"
    );
    let status = service.terminate();
    assert!(
        status.success(),
        "SIGTERM must end in a clean exit, got {status:?}"
    );

    // Run 3: finishes the stream.
    let service = Service::start(&brokers, &t, &[]);
    tokio::task::block_in_place(|| {
        collect_until(&collector, &t, &mut out, idle, |o| {
            o.verdict_counts.len() >= expected.len()
        })
    });
    let missing = out.missing_verdicts(expected.iter());
    println!(
        "crash test: {} valid posts, verdicts for {} ids, {} duplicates (re-delivered after SIGKILL/SIGTERM)",
        expected.len(),
        out.verdict_counts.len(),
        out.duplicates()
    );
    if !missing.is_empty() {
        // Tell a lost verdict from a missed read: re-read the verdict topic from the start.
        let again = tokio::task::block_in_place(|| {
            common::collect_verdicts(&brokers, &t, &expected, Duration::from_secs(10))
        });
        let still = again.missing_verdicts(missing.iter());
        panic!(
            "{} posts without a verdict on first read, {} on a fresh re-read, e.g. {:?}",
            missing.len(),
            still.len(),
            &still[..still.len().min(5)]
        );
    }
    drop(service);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewer_feedback_raises_and_clears_a_contacts_reputation() {
    let brokers = broker();
    let t = topics(&brokers, "feedback", 1).await;
    let feedback_topic = format!("feedback-{}", t.group);
    kafka::create_topics(&brokers, &[(&feedback_topic, 1)])
        .await
        .unwrap();
    let service = Service::start(
        &brokers,
        &t,
        &[("SCAMWATCH_FEEDBACK_TOPIC", &feedback_topic)],
    );
    assert!(
        service.wait_ready(std::time::Duration::from_secs(30)),
        "service ready"
    );
    let producer = kafka::producer(&brokers).unwrap();
    let collector = Collector::new(&brokers, &[&t.verdicts]).unwrap();
    let handle = format!("fbk_{}", std::process::id());
    let send_json = |topic: &str, key: &str, value: serde_json::Value| {
        let g = corpus::Generated {
            key: key.to_string(),
            payload: Some(serde_json::to_vec(&value).unwrap()),
            expected: Expected::DeadLetter { reason: "unused" },
        };
        let (producer, topic) = (producer.clone(), topic.to_string());
        async move { kafka::produce_one(&producer, &topic, &g).await.unwrap() }
    };
    let decision = |d: &str| {
        serde_json::json!({"schema": "scamwatch.feedback.v1", "post_id": "earlier", "decision": d, "reviewer": "r1",
            "decided_at": "2026-11-25T00:00:00Z", "contacts": [{"kind": "telegram", "value": handle}]})
    };
    // Wait until the service has applied one decision of this kind (from its /metrics).
    let wait_applied = |d: &str| {
        let prefix = format!("scamwatch_feedback_total{{decision=\"{d}\"}} ");
        let applied = || {
            service.get("/metrics").is_some_and(|(_, body)| {
                body.lines()
                    .any(|l| l.strip_prefix(&prefix).is_some_and(|n| n != "0"))
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !applied() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let verdict_for = |id: &str| {
        let mut out = Outputs::default();
        collect_until(&collector, &t, &mut out, Duration::from_secs(20), |o| {
            o.verdict_counts.contains_key(id)
        });
        out.verdicts
            .into_iter()
            .find(|v| v.payload["post_id"] == id)
            .map(|v| v.payload)
            .expect("verdict")
    };
    let flagged = |v: &serde_json::Value| {
        v["explanation"]["rule_hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["rule_id"] == "memory.flagged_contact")
    };
    let text = format!("Hello, message @{handle} about the weekend market stall.");

    send_json(&feedback_topic, "f1", decision("fraud")).await;
    tokio::task::block_in_place(|| wait_applied("fraud"));
    send_json(
        &t.input,
        "p1",
        serde_json::json!({"id": "after-fraud", "text": text}),
    )
    .await;
    let v = tokio::task::block_in_place(|| verdict_for("after-fraud"));
    assert!(flagged(&v), "confirmed-fraud contact raises the score: {v}");

    send_json(&feedback_topic, "f2", decision("not_fraud")).await;
    tokio::task::block_in_place(|| wait_applied("not_fraud"));
    send_json(
        &t.input,
        "p2",
        serde_json::json!({"id": "after-not-fraud", "text": format!("{text} ")}),
    )
    .await;
    let v = tokio::task::block_in_place(|| verdict_for("after-not-fraud"));
    assert!(!flagged(&v), "a not-fraud decision clears it: {v}");
}
