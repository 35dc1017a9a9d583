//! Source: the Kafka consumer group on the input topic, and what the consumer knows about its
//! own health (joined the group? brokers reachable?) for `/readyz`. Offsets are never
//! auto-stored: the pipeline stores each one only after its output is acknowledged, and
//! librdkafka's auto-commit then commits what was stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::config::KafkaConfig;
use crate::metrics::{InternalEvent, KafkaClientError};

/// What `/readyz` reports.
#[derive(Debug, Default)]
pub struct Readiness {
    /// The consumer has received a partition assignment (possibly empty) from the group.
    pub joined: AtomicBool,
    /// A broker answered the last probe (see [`consumer`]), and no "all brokers down" since.
    pub broker_up: AtomicBool,
    /// A rule pack is loaded.
    pub rules_loaded: AtomicBool,
    /// Shutting down: stop taking traffic.
    pub draining: AtomicBool,
}

impl Readiness {
    /// Reasons the service is not ready; empty when ready.
    pub fn problems(&self) -> Vec<&'static str> {
        let mut p = Vec::new();
        if !self.rules_loaded.load(Ordering::Relaxed) {
            p.push("rule pack not loaded");
        }
        if !self.joined.load(Ordering::Relaxed) {
            p.push("consumer has not joined the group");
        }
        if !self.broker_up.load(Ordering::Relaxed) {
            p.push("brokers unreachable");
        }
        if self.draining.load(Ordering::Relaxed) {
            p.push("shutting down");
        }
        p
    }
}

/// Client context shared by consumer and producer: turns librdkafka callbacks into events and
/// readiness.
#[derive(Clone)]
pub struct KafkaContext {
    pub readiness: Arc<Readiness>,
}

impl ClientContext for KafkaContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let kind = match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::AllBrokersDown) => {
                self.readiness.broker_up.store(false, Ordering::Relaxed);
                "all_brokers_down"
            }
            Some(RDKafkaErrorCode::BrokerTransportFailure) => "transport",
            _ => "other",
        };
        KafkaClientError {
            kind,
            error: reason,
        }
        .emit();
    }
}

impl ConsumerContext for KafkaContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance {
            // Commit what has been acknowledged so far before the partitions move; work still
            // in flight for them will be redone by the new owner (at-least-once).
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync)
                && !matches!(e.rdkafka_error_code(), Some(RDKafkaErrorCode::NoOffset))
            {
                KafkaClientError {
                    kind: "commit_on_revoke",
                    error: &e.to_string(),
                }
                .emit();
            }
            self.readiness.joined.store(false, Ordering::Relaxed);
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = tpl.count(), "partitions assigned");
                self.readiness.joined.store(true, Ordering::Relaxed);
                self.readiness.broker_up.store(true, Ordering::Relaxed);
            }
            Rebalance::Revoke(tpl) => {
                tracing::info!(partitions = tpl.count(), "partitions revoked")
            }
            Rebalance::Error(e) => KafkaClientError {
                kind: "rebalance",
                error: &e.to_string(),
            }
            .emit(),
        }
    }
}

/// Client settings: bootstrap servers, our `defaults`, then the operator's pass-through options
/// (which win over the defaults).
pub fn client_config(config: &KafkaConfig, defaults: &[(&str, &str)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.brokers);
    c.set_log_level(RDKafkaLogLevel::Warning);
    for (k, v) in defaults.iter().copied().chain(config.option_pairs()) {
        c.set(k, v);
    }
    c
}

pub type PostConsumer = StreamConsumer<KafkaContext>;

/// Join the consumer group on the input topic.
pub fn consumer(config: &KafkaConfig, context: KafkaContext) -> Result<PostConsumer, KafkaError> {
    let defaults = [
        ("group.id", config.group_id.as_str()),
        ("enable.auto.commit", "true"),
        ("auto.commit.interval.ms", "1000"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("session.timeout.ms", "10000"),
        ("heartbeat.interval.ms", "1000"),
        ("enable.partition.eof", "false"),
        // Pre-fetch at most 16 MiB per partition (librdkafka's default, 64 MiB, dominates RSS).
        ("queued.max.messages.kbytes", "16384"),
    ];
    let base = client_config(config, &defaults);
    let readiness = context.readiness.clone();
    let consumer: PostConsumer = base.create_with_context(context)?;
    consumer.subscribe(&[&config.input_topic])?;
    spawn_broker_probe(config, readiness)?;
    Ok(consumer)
}

/// The probe's context: its connection errors repeat what the consumer and producer report.
struct QuietContext;

impl ClientContext for QuietContext {
    fn log(&self, _level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        tracing::debug!(fac, log_message, "broker probe");
    }
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "broker probe");
    }
}

impl ConsumerContext for QuietContext {}

/// How often the broker probe asks for metadata, and how long it waits for an answer.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Keep `readiness.broker_up` in step with whether a broker answers a metadata request, from a
/// client and thread of its own: the consumer's callbacks are served only while the pipeline
/// polls it, which stops when in-flight records cannot be acknowledged (as in an outage), and
/// nothing else would mark the brokers reachable again after an outage on an idle topic. The
/// probe ends when it holds the last reference to `readiness`.
fn spawn_broker_probe(config: &KafkaConfig, readiness: Arc<Readiness>) -> Result<(), KafkaError> {
    let probe: BaseConsumer<QuietContext> =
        client_config(config, &[]).create_with_context(QuietContext)?;
    let topic = config.input_topic.clone();
    std::thread::Builder::new()
        .name("broker-probe".into())
        .spawn(move || {
            while Arc::strong_count(&readiness) > 1 {
                let up = probe.fetch_metadata(Some(&topic), PROBE_TIMEOUT).is_ok();
                if readiness.broker_up.swap(up, Ordering::Relaxed) != up {
                    tracing::info!(brokers_reachable = up, "broker probe");
                }
                std::thread::sleep(PROBE_EVERY);
            }
        })
        .map_err(|e| KafkaError::ClientCreation(format!("spawning the broker probe: {e}")))?;
    Ok(())
}
