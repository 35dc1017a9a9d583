//! The shipped classifier, loaded from Rust exactly as the service loads it, reproduces what the
//! export pipeline recorded (`models/classifier/reference_scores.jsonl`): the same token ids
//! (encoder window and token-presence ids) and the same logits within 1e-3, a text gets the same
//! logit in any padded batch as alone, and obvious compound ads outscore honest ads in every
//! language.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use scamwatch::model::{Classifier, ModelInput, OnnxClassifier};

fn classifier() -> OnnxClassifier {
    let lib = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .expect("ORT_DYLIB_PATH must name libonnxruntime.so (scripts/setup.sh installs it; scripts/test.sh exports it)");
    OnnxClassifier::load(
        &common::repo_root().join("models/classifier"),
        Some(&lib),
        2,
    )
    .expect("loading the shipped model")
}

fn references() -> Vec<serde_json::Value> {
    std::fs::read_to_string(common::repo_root().join("models/classifier/reference_scores.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Largest tolerated |logit(Rust) - logit(pipeline)|: same ONNX Runtime version and inputs, so
/// only float summation order can differ.
const LOGIT_TOLERANCE: f64 = 1e-3;

#[test]
fn shipped_model_reproduces_the_pipeline_scores() {
    let model = classifier();
    let refs = references();
    assert!(refs.len() >= 24, "reference set covers every language");
    let mut worst: f64 = 0.0;
    let mut longer_than_window = 0;
    for r in &refs {
        let text = r["text"].as_str().unwrap();
        let ids = |key: &str| -> Vec<i64> {
            r[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect()
        };
        let want = ModelInput {
            ids: ids("input_ids"),
            presence: ids("presence_ids"),
        };
        assert_eq!(
            model.inputs(text).unwrap(),
            want,
            "token ids differ for {}",
            r["id"]
        );
        longer_than_window += usize::from(want.presence.len() > want.ids.len());
        let got = model.logit(text).unwrap();
        let want = r["logit"].as_f64().unwrap();
        worst = worst.max((got - want).abs());
        assert!(
            (got - want).abs() <= LOGIT_TOLERANCE,
            "{}: logit {got} vs recorded {want}",
            r["id"]
        );
        let p = model.score_batch(&[text]).unwrap()[0];
        assert!((0.0..=1.0).contains(&p));
    }
    assert!(
        longer_than_window > 0,
        "a reference text is longer than the encoder window, so the presence ids past it are checked"
    );
    println!(
        "{} reference texts ({longer_than_window} longer than the encoder window), worst logit difference {worst:.2e}",
        refs.len()
    );
}

/// Largest tolerated |logit in a padded batch - logit alone|. Activations are quantized per post,
/// so only float summation order differs (measured up to ~2e-6); quantizing per call, as the
/// model did before, moved logits by up to 0.58.
const BATCH_TOLERANCE: f64 = 1e-5;

#[test]
fn a_text_scores_the_same_whatever_it_is_batched_with() {
    let model = classifier();
    let inputs: Vec<ModelInput> = references()
        .iter()
        .map(|r| model.inputs(r["text"].as_str().unwrap()).unwrap())
        .collect();
    let alone: Vec<f64> = inputs
        .iter()
        .map(|i| model.logit_of(i.clone()).unwrap())
        .collect();
    let mut worst: f64 = 0.0;
    let mut checked = 0;
    // Batches of mixed lengths (so most posts are padded), in several groupings.
    for size in [2, 3, 5, 8, 16] {
        for offset in [0, 1] {
            let order: Vec<usize> = (0..inputs.len())
                .map(|i| (i * 7 + offset) % inputs.len())
                .collect();
            for group in order.chunks(size) {
                let batch: Vec<ModelInput> = group.iter().map(|&i| inputs[i].clone()).collect();
                let got = model.logits(&batch).unwrap();
                for (&i, logit) in group.iter().zip(got) {
                    let diff = (logit - alone[i]).abs();
                    worst = worst.max(diff);
                    checked += 1;
                    assert!(
                        diff <= BATCH_TOLERANCE,
                        "text {i} in a batch of {}: logit {logit} vs {} alone",
                        group.len(),
                        alone[i]
                    );
                }
            }
        }
    }
    println!("{checked} batched scores, worst difference from batch-of-one {worst:.2e}");
}

#[test]
fn compound_ads_outscore_honest_posts_in_every_language() {
    let model = classifier();
    let mut by_lang: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in references() {
        let kind = r["kind"].as_str().unwrap_or_default();
        let entry = by_lang
            .entry(r["lang"].as_str().unwrap().to_string())
            .or_default();
        let p = model.score_batch(&[r["text"].as_str().unwrap()]).unwrap()[0];
        match kind {
            "compound_ad" => entry.0.push(p),
            "honest_ad" => entry.1.push(p),
            _ => {}
        }
    }
    let mut checked = 0;
    for (lang, (ads, honest)) in &by_lang {
        if ads.is_empty() || honest.is_empty() {
            continue;
        }
        let min_ad = ads.iter().cloned().fold(f64::INFINITY, f64::min);
        let max_honest = honest.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert!(
            min_ad > max_honest,
            "{lang}: compound ad {min_ad:.3} does not outscore honest {max_honest:.3}"
        );
        checked += 1;
    }
    assert!(
        checked >= 12,
        "ads and honest posts in at least 12 languages, got {checked}"
    );
}

/// The scorer as the service builds it: rules, and the model behind the batching queue.
fn model_scorer() -> scamwatch::scorer::Scorer {
    let mut scoring = scamwatch::config::ScoringConfig::from_env();
    scoring.rule_pack = common::repo_root().join("models/rules/pack.toml");
    scoring.model = common::repo_root()
        .join("models/classifier")
        .display()
        .to_string();
    scamwatch::scorer::Scorer::from_config(&scoring).expect("scorer with model")
}

#[test]
fn posts_scored_together_get_the_verdicts_they_get_alone() {
    let scorer = model_scorer().without_memory();
    let posts: Vec<_> = references()
        .iter()
        .map(|r| {
            let line = serde_json::json!({"id": r["id"], "text": r["text"]}).to_string();
            scorer.decoder().decode(Some(line.as_bytes())).unwrap()
        })
        .collect();
    let together = scorer.score_many(&posts);
    assert_eq!(together.len(), posts.len());
    for (post, verdict) in posts.iter().zip(&together) {
        let alone = scorer.score(post);
        assert_eq!(verdict.post_id, post.id);
        assert_eq!(verdict.action, alone.action, "{}", post.id);
        // Scores are sigmoids of the logit (slope < 0.4 here), so the logit bound bounds them.
        assert!(
            (verdict.score - alone.score).abs() <= BATCH_TOLERANCE,
            "{}: {} together vs {} alone",
            post.id,
            verdict.score,
            alone.score
        );
        let (a, b) = (
            verdict.explanation.model_score.unwrap(),
            alone.explanation.model_score.unwrap(),
        );
        assert!(
            (a - b).abs() <= BATCH_TOLERANCE,
            "{}: {a} together vs {b} alone",
            post.id
        );
    }
}

#[test]
fn verdicts_with_the_model_name_it_explain_it_and_match_the_schema() {
    let scorer = model_scorer();
    let validator = common::schema("verdict.v1.json");
    let decoder = scorer.decoder();
    let mut explained = 0;
    for line in std::fs::read_to_string(common::repo_root().join("examples/posts.jsonl"))
        .unwrap()
        .lines()
    {
        let Ok(post) = decoder.decode(Some(line.as_bytes())) else {
            continue;
        };
        let verdict = scorer.score(&post);
        assert!(verdict.explanation.model_used && verdict.explanation.model_score.is_some());
        assert_eq!(
            verdict.versions.model.as_deref(),
            Some(classifier().card().version.as_str())
        );
        let errors = common::schema_errors(&validator, &serde_json::to_value(&verdict).unwrap());
        assert!(errors.is_empty(), "{errors:?}");
        let chars: Vec<char> = post.full_text().chars().collect();
        for ev in &verdict.explanation.model_evidence {
            assert_eq!(chars[ev.start..ev.end].iter().collect::<String>(), ev.text);
            assert!(ev.delta > 0.0);
        }
        explained += !verdict.explanation.model_evidence.is_empty() as usize;
    }
    assert!(
        explained >= 2,
        "flagged multi-sentence posts get model evidence"
    );
}
