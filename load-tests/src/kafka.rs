//! Kafka plumbing for load runs and tests: create topics, produce generated messages with a
//! produce-timestamp header, and collect verdicts and dead letters with their latencies.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use crate::corpus::Generated;

/// Header carrying the produce time (microseconds since the epoch) for end-to-end latency.
pub const PRODUCED_AT: &str = "x-produced-at-us";

pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Create topics, ignoring "already exists".
pub async fn create_topics(brokers: &str, topics: &[(&str, i32)]) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, parts)| NewTopic::new(name, *parts, TopicReplication::Fixed(1)))
        .collect();
    let results = admin
        .create_topics(
            &new,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await?;
    for r in results {
        if let Err((topic, code)) = r
            && code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists
        {
            anyhow::bail!("creating topic {topic}: {code}");
        }
    }
    Ok(())
}

/// Producer for generated traffic. One record per batch: tansu 0.6.0 returns nothing for a fetch
/// that starts in the middle of a record batch, so a consumer group resuming from a committed
/// offset inside a multi-record batch would skip the rest of that batch (measured; see
/// load-tests/README.md). Real Kafka has no such problem; the service's own producer batches.
pub fn producer(brokers: &str) -> anyhow::Result<FutureProducer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("batch.num.messages", "1")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("message.max.bytes", "16000000")
        .set("queue.buffering.max.messages", "200000")
        .create()?)
}

/// Produce one generated message (awaits the broker's acknowledgement).
pub async fn produce_one(
    producer: &FutureProducer,
    topic: &str,
    g: &Generated,
) -> anyhow::Result<()> {
    let produced_at = now_us().to_string();
    let traceparent = format!("00-{:032x}-{:016x}-01", fxhash(&g.key), fxhash(&g.key) >> 1);
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: PRODUCED_AT,
            value: Some(produced_at.as_bytes()),
        })
        .insert(Header {
            key: "traceparent",
            value: Some(traceparent.as_bytes()),
        });
    let mut record = FutureRecord::to(topic)
        .key(g.key.as_bytes())
        .headers(headers);
    if let Some(p) = &g.payload {
        record = record.payload(p);
    }
    producer
        .send(record, Timeout::Never)
        .await
        .map_err(|(e, _)| anyhow::anyhow!("produce: {e}"))?;
    Ok(())
}

/// Produce many messages with up to `concurrency` in flight.
pub async fn produce_all(
    producer: &FutureProducer,
    topic: &str,
    messages: &[Generated],
    concurrency: usize,
) -> anyhow::Result<()> {
    use futures::StreamExt;
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(messages)
        .map(|g| produce_one(producer, topic, g))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    producer.flush(Timeout::After(Duration::from_secs(30)))?;
    Ok(())
}

/// A small stable hash for trace ids.
fn fxhash(s: &str) -> u128 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u128, |h, b| {
        (h ^ b as u128).wrapping_mul(0x1000_0000_01b3)
    })
}

/// One output record as read back.
#[derive(Debug, Clone)]
pub struct Output {
    pub topic: String,
    pub key: Option<String>,
    pub payload: serde_json::Value,
    pub headers: HashMap<String, String>,
    /// Produce-to-read latency when the produce header was carried.
    pub latency_us: Option<u64>,
}

/// Reads the verdict and dead-letter topics from the beginning.
pub struct Collector {
    consumer: BaseConsumer,
}

impl Collector {
    pub fn new(brokers: &str, topics: &[&str]) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", format!("collector-{}", now_us()))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // Latency is measured on read: do not let the broker hold a fetch for up to 500 ms.
            .set("fetch.wait.max.ms", "10")
            .create()?;
        consumer.subscribe(topics)?;
        Ok(Self { consumer })
    }

    /// Poll for up to `wait`, returning what arrived.
    pub fn poll_for(&self, wait: Duration) -> Vec<Output> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let headers: HashMap<String, String> = m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|h| {
                                    (
                                        h.key.to_string(),
                                        String::from_utf8_lossy(h.value.unwrap_or_default())
                                            .into_owned(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let latency_us = headers
                        .get(PRODUCED_AT)
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(|t| now_us().saturating_sub(t));
                    out.push(Output {
                        topic: m.topic().to_string(),
                        key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                        payload: m
                            .payload()
                            .and_then(|p| serde_json::from_slice(p).ok())
                            .unwrap_or(serde_json::Value::Null),
                        headers,
                        latency_us,
                    });
                    if out.len() >= 5000 {
                        break;
                    }
                }
                Some(Err(e)) => eprintln!("collector: {e}"),
                None => {}
            }
        }
        out
    }
}
