//! Metrics: the Prometheus registry and the internal events that feed it. As in Vector, each
//! thing worth knowing is one event struct whose `emit` writes both the log line and the metric,
//! so the two never disagree. Logs carry ids and hashes only, never post text or contacts.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::message::{Action, DeadLetterReason, Decision};

/// All scamwatch metrics, registered once per process.
pub struct Metrics {
    pub registry: Registry,
    pub messages_in: IntCounter,
    pub messages_out: IntCounterVec,
    pub dead_letters: IntCounterVec,
    pub verdicts: IntCounterVec,
    pub rule_hits: IntCounterVec,
    pub stage_seconds: HistogramVec,
    pub in_flight: IntGauge,
    pub kafka_errors: IntCounterVec,
    pub offsets_committed: IntCounter,
    pub reposts: IntCounter,
    pub rule_pack: IntGaugeVec,
    pub rule_pack_reloads: IntCounterVec,
    pub feedback: IntCounterVec,
    pub model_info: IntGaugeVec,
    pub model_batch_posts: prometheus::Histogram,
    pub model_batch_seconds: prometheus::Histogram,
    pub model_queue_depth: IntGauge,
    pub http_requests: IntCounterVec,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new_custom(Some("scamwatch".into()), None).expect("registry");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("metric");
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("metric")
        };
        let m = Self {
            messages_in: counter("messages_in_total", "Messages read from the input topic"),
            messages_out: counter_vec(
                "messages_out_total",
                "Messages acknowledged by the broker, by outcome",
                &["outcome"],
            ),
            dead_letters: counter_vec(
                "dead_letters_total",
                "Messages sent to the dead-letter topic, by reason",
                &["reason"],
            ),
            verdicts: counter_vec(
                "verdicts_total",
                "Verdicts produced, by action",
                &["action"],
            ),
            rule_hits: counter_vec("rule_hits_total", "Rules that fired, by rule id", &["rule"]),
            stage_seconds: HistogramVec::new(
                HistogramOpts::new("stage_seconds", "Time spent per stage of the flow").buckets(
                    vec![
                        0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                        0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                ),
                &["stage"],
            )
            .expect("metric"),
            in_flight: IntGauge::new(
                "in_flight",
                "Messages being scored or awaiting broker acknowledgement",
            )
            .expect("metric"),
            kafka_errors: counter_vec(
                "kafka_errors_total",
                "Kafka client errors, by kind",
                &["kind"],
            ),
            offsets_committed: counter(
                "offsets_stored_total",
                "Offsets stored for commit after their output was acknowledged",
            ),
            reposts: counter(
                "reposts_total",
                "Posts whose text was already scored (verdict reused)",
            ),
            rule_pack: IntGaugeVec::new(
                Opts::new("rule_pack_info", "Loaded rule pack (value 1)"),
                &["version"],
            )
            .expect("metric"),
            feedback: counter_vec(
                "feedback_total",
                "Reviewer decisions read from the feedback topic, by decision (or invalid)",
                &["decision"],
            ),
            rule_pack_reloads: counter_vec(
                "rule_pack_reloads_total",
                "Rule pack reload attempts, by result",
                &["result"],
            ),
            model_info: IntGaugeVec::new(
                Opts::new(
                    "model_info",
                    "Loaded model (value 1); version \"none\" when rules only",
                ),
                &["version"],
            )
            .expect("metric"),
            model_batch_posts: prometheus::Histogram::with_opts(
                HistogramOpts::new(
                    "model_batch_posts",
                    "Posts per model call (micro-batch size)",
                )
                .buckets(vec![
                    1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0,
                ]),
            )
            .expect("metric"),
            model_batch_seconds: prometheus::Histogram::with_opts(
                HistogramOpts::new("model_batch_seconds", "Time of one model call").buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ]),
            )
            .expect("metric"),
            model_queue_depth: IntGauge::new(
                "model_queue_depth",
                "Posts waiting for the model (the queue blocks callers when full)",
            )
            .expect("metric"),
            http_requests: counter_vec(
                "http_requests_total",
                "HTTP API requests, by route and status",
                &["route", "status"],
            ),
            registry,
        };
        m.registry
            .register(Box::new(m.messages_in.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.messages_out.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.dead_letters.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.verdicts.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.rule_hits.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.stage_seconds.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.in_flight.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.kafka_errors.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.offsets_committed.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.reposts.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.rule_pack.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.model_info.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.model_batch_posts.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.model_batch_seconds.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.model_queue_depth.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.http_requests.clone()))
            .expect("register");
        // These two were missing from /metrics until the review console's tests looked.
        m.registry
            .register(Box::new(m.feedback.clone()))
            .expect("register");
        m.registry
            .register(Box::new(m.rule_pack_reloads.clone()))
            .expect("register");
        // Pre-create label sets so dashboards see zeros rather than gaps.
        for reason in DeadLetterReason::ALL {
            m.dead_letters.with_label_values(&[reason.as_str()]);
        }
        for action in [Action::Allow, Action::Review, Action::Block] {
            m.verdicts.with_label_values(&[action.as_str()]);
        }
        m
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

