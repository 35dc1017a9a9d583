//! Queue flagged verdicts: the console's own consumer group on the verdict topic. An offset is
//! stored only after its verdict is in the database, so a crash re-reads, and the store's
//! (post id, verdict version) key turns the re-read into a no-op.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer};
use tokio_util::sync::CancellationToken;

use super::store::{Ingested, ReviewStore};
use crate::config::KafkaConfig;
use crate::message::Verdict;
use crate::metrics::{InternalEvent, KafkaClientError, ReviewVerdictConsumed};
use crate::source::{self, KafkaContext, PostConsumer};

/// The console's consumer: like the scorer's, but on the verdict topic with its own group.
pub fn consumer(
    kafka: &KafkaConfig,
    group_id: &str,
    context: KafkaContext,
) -> Result<PostConsumer, rdkafka::error::KafkaError> {
    let mut config = kafka.clone();
    config.group_id = group_id.to_string();
    config.input_topic = kafka.verdict_topic.clone();
    source::consumer(&config, context)
}

/// Queue verdicts until `shutdown`, then commit what was stored.
pub async fn run(store: ReviewStore, consumer: Arc<PostConsumer>, shutdown: CancellationToken) {
    let mut stream = consumer.stream();
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => break,
            next = stream.next() => match next {
                Some(Ok(message)) => message,
                Some(Err(error)) => {
                    KafkaClientError { kind: "review_consume", error: &error.to_string() }.emit();
                    continue;
                }
                None => break,
            },
        };
        match message.payload().map(serde_json::from_slice::<Verdict>) {
            Some(Ok(verdict)) => queue(&store, &verdict, &shutdown).await,
            // Not ours to fix (the verdict topic has one producer, the scorer); count it and move on.
            _ => ReviewVerdictConsumed {
                post_id: None,
                outcome: "invalid",
            }
            .emit(),
        }
        if shutdown.is_cancelled() {
            break;
        }
        if let Err(error) = consumer.store_offset_from_message(&message) {
            KafkaClientError {
                kind: "store_offset",
                error: &error.to_string(),
            }
            .emit();
        }
    }
    if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(%error, "final commit of the review consumer");
    }
}

/// Insert one verdict, retrying while the database is unavailable: a verdict is never skipped.
async fn queue(store: &ReviewStore, verdict: &Verdict, shutdown: &CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match store.ingest(verdict, super::now_ms()).await {
            Ok(outcome) => {
                let outcome = match outcome {
                    Ingested::Queued(_) => "queued",
                    Ingested::Duplicate => "duplicate",
                    Ingested::NotFlagged => "not_flagged",
                };
                ReviewVerdictConsumed {
                    post_id: Some(&verdict.post_id),
                    outcome,
                }
                .emit();
                return;
            }
            Err(error) => {
                tracing::warn!(post_id = %verdict.post_id, %error, "queueing a verdict failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
