//! Source: the Kafka consumer group on the input topic, and what the consumer knows about its
//! own health (joined the group? brokers reachable?) for `/readyz`. Offsets are never
//! auto-stored: the pipeline stores each one only after its output is acknowledged, and
//! librdkafka's auto-commit then commits what was stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// No "all brokers down" since the last successful broker interaction.
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
    let consumer: PostConsumer = base.create_with_context(context)?;
    consumer.subscribe(&[&config.input_topic])?;
    Ok(consumer)
}
