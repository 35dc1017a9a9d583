//! Pipeline: source -> decode -> score -> sink, with at-least-once delivery. Messages are scored
//! concurrently (bounded by `max_in_flight`) but their outputs are produced and acknowledged in
//! consumption order, and an input offset is stored for commit only once its verdict or
//! dead-letter record is acknowledged by the broker. A crash at any point therefore re-delivers,
//! never loses. On shutdown, in-flight records are awaited and offsets committed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::OwnedMessage;
use tokio_util::sync::CancellationToken;

use crate::config::KafkaConfig;
use crate::metrics::{
    InternalEvent, KafkaClientError, METRICS, MessageReceived, MessageRejected, OutputAcknowledged,
    StageTimed,
};
use crate::scorer::Scorer;
use crate::sink::{self, OutputProducer, OutputRecord};
use crate::source::{PostConsumer, Readiness};

/// Decode a chunk of messages and score the valid posts together (one model request for the
/// chunk), giving each message the record to produce, in order.
fn process(
    scorer: &Scorer,
    config: &KafkaConfig,
    msgs: Vec<OwnedMessage>,
) -> Vec<(OwnedMessage, OutputRecord)> {
    let mut posts = Vec::with_capacity(msgs.len());
    let decoded: Vec<Option<OutputRecord>> = msgs
        .iter()
        .map(|msg| {
            let started = Instant::now();
            let decoded = scorer.decoder().decode(msg.payload());
            StageTimed {
                stage: "decode",
                elapsed: started.elapsed(),
            }
            .emit();
            match decoded {
                Ok(post) => {
                    posts.push(post);
                    None
                }
                Err(error) => {
                    MessageRejected {
                        reason: error.reason,
                        partition: msg.partition(),
                        offset: msg.offset(),
                        detail: &error.detail,
                    }
                    .emit();
                    Some(sink::dead_letter_record(
                        &config.dead_letter_topic,
                        msg,
                        &error,
                    ))
                }
            }
        })
        .collect();
    let mut verdicts = scorer.score_many(&posts).into_iter();
    msgs.into_iter()
        .zip(decoded)
        .map(|(msg, dead_letter)| {
            let record = dead_letter.unwrap_or_else(|| {
                let verdict = verdicts.next().expect("one verdict per valid post");
                sink::verdict_record(&config.verdict_topic, &msg, &verdict)
            });
            (msg, record)
        })
        .collect()
}

/// Most messages scored by one blocking task: rules only, and with a model (the model's
/// batching queue merges the chunks in flight into micro-batches).
const SCORE_CHUNK: usize = 128;
const MODEL_SCORE_CHUNK: usize = 8;

/// Chunks scored concurrently: one per core.
fn scoring_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Where an acknowledged record came from.
struct Acked {
    topic: String,
    partition: i32,
    offset: i64,
    outcome: &'static str,
    produce_started: Instant,
}

/// Consume until `shutdown` fires, then drain and commit.
pub async fn run(
    consumer: Arc<PostConsumer>,
    producer: OutputProducer,
    scorer: Arc<Scorer>,
    config: KafkaConfig,
    readiness: Arc<Readiness>,
    shutdown: CancellationToken,
) {
    let config = Arc::new(config);
    // Outputs awaiting acknowledgement; may overshoot by one chunk.
    let cap = config.max_in_flight;
    // A model takes milliseconds per post: a chunk is one model batch (`--model-max-batch`'s
    // default), and one chunk per core in flight keeps the inference thread fed.
    let chunk_size = if scorer.model_version().is_some() {
        MODEL_SCORE_CHUNK
    } else {
        SCORE_CHUNK
    };
    let scored = consumer
        .stream()
        .filter_map(|item| {
            let ready = match item {
                Ok(msg) => {
                    MessageReceived.emit();
                    Some(msg.detach())
                }
                Err(e) => {
                    KafkaClientError {
                        kind: "consume",
                        error: &e.to_string(),
                    }
                    .emit();
                    None
                }
            };
            futures::future::ready(ready)
        })
        // Score in chunks of whatever is ready, one blocking task per chunk and one chunk per
        // core in flight: far fewer thread hand-offs than a task per message.
        .ready_chunks(chunk_size)
        .map(|chunk| {
            let scorer = scorer.clone();
            let config = config.clone();
            tokio::task::spawn_blocking(move || process(&scorer, &config, chunk))
                .map(|joined| joined.expect("scoring never panics"))
        })
        .buffered(scoring_workers());
    tokio::pin!(scored);

    let mut acks = FuturesOrdered::new();
    loop {
        METRICS.in_flight.set(acks.len() as i64);
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(acked) = acks.next(), if !acks.is_empty() => store_offset(&consumer, acked),
            next = scored.next(), if acks.len() < cap => {
                let Some(chunk) = next else { break };
                for (msg, record) in chunk {
                    acks.push_back(deliver(&producer, msg, record));
                }
            }
        }
    }

    // Drain: everything already handed to the producer is awaited, then committed. Messages
    // consumed but not yet produced are simply not committed, and will be redelivered.
    readiness.draining.store(true, Ordering::Relaxed);
    tracing::info!(
        in_flight = acks.len(),
        "draining in-flight records before shutdown"
    );
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async {
        while let Some(acked) = acks.next().await {
            store_offset(&consumer, acked);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "shutdown grace period ended with records unacknowledged; they will be redelivered"
        );
    }
    METRICS.in_flight.set(0);
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::warn!(error = %e, "final offset commit failed; the uncommitted tail will be redelivered");
    }
    consumer.unsubscribe();
}

fn deliver(
    producer: &OutputProducer,
    msg: OwnedMessage,
    record: OutputRecord,
) -> impl std::future::Future<Output = Acked> + use<> {
    let producer = producer.clone();
    async move {
        let produce_started = Instant::now();
        let outcome = record.outcome;
        record.deliver(&producer).await;
        Acked {
            topic: msg.topic().to_string(),
            partition: msg.partition(),
            offset: msg.offset(),
            outcome,
            produce_started,
        }
    }
}

fn store_offset(consumer: &PostConsumer, acked: Acked) {
    StageTimed {
        stage: "produce",
        elapsed: acked.produce_started.elapsed(),
    }
    .emit();
    OutputAcknowledged {
        outcome: acked.outcome,
    }
    .emit();
    if let Err(e) = consumer.store_offset(&acked.topic, acked.partition, acked.offset) {
        // The partition was revoked while the record was in flight: its new owner redoes it.
        tracing::debug!(partition = acked.partition, offset = acked.offset, error = %e, "offset not stored");
    }
}
