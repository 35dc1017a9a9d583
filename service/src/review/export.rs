//! `scamwatch feedback export`: final reviewer decisions joined with their posts, as labelled
//! JSONL in the training data's format (`models/data/*.jsonl`: id, source, lang, label, title,
//! text, meta), ready for the model pipeline and `scamwatch eval`.

use std::io::Write;

use serde::Serialize;

use super::store::{ReviewStore, Status, StoreError};
use crate::message::Verdict;

#[derive(Debug, Serialize)]
pub struct LabelledPost {
    pub id: String,
    pub source: String,
    pub lang: Option<String>,
    /// 1 = recruitment fraud (reviewer confirmed), 0 = not fraud.
    pub label: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    pub meta: ExportMeta,
}

#[derive(Debug, Serialize)]
pub struct ExportMeta {
    pub kind: &'static str,
    pub reviewer: String,
    pub decided_at: String,
    pub rules: Vec<String>,
    pub verdict_score: f64,
    pub verdict_action: String,
    pub rule_pack: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export: {0}")]
    Write(#[from] std::io::Error),
}

/// Write one line per finally decided item; returns how many were written. Items whose verdict
/// carries no post text (verdicts from before the post was carried) are skipped.
pub async fn write_jsonl(store: &ReviewStore, mut out: impl Write) -> Result<usize, ExportError> {
    let mut written = 0;
    for item in store.decided().await? {
        let Ok(verdict) = serde_json::from_str::<Verdict>(&item.verdict_json) else {
            continue;
        };
        let Some(post) = verdict.post else { continue };
        let decided_at = chrono::DateTime::from_timestamp_millis(item.decision.decided_at)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let line = LabelledPost {
            id: verdict.post_id,
            source: "review".into(),
            lang: item.language,
            label: u8::from(item.status == Status::Fraud),
            title: post.title,
            text: post.text,
            meta: ExportMeta {
                kind: "reviewed",
                reviewer: item.decision.reviewer,
                decided_at,
                rules: item.rules,
                verdict_score: verdict.score,
                verdict_action: verdict.action.as_str().to_string(),
                rule_pack: verdict.versions.rule_pack,
                platform: post.platform,
                note: item.decision.note,
                labels: item.decision.labels,
            },
        };
        serde_json::to_writer(&mut out, &line).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}
