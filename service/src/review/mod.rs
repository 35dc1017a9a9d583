//! The review console (`scamwatch review`): reviewers audit flagged posts and their decisions
//! flow back. [`consume`] queues every `review`/`block` verdict from the verdict topic into the
//! [`store`] (SQLite or PostgreSQL); [`web`] serves the queue, item and stats pages rendered by
//! [`pages`]; decisions are written with an outbox row that [`publish`] sends to the feedback
//! topic, which the scorers read to adjust contact reputation; [`stats`] turns decisions into
//! precision per rule and language; [`export`] writes them as labelled training data.

pub mod consume;
pub mod export;
pub mod pages;
pub mod publish;
pub mod stats;
pub mod store;
pub mod web;

/// Milliseconds since the Unix epoch: the time unit of the review database.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
