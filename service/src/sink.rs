//! Sink: the idempotent producer and the records it writes: verdicts to the verdict topic, and
//! rejected messages to the dead-letter topic with Kafka Connect's `__connect.errors.*` headers.
//! Input headers (e.g. `traceparent`) are carried onto every output record.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use rdkafka::Message;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use sha2::{Digest, Sha256};

use crate::config::KafkaConfig;
use crate::decode::DecodeError;
use crate::message::{DEAD_LETTER_SCHEMA, DeadLetter, SourcePosition, VERDICT_SCHEMA, Verdict};
use crate::metrics::{InternalEvent, KafkaClientError};
use crate::scorer::{SERVICE_VERSION, now_rfc3339};
use crate::source::{KafkaContext, client_config};

/// At most this much of an oversized payload is copied into its dead-letter record; the
/// original stays addressable by topic/partition/offset.
const DEAD_LETTER_PAYLOAD_CAP: usize = 64 * 1024;

pub type OutputProducer = FutureProducer<KafkaContext>;

/// An idempotent producer that waits out broker outages instead of failing messages.
pub fn producer(config: &KafkaConfig, context: KafkaContext) -> Result<OutputProducer, KafkaError> {
    let defaults = [
        ("enable.idempotence", "true"),
        ("acks", "all"),
        // 0 = no delivery timeout: during an outage records wait in the queue and are retried.
        ("message.timeout.ms", "0"),
        ("linger.ms", "5"),
        ("queue.buffering.max.messages", "100000"),
    ];
    let base = client_config(config, &defaults);
    base.create_with_context(context)
}

/// An output record owned by the pipeline until the broker acknowledges it.
#[derive(Debug, Clone)]
pub struct OutputRecord {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// "verdict" or "dead_letter", for metrics.
    pub outcome: &'static str,
}

impl OutputRecord {
    fn owned_headers(&self) -> OwnedHeaders {
        self.headers.iter().fold(
            OwnedHeaders::new_with_capacity(self.headers.len()),
            |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: Some(v),
                })
            },
        )
    }

    /// Send until the broker acknowledges. Enqueue errors (full queue) and delivery errors are
    /// retried with capped backoff: a record is never dropped.
    pub async fn deliver(self, producer: &OutputProducer) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let mut record = FutureRecord::to(&self.topic)
                .payload(&self.payload)
                .headers(self.owned_headers());
            if let Some(key) = &self.key {
                record = record.key(key);
            }
            match producer.send(record, Timeout::Never).await {
                Ok(_) => return,
                Err((e, _)) => {
                    KafkaClientError {
                        kind: "delivery",
                        error: &e.to_string(),
                    }
                    .emit();
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

/// Input headers, minus the ones we set ourselves.
fn carried_headers(msg: &OwnedMessage, replace: &[&str]) -> Vec<(String, Vec<u8>)> {
    msg.headers()
        .map(|h| {
            h.iter()
                .filter(|h| !replace.contains(&h.key))
                .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default()
}

const CONTENT_TYPE: &str = "content-type";
const SCHEMA_VERSION: &str = "schema-version";

pub fn verdict_record(topic: &str, input: &OwnedMessage, verdict: &Verdict) -> OutputRecord {
    let mut headers = carried_headers(input, &[CONTENT_TYPE, SCHEMA_VERSION]);
    headers.push((CONTENT_TYPE.into(), b"application/json".to_vec()));
    headers.push((SCHEMA_VERSION.into(), VERDICT_SCHEMA.as_bytes().to_vec()));
    OutputRecord {
        topic: topic.to_string(),
        key: Some(verdict.post_id.as_bytes().to_vec()),
        payload: serde_json::to_vec(verdict).expect("verdicts serialise"),
        headers,
        outcome: "verdict",
    }
}

pub fn dead_letter(input: &OwnedMessage, error: &DecodeError) -> DeadLetter {
    let payload = input.payload().unwrap_or_default();
    let kept = &payload[..payload.len().min(DEAD_LETTER_PAYLOAD_CAP)];
    let headers: BTreeMap<String, String> = carried_headers(input, &[])
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    DeadLetter {
        schema: DEAD_LETTER_SCHEMA.to_string(),
        reason: error.reason,
        detail: error.detail.clone(),
        source: SourcePosition {
            topic: input.topic().to_string(),
            partition: input.partition(),
            offset: input.offset(),
            timestamp_ms: input.timestamp().to_millis(),
            key: input.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        },
        payload_base64: base64::engine::general_purpose::STANDARD.encode(kept),
        payload_bytes: payload.len(),
        payload_truncated: kept.len() < payload.len(),
        payload_sha256: hex::encode(Sha256::digest(payload)),
        headers,
        failed_at: now_rfc3339(),
        service_version: SERVICE_VERSION.to_string(),
    }
}

pub fn dead_letter_record(topic: &str, input: &OwnedMessage, error: &DecodeError) -> OutputRecord {
    let letter = dead_letter(input, error);
    let mut headers = carried_headers(input, &[CONTENT_TYPE, SCHEMA_VERSION]);
    let connect = [
        ("__connect.errors.topic", input.topic().to_string()),
        ("__connect.errors.partition", input.partition().to_string()),
        ("__connect.errors.offset", input.offset().to_string()),
        ("__connect.errors.stage", "VALUE_CONVERTER".to_string()),
        (
            "__connect.errors.exception.class.name",
            error.reason.as_str().to_string(),
        ),
        ("__connect.errors.exception.message", error.detail.clone()),
    ];
    headers.extend(
        connect
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_bytes())),
    );
    headers.push((CONTENT_TYPE.into(), b"application/json".to_vec()));
    headers.push((
        SCHEMA_VERSION.into(),
        DEAD_LETTER_SCHEMA.as_bytes().to_vec(),
    ));
    OutputRecord {
        topic: topic.to_string(),
        key: input.key().map(<[u8]>::to_vec),
        payload: serde_json::to_vec(&letter).expect("dead letters serialise"),
        headers,
        outcome: "dead_letter",
    }
}
