//! Publish decisions: sends the outbox's unpublished feedback messages to the feedback topic,
//! oldest first, and marks each once the broker acknowledges it. A decision committed while the
//! broker is down is published when it returns; a crash between send and mark re-sends it
//! (consumers of the feedback topic apply decisions idempotently per post).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::store::ReviewStore;
use crate::metrics::{FeedbackPublished, InternalEvent, KafkaClientError};
use crate::sink::OutputProducer;

pub async fn run(
    store: ReviewStore,
    producer: OutputProducer,
    topic: String,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(error) = publish_pending(&store, &producer, &topic).await {
            tracing::warn!(%error, "publishing feedback failed; will retry");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

async fn publish_pending(
    store: &ReviewStore,
    producer: &OutputProducer,
    topic: &str,
) -> Result<(), super::store::StoreError> {
    loop {
        let pending = store.pending_feedback(100).await?;
        if pending.is_empty() {
            return Ok(());
        }
        for feedback in pending {
            let record = FutureRecord::to(topic)
                .key(feedback.post_id.as_bytes())
                .payload(feedback.payload.as_bytes());
            if let Err((error, _)) = producer
                .send(record, Timeout::After(Duration::from_secs(30)))
                .await
            {
                KafkaClientError {
                    kind: "feedback_publish",
                    error: &error.to_string(),
                }
                .emit();
                return Ok(());
            }
            store
                .mark_published(feedback.outbox_id, super::now_ms())
                .await?;
            FeedbackPublished {
                post_id: &feedback.post_id,
            }
            .emit();
        }
    }
}
