//! Hot reload: a changed, valid rule pack file is swapped in; an invalid one is rejected and the
//! pack that was serving keeps serving.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use scamwatch::config::ScoringConfig;
use scamwatch::scorer::Scorer;

async fn wait_for(scorer: &Scorer, version: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if scorer.pack().version() == version {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn changed_pack_file_is_swapped_in_and_a_bad_one_rejected() {
    let original =
        std::fs::read_to_string(common::repo_root().join("models/rules/pack.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pack.toml");
    std::fs::write(&path, &original).unwrap();
    let mut scoring = ScoringConfig::from_env();
    scoring.rule_pack = path.clone();
    let scorer = Arc::new(Scorer::from_config(&scoring).unwrap());
    let first = scorer.pack().version().to_string();
    tokio::spawn(
        scorer
            .clone()
            .watch_rule_pack(path.clone(), Duration::from_millis(25)),
    );

    let bumped = original.replacen(
        &format!("version = \"{first}\""),
        "version = \"reload-test-2\"",
        1,
    );
    assert_ne!(bumped, original, "the pack names its version");
    std::fs::write(&path, &bumped).unwrap();
    assert!(
        wait_for(&scorer, "reload-test-2").await,
        "valid change is picked up (serving {})",
        scorer.pack().version()
    );

    let broken = bumped.replacen(
        "version = \"reload-test-2\"",
        "version = \"reload-test-3\"\nunknown_field = 1",
        1,
    );
    std::fs::write(&path, broken).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        scorer.pack().version(),
        "reload-test-2",
        "a bad pack never replaces a good one"
    );

    std::fs::write(&path, b"\xff\xfe not UTF-8").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        scorer.pack().version(),
        "reload-test-2",
        "a file that is not UTF-8 is rejected too"
    );

    let fixed = bumped.replacen(
        "version = \"reload-test-2\"",
        "version = \"reload-test-4\"",
        1,
    );
    std::fs::write(&path, fixed).unwrap();
    assert!(
        wait_for(&scorer, "reload-test-4").await,
        "the watcher keeps going after rejected files"
    );
}
