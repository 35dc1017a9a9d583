//! Feedback: reviewers' decisions from the feedback topic (`schemas/feedback.v1.json`) adjust
//! contact reputation. Reputation lives in each replica's memory, so every replica reads the
//! whole topic: its own consumer group, no committed offsets, replay from the earliest retained
//! decision at start.

use std::sync::Arc;

use futures::StreamExt;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use tokio_util::sync::CancellationToken;

use crate::config::KafkaConfig;
use crate::message::{FEEDBACK_SCHEMA, Feedback};
use crate::metrics::{FeedbackApplied, FeedbackRejected, InternalEvent};
use crate::scorer::Scorer;
use crate::source::client_config;

/// Why a feedback message was ignored.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("empty message")]
    Empty,
    #[error("not a feedback.v1 document: {0}")]
    Invalid(#[from] serde_json::Error),
    #[error("unsupported schema {0:?}")]
    Schema(String),
}

pub fn decode(payload: Option<&[u8]>) -> Result<Feedback, FeedbackError> {
    let bytes = payload
        .filter(|p| !p.is_empty())
        .ok_or(FeedbackError::Empty)?;
    let feedback: Feedback = serde_json::from_slice(bytes)?;
    if feedback.schema != FEEDBACK_SCHEMA {
        return Err(FeedbackError::Schema(feedback.schema));
    }
    Ok(feedback)
}

pub fn consumer(config: &KafkaConfig) -> Result<StreamConsumer, KafkaError> {
    let group = format!(
        "{}.feedback.{}.{}",
        config.group_id,
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let defaults = [
        ("group.id", group.as_str()),
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
        ("enable.partition.eof", "false"),
    ];
    let consumer: StreamConsumer = client_config(config, &defaults).create()?;
    consumer.subscribe(&[&config.feedback_topic])?;
    Ok(consumer)
}

/// Apply decisions until `shutdown`.
pub async fn run(consumer: StreamConsumer, scorer: Arc<Scorer>, shutdown: CancellationToken) {
    let mut stream = consumer.stream();
    loop {
        let item = tokio::select! {
            _ = shutdown.cancelled() => break,
            item = stream.next() => item,
        };
        match item {
            Some(Ok(msg)) => match decode(msg.payload()) {
                Ok(feedback) => {
                    scorer.apply_feedback(&feedback);
                    FeedbackApplied {
                        post_id: &feedback.post_id,
                        decision: feedback.decision,
                    }
                    .emit();
                }
                Err(error) => FeedbackRejected {
                    partition: msg.partition(),
                    offset: msg.offset(),
                    error: &error.to_string(),
                }
                .emit(),
            },
            Some(Err(e)) => tracing::warn!(error = %e, "feedback consumer error"),
            None => break,
        }
    }
}