/// Something that happened inside the service: logs itself and updates its metric.
pub trait InternalEvent {
    fn emit(self);
}

pub struct MessageReceived;

impl InternalEvent for MessageReceived {
    fn emit(self) {
        METRICS.messages_in.inc();
    }
}

/// A post was scored.
pub struct PostScored<'a> {
    pub post_id: &'a str,
    pub action: Action,
    pub score: f64,
    pub rule_ids: Vec<&'a str>,
    pub repost: bool,
}

impl InternalEvent for PostScored<'_> {
    fn emit(self) {
        METRICS
            .verdicts
            .with_label_values(&[self.action.as_str()])
            .inc();
        for rule in &self.rule_ids {
            METRICS.rule_hits.with_label_values(&[rule]).inc();
        }
        if self.repost {
            METRICS.reposts.inc();
        }
        tracing::debug!(post_id = self.post_id, action = self.action.as_str(), score = self.score, rules = ?self.rule_ids, repost = self.repost, "post scored");
    }
}

/// A message could not be decoded and goes to the dead-letter topic.
pub struct MessageRejected<'a> {
    pub reason: DeadLetterReason,
    pub partition: i32,
    pub offset: i64,
    pub detail: &'a str,
}

impl InternalEvent for MessageRejected<'_> {
    fn emit(self) {
        METRICS
            .dead_letters
            .with_label_values(&[self.reason.as_str()])
            .inc();
        tracing::info!(
            reason = self.reason.as_str(),
            partition = self.partition,
            offset = self.offset,
            detail = self.detail,
            "message rejected to dead-letter topic"
        );
    }
}

/// The broker acknowledged an output record and its input offset was stored for commit.
pub struct OutputAcknowledged {
    pub outcome: &'static str,
}

impl InternalEvent for OutputAcknowledged {
    fn emit(self) {
        METRICS
            .messages_out
            .with_label_values(&[self.outcome])
            .inc();
        METRICS.offsets_committed.inc();
    }
}

/// Time spent in one stage.
pub struct StageTimed {
    pub stage: &'static str,
    pub elapsed: Duration,
}

impl InternalEvent for StageTimed {
    fn emit(self) {
        METRICS
            .stage_seconds
            .with_label_values(&[self.stage])
            .observe(self.elapsed.as_secs_f64());
    }
}

/// One model call of the micro-batching queue.
pub struct ModelBatchRun {
    pub posts: usize,
    pub padded_tokens: usize,
    pub elapsed: Duration,
    /// Posts still waiting when the call finished.
    pub queued: usize,
}

impl InternalEvent for ModelBatchRun {
    fn emit(self) {
        METRICS.model_batch_posts.observe(self.posts as f64);
        METRICS
            .model_batch_seconds
            .observe(self.elapsed.as_secs_f64());
        METRICS.model_queue_depth.set(self.queued as i64);
        tracing::trace!(
            posts = self.posts,
            padded_tokens = self.padded_tokens,
            elapsed_us = self.elapsed.as_micros() as u64,
            queued = self.queued,
            "model batch"
        );
    }
}

/// A Kafka client error (the client retries; this is for visibility).
pub struct KafkaClientError<'a> {
    pub kind: &'static str,
    pub error: &'a str,
}

impl InternalEvent for KafkaClientError<'_> {
    fn emit(self) {
        METRICS.kafka_errors.with_label_values(&[self.kind]).inc();
        tracing::warn!(kind = self.kind, error = self.error, "kafka client error");
    }
}

/// A rule pack was loaded or swapped in.
pub struct RulePackLoaded<'a> {
    pub version: &'a str,
    pub previous: Option<&'a str>,
    pub rules: usize,
}

impl InternalEvent for RulePackLoaded<'_> {
    fn emit(self) {
        if let Some(previous) = self.previous {
            let _ = METRICS.rule_pack.remove_label_values(&[previous]);
        }
        METRICS.rule_pack.with_label_values(&[self.version]).set(1);
        if self.previous.is_some() {
            METRICS.rule_pack_reloads.with_label_values(&["ok"]).inc();
        }
        tracing::info!(
            version = self.version,
            previous = self.previous,
            rules = self.rules,
            "rule pack loaded"
        );
    }
}

/// A changed rule pack failed validation; the current pack keeps serving.
pub struct RulePackRejected<'a> {
    pub error: &'a str,
    pub serving: &'a str,
}

