//! `scamwatch eval` end to end with the shipped model: it scores posts in chunks of a model
//! batch (the stream's `score_many` path), so its report must not depend on the batch size, and
//! it must count what the file holds.

mod common;

use std::process::Command;

/// The JSON report of `scamwatch eval` on the evaluation-only team batches.
fn eval_report(model_max_batch: usize) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_scamwatch"))
        .current_dir(common::repo_root())
        .args(["eval", "--json", "--log-format", "text", "--model"])
        .arg("models/classifier")
        .arg("--model-max-batch")
        .arg(model_max_batch.to_string())
        .arg("models/data/team_written_eval.jsonl")
        .output()
        .expect("running scamwatch eval");
    assert!(
        out.status.success(),
        "scamwatch eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("eval --json prints one JSON report")
}

fn counts(report: &serde_json::Value, table: &str) -> Vec<(String, u64, u64, u64)> {
    report[table]
        .as_object()
        .expect("a table keyed by name")
        .iter()
        .map(|(name, c)| {
            let n = |k: &str| c[k].as_u64().expect("a count");
            (name.clone(), n("tp"), n("fp"), n("fn_"))
        })
        .collect()
}

#[test]
fn eval_reports_the_same_at_any_model_batch_size() {
    let alone = eval_report(1);
    let batched = eval_report(5);

    let posts: Vec<serde_json::Value> =
        std::fs::read_to_string(common::repo_root().join("models/data/team_written_eval.jsonl"))
            .expect("the evaluation-only batches")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a labelled post"))
            .collect();
    let ads = posts.iter().filter(|p| p["label"] == 1).count();
    assert_eq!(alone["overall"]["n"], posts.len(), "{}", alone["overall"]);
    assert_eq!(alone["overall"]["positives"], ads, "{}", alone["overall"]);
    let overall = |r: &serde_json::Value| {
        let c = &r["overall"];
        (c["tp"].clone(), c["fp"].clone(), c["fn_"].clone())
    };
    assert_eq!(overall(&alone), overall(&batched));
    // every language and kind holds the same posts with the same outcomes, so a chunk that
    // paired a verdict with the wrong example would show here
    for table in ["by_language", "by_kind"] {
        assert_eq!(counts(&alone, table), counts(&batched, table), "{table}");
    }
    assert_eq!(counts(&alone, "by_language").len(), 12);
    // scores agree to ~1e-6 (tests/model.rs), so the score-based figures agree to that order
    let ece = |r: &serde_json::Value| r["ece"].as_f64().expect("ece");
    let pr_auc = |r: &serde_json::Value| r["overall"]["pr_auc"].as_f64().expect("pr_auc");
    assert!((ece(&alone) - ece(&batched)).abs() < 1e-4);
    assert!((pr_auc(&alone) - pr_auc(&batched)).abs() < 1e-3);
}
