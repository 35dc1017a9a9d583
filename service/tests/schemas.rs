//! The Rust message types and the schema files in `schemas/` agree, both ways: what the service
//! writes validates against the schemas, what the schemas accept the types read back unchanged,
//! and what the schemas reject the types reject too.

mod common;

use common::{repo_root, schema, schema_errors};
use scamwatch::config::ScoringConfig;
use scamwatch::decode::{DecodeLimits, PostDecoder};
use scamwatch::message::{DeadLetterReason, Post, Verdict};
use scamwatch::scorer::Scorer;
use serde_json::{Value, json};

fn scorer() -> Scorer {
    let mut scoring = ScoringConfig::from_env();
    scoring.rule_pack = repo_root().join("models/rules/pack.toml");
    Scorer::from_config(&scoring).unwrap()
}

fn schema_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("schemas").join(name)).unwrap())
        .unwrap()
}

fn sample_posts() -> Vec<Post> {
    let decoder = PostDecoder::new(DecodeLimits {
        max_payload_bytes: 1 << 20,
        max_text_chars: 50_000,
    });
    let mut posts: Vec<Post> = std::fs::read_to_string(repo_root().join("examples/posts.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| decoder.decode(Some(l.as_bytes())).ok())
        .collect();
    posts.extend((0..300).filter_map(|i| {
        let g = scamwatch_load::corpus::generate(5, i, scamwatch_load::corpus::Mix::default());
        decoder.decode(g.payload.as_deref()).ok()
    }));
    assert!(posts.len() > 250);
    posts
}

#[test]
fn produced_verdicts_validate_and_read_back_identically() {
    let scorer = scorer();
    let validator = schema("verdict.v1.json");
    for post in sample_posts() {
        let verdict = scorer.score(&post);
        let doc = serde_json::to_value(&verdict).unwrap();
        let errors = schema_errors(&validator, &doc);
        assert!(
            errors.is_empty(),
            "verdict for {} violates the schema: {errors:?}",
            post.id
        );
        let back: Verdict = serde_json::from_value(doc).unwrap();
        assert_eq!(back, verdict);
    }
}

#[test]
fn schema_valid_posts_read_into_the_type_and_invalid_ones_do_not() {
    let validator = schema("post.v1.json");
    let full = json!({
        "schema": "scamwatch.post.v1", "id": "p-1", "text": "body", "title": "t", "platform": "jobboard",
        "author_id": "a", "url": "https://example.org/1", "language_hint": "vi",
        "created_at": "2026-11-25T00:00:00Z", "metadata": {"anything": [1, {"x": null}]}
    });
    let nulls = json!({"id": "p-2", "text": "x", "title": null, "metadata": null});
    for doc in [&full, &nulls] {
        assert!(schema_errors(&validator, doc).is_empty());
        let post: Post = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(post.id, doc["id"].as_str().unwrap());
    }
    let roundtrip =
        serde_json::to_value(serde_json::from_value::<Post>(full.clone()).unwrap()).unwrap();
    assert_eq!(roundtrip, full, "every field survives the type");

    for bad in [
        json!({"id": "x"}),
        json!({"id": "x", "text": "y", "extra": 1}),
        json!({"id": 1, "text": "y"}),
        json!({"id": "x", "text": 3}),
    ] {
        assert!(
            !schema_errors(&validator, &bad).is_empty(),
            "schema must reject {bad}"
        );
        assert!(
            serde_json::from_value::<Post>(bad.clone()).is_err(),
            "type must reject {bad}"
        );
    }
}

#[test]
fn enumerations_match_the_schemas() {
    let dlq = schema_json("dead-letter.v1.json");
    let schema_reasons: Vec<&str> = dlq["properties"]["reason"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let rust_reasons: Vec<&str> = DeadLetterReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(schema_reasons, rust_reasons);
    for r in DeadLetterReason::ALL {
        assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
    }
    let verdict = schema_json("verdict.v1.json");
    let actions = &verdict["properties"]["action"]["enum"];
    assert_eq!(actions, &json!(["allow", "review", "block"]));
    let kinds = &verdict["properties"]["explanation"]["properties"]["signals"]["properties"]["contacts"]
        ["items"]["properties"]["kind"]["enum"];
    for k in kinds.as_array().unwrap() {
        let kind: scamwatch::message::ContactKind = serde_json::from_value(k.clone()).unwrap();
        assert_eq!(json!(kind.as_str()), *k);
    }
}

/// A post with only an id and a text.
fn post(id: &str, text: &str) -> Post {
    Post {
        schema: None,
        id: id.into(),
        text: text.into(),
        title: None,
        platform: None,
        author_id: None,
        url: None,
        language_hint: None,
        created_at: None,
        metadata: None,
    }
}

#[test]
fn memory_notes_reposts_near_duplicates_and_flagged_contacts() {
    let scorer = scorer();
    let validator = schema("verdict.v1.json");
    let ad = "URGENT hiring customer service in Sihanoukville, Cambodia. Salary USD 1,500/month, free food and \
              housing, free flight ticket, no experience needed. Contact Telegram @hr_kk_88";
    let first = scorer.score(&post("a", ad));
    assert_eq!(first.action, scamwatch::message::Action::Block);
    let exact = scorer.score(&post("b", ad));
    let note = exact
        .explanation
        .repost_of
        .as_ref()
        .expect("exact repost noted");
    assert_eq!((note.post_id.as_str(), note.similarity), ("a", 1.0));
    assert_eq!(exact.score, first.score);
    let near = scorer.score(&post(
        "c",
        &ad.replace("1,500", "1,800")
            .replace("@hr_kk_88", "@hr_kk_99 🔥"),
    ));
    let note = near
        .explanation
        .repost_of
        .as_ref()
        .expect("near-duplicate noted");
    assert!(note.similarity >= 0.95 && note.post_id != "c", "{note:?}");
    let other = scorer.score(&post(
        "d",
        "Different wording entirely: typing work abroad, message @hr_kk_88 for details",
    ));
    let hit = other
        .explanation
        .rule_hits
        .iter()
        .find(|h| h.rule_id == "memory.flagged_contact")
        .expect("known contact flagged");
    assert!(
        hit.reason.contains("telegram hr_kk_88 (2 flagged posts)"),
        "{}",
        hit.reason
    );
    for v in [&first, &exact, &near, &other] {
        let errors = schema_errors(&validator, &serde_json::to_value(v).unwrap());
        assert!(errors.is_empty(), "{errors:?}");
    }
}

#[test]
fn a_text_repeated_in_one_batch_is_scored_once_and_noted_as_a_repost() {
    let scorer = scorer();
    let ad = "Typing job in Poipet, salary USD 1,300 monthly, free dormitory and meals, \
              visa by company. WhatsApp +855 12 345 678";
    let verdicts = scorer.score_many(&[
        post("x1", ad),
        post(
            "x2",
            "Bakery in Chiang Mai hiring a pastry cook, apply in store.",
        ),
        post("x3", ad),
    ]);
    let ids: Vec<&str> = verdicts.iter().map(|v| v.post_id.as_str()).collect();
    assert_eq!(ids, ["x1", "x2", "x3"], "verdicts come back in post order");
    assert!(verdicts[0].explanation.repost_of.is_none());
    let note = verdicts[2]
        .explanation
        .repost_of
        .as_ref()
        .expect("the repeat is noted as a repost of the first");
    assert_eq!((note.post_id.as_str(), note.similarity), ("x1", 1.0));
    assert_eq!(verdicts[2].score, verdicts[0].score);
    assert_eq!(verdicts[2].action, verdicts[0].action);
    assert_ne!(verdicts[1].action, scamwatch::message::Action::Block);
}