impl InternalEvent for RulePackRejected<'_> {
    fn emit(self) {
        METRICS
            .rule_pack_reloads
            .with_label_values(&["rejected"])
            .inc();
        tracing::error!(
            error = self.error,
            serving = self.serving,
            "rule pack rejected; the current pack keeps serving"
        );
    }
}

/// A reviewer decision was applied to contact reputation.
pub struct FeedbackApplied<'a> {
    pub post_id: &'a str,
    pub decision: Decision,
}

impl InternalEvent for FeedbackApplied<'_> {
    fn emit(self) {
        let decision = self.decision.as_str();
        METRICS.feedback.with_label_values(&[decision]).inc();
        tracing::info!(
            post_id = self.post_id,
            decision,
            "reviewer feedback applied"
        );
    }
}

/// A feedback message could not be read and was skipped.
pub struct FeedbackRejected<'a> {
    pub partition: i32,
    pub offset: i64,
    pub error: &'a str,
}

impl InternalEvent for FeedbackRejected<'_> {
    fn emit(self) {
        METRICS.feedback.with_label_values(&["invalid"]).inc();
        tracing::warn!(
            partition = self.partition,
            offset = self.offset,
            error = self.error,
            "feedback message skipped"
        );
    }
}

/// The review console's metrics (`scamwatch review`), in the same registry.
pub struct ReviewMetrics {
    pub verdicts: IntCounterVec,
    pub decisions: IntCounterVec,
    pub pending: IntGauge,
    pub oldest_pending_age_seconds: IntGauge,
    pub feedback_published: IntCounter,
    pub precision: GaugeVec,
}

pub static REVIEW_METRICS: LazyLock<ReviewMetrics> = LazyLock::new(|| {
    let m = ReviewMetrics {
        verdicts: IntCounterVec::new(
            Opts::new(
                "review_verdicts_total",
                "Verdicts consumed by the review console, by outcome",
            ),
            &["outcome"],
        )
        .expect("metric"),
        decisions: IntCounterVec::new(
            Opts::new("review_decisions_total", "Reviewer decisions, by decision"),
            &["decision"],
        )
        .expect("metric"),
        pending: IntGauge::new("review_pending", "Items waiting for a final decision")
            .expect("metric"),
        oldest_pending_age_seconds: IntGauge::new(
            "review_oldest_pending_age_seconds",
            "Age of the oldest item waiting for a final decision",
        )
        .expect("metric"),
        feedback_published: IntCounter::new(
            "review_feedback_published_total",
            "Decisions acknowledged on the feedback topic",
        )
        .expect("metric"),
        precision: GaugeVec::new(
            Opts::new(
                "review_precision",
                "Share of decided items confirmed as fraud, per rule or language",
            ),
            &["by", "key"],
        )
        .expect("metric"),
    };
    let registry = &METRICS.registry;
    registry
        .register(Box::new(m.verdicts.clone()))
        .expect("register");
    registry
        .register(Box::new(m.decisions.clone()))
        .expect("register");
    registry
        .register(Box::new(m.pending.clone()))
        .expect("register");
    registry
        .register(Box::new(m.oldest_pending_age_seconds.clone()))
        .expect("register");
    registry
        .register(Box::new(m.feedback_published.clone()))
        .expect("register");
    registry
        .register(Box::new(m.precision.clone()))
        .expect("register");
    m
});

/// A verdict read from the verdict topic by the review console.
pub struct ReviewVerdictConsumed<'a> {
    pub post_id: Option<&'a str>,
    /// queued, duplicate, not_flagged or invalid.
    pub outcome: &'static str,
}

impl InternalEvent for ReviewVerdictConsumed<'_> {
    fn emit(self) {
        REVIEW_METRICS
            .verdicts
            .with_label_values(&[self.outcome])
            .inc();
        tracing::debug!(
            post_id = self.post_id,
            outcome = self.outcome,
            "verdict consumed for review"
        );
    }
}

/// A reviewer decided an item.
pub struct ReviewDecided<'a> {
    pub item_id: i64,
    pub post_id: &'a str,
    pub reviewer: &'a str,
    pub decision: Decision,
}

impl InternalEvent for ReviewDecided<'_> {
    fn emit(self) {
        let decision = self.decision.as_str();
        REVIEW_METRICS
            .decisions
            .with_label_values(&[decision])
            .inc();
        tracing::info!(
            item_id = self.item_id,
            post_id = self.post_id,
            reviewer = self.reviewer,
            decision,
            "review decision recorded"
        );
    }
}

/// A decision reached the feedback topic.
pub struct FeedbackPublished<'a> {
    pub post_id: &'a str,
}

impl InternalEvent for FeedbackPublished<'_> {
    fn emit(self) {
        REVIEW_METRICS.feedback_published.inc();
        tracing::info!(
            post_id = self.post_id,
            "decision published to the feedback topic"
        );
    }
}
