//! Model throughput, not a test: prints posts/s and p50/p99 latency for (1) the raw ONNX
//! Runtime session on the shipped model at batch 1, 4, 8 and 16 (padded, arrival order), (2)
//! the service's scoring stage with the model (normalise, signals, rules, tokenize, batching
//! queue, infer, fuse; no explanations) one post at a time and in chunks of 8 as the pipeline
//! hands them over, on the same texts, and the ratios. A post's latency in a batch is the
//! batch's. The whole service through the broker: load-tests/drain.sh.
//!
//! Run: ORT_DYLIB_PATH=... cargo bench -p scamwatch --bench model [-- N]

use std::time::Instant;

use scamwatch::config::ScoringConfig;
use scamwatch::model::{ModelInput, OnnxClassifier};
use scamwatch::scorer::Scorer;
use scamwatch_load::corpus::{self, Expected, Mix};

fn summary(name: &str, mut micros: Vec<u128>, wall: f64) -> f64 {
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    let rate = micros.len() as f64 / wall;
    println!(
        "{name:<34} {rate:>8.1} posts/s   p50 {:>6.1} ms   p99 {:>6.1} ms",
        at(0.5),
        at(0.99)
    );
    rate
}

fn main() {
    let n: u64 = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(300);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let lib = std::env::var_os("ORT_DYLIB_PATH")
        .map(std::path::PathBuf::from)
        .expect("set ORT_DYLIB_PATH");
    // Distinct texts (no reposts), so the repost cache cannot help the service stage.
    let mix = Mix {
        malformed: 0.0,
        repost: 0.0,
        ..Mix::default()
    };
    let texts: Vec<String> = (0..n)
        .filter_map(|i| {
            let g = corpus::generate(99, i, mix);
            matches!(g.expected, Expected::Verdict { .. }).then(|| {
                let v: serde_json::Value = serde_json::from_slice(&g.payload.unwrap()).unwrap();
                v["text"].as_str().unwrap().to_string()
            })
        })
        .collect();

    let model = OnnxClassifier::load(&root.join("models/classifier"), Some(&lib), 2).unwrap();
    let ids: Vec<ModelInput> = texts.iter().map(|t| model.inputs(t).unwrap()).collect();
    let mean_tokens = ids.iter().map(|i| i.ids.len()).sum::<usize>() as f64 / ids.len() as f64;
    println!(
        "{} posts, mean {mean_tokens:.0} tokens, 2 intra-op threads",
        texts.len()
    );
    for i in ids.iter().take(5) {
        model.logit_of(i.clone()).unwrap(); // warm-up
    }
    let mut raw_rate = 0.0;
    for batch in [1, 4, 8, 16] {
        let started = Instant::now();
        let mut latencies = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(batch) {
            let t = Instant::now();
            model.logits(chunk).unwrap();
            latencies.extend(std::iter::repeat_n(t.elapsed().as_micros(), chunk.len()));
        }
        let rate = summary(
            &format!("raw ORT session, batch {batch}"),
            latencies,
            started.elapsed().as_secs_f64(),
        );
        if batch == 1 {
            raw_rate = rate;
        }
    }
    drop(model);

    let mut scoring = ScoringConfig::from_env();
    scoring.rule_pack = root.join("models/rules/pack.toml");
    scoring.model = root.join("models/classifier").display().to_string();
    scoring.ort_library = Some(lib);
    scoring.model_explain_spans = 0;
    for chunk in [1, 8] {
        // A fresh scorer each run, so the repost cache of the last run cannot help.
        let scorer = Scorer::from_config(&scoring).unwrap();
        let posts: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                scorer
                    .decoder()
                    .decode_value(&serde_json::json!({"id": format!("b{i}"), "text": t}))
                    .unwrap()
            })
            .collect();
        let started = Instant::now();
        let mut latencies = Vec::with_capacity(posts.len());
        for group in posts.chunks(chunk) {
            let t = Instant::now();
            scorer.score_many(group);
            latencies.extend(std::iter::repeat_n(t.elapsed().as_micros(), group.len()));
        }
        let stage_rate = summary(
            &format!("service scoring stage, chunks of {chunk}"),
            latencies,
            started.elapsed().as_secs_f64(),
        );
        println!(
            "ratio service stage (chunks of {chunk}) / raw ORT batch 1: {:.2}",
            stage_rate / raw_rate
        );
    }
}
