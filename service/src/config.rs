//! Config: one typed struct per concern, every field a `--flag` with a `SCAMWATCH_*` env var and a
//! `///` doc that becomes `--help`. A TOML file (`--config`) supplies values for anything not set
//! on the command line or in the environment (precedence: flag > env > file > default).
//! Everything is validated at start, and all problems are reported at once.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {source}")]
    Toml {
        path: String,
        source: toml::de::Error,
    },
    #[error("config file {path}: unknown key {key:?} (see --help for the accepted names)")]
    UnknownKey { path: String, key: String },
    #[error("config file {path}: key {key:?}: {message}")]
    BadValue {
        path: String,
        key: String,
        message: String,
    },
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// How posts are scored: shared by `serve`, `score` and `eval`.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ScoringConfig {
    /// Rule pack file (TOML): rules, gazetteer, currency rates, fusion weights.
    #[arg(
        long,
        env = "SCAMWATCH_RULE_PACK",
        default_value = "models/rules/pack.toml"
    )]
    pub rule_pack: PathBuf,

    /// Classifier directory (holding model.json, model.int8.onnx, tokenizer.json), or "none"
    /// to score with rules alone. Verdicts and /readyz say which.
    #[arg(long, env = "SCAMWATCH_MODEL", default_value = "none")]
    pub model: String,

    /// Seconds between checks of the rule pack file for changes (a changed, valid pack is
    /// swapped in; an invalid one is rejected and the current pack keeps serving). 0 = never.
    #[arg(long, env = "SCAMWATCH_RULE_RELOAD_SECS", default_value_t = 5)]
    pub rule_reload_secs: u64,

    /// ONNX Runtime shared library (libonnxruntime.so.1.31.1 from the onnxruntime wheel;
    /// scripts/setup.sh installs it). Needed only with a model.
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_library: Option<PathBuf>,

    /// For flagged posts, how many sentences to occlude (one extra inference each) to show
    /// which parts of the text drove the model's score. 0 = off.
    #[arg(long, env = "SCAMWATCH_MODEL_EXPLAIN_SPANS", default_value_t = 4)]
    pub model_explain_spans: usize,

    /// Threads ONNX Runtime uses for one inference.
    #[arg(long, env = "SCAMWATCH_MODEL_THREADS", default_value_t = 2)]
    pub model_threads: usize,

    /// Most posts the model runs in one call (dynamic micro-batching). A post's score does not
    /// depend on what it is batched with.
    #[arg(long, env = "SCAMWATCH_MODEL_MAX_BATCH", default_value_t = 8)]
    pub model_max_batch: usize,

    /// Most padded tokens (posts x longest 128-token window) in one model call. Bounds the
    /// activations ONNX Runtime holds: 2048 (16 posts) peaked at 393-460 MB RSS in the drain
    /// test, 1024 at 379-387 MB, at the same throughput.
    #[arg(long, env = "SCAMWATCH_MODEL_MAX_BATCH_TOKENS", default_value_t = 1024)]
    pub model_max_batch_tokens: usize,

    /// Microseconds the first post of a batch waits for more posts. 0 = take what is already
    /// queued: posts arriving while a batch runs form the next one, and a lone post pays no wait
    /// (2000 cost one-at-a-time scoring 20% in the model benchmark).
    #[arg(long, env = "SCAMWATCH_MODEL_MAX_WAIT_US", default_value_t = 0)]
    pub model_max_wait_us: u64,

    /// Posts queued for the model before scoring blocks (backpressure into the consumer).
    #[arg(long, env = "SCAMWATCH_MODEL_QUEUE", default_value_t = 256)]
    pub model_queue: usize,

    /// Score at or above which a post goes to human review.
    #[arg(long, env = "SCAMWATCH_REVIEW_THRESHOLD", default_value_t = 0.5)]
    pub review_threshold: f64,

    /// Score at or above which a post is blocked.
    #[arg(long, env = "SCAMWATCH_BLOCK_THRESHOLD", default_value_t = 0.85)]
    pub block_threshold: f64,

    /// With a model: block only posts the model itself scores at least this; a blocking score
    /// the model disagrees with goes to review instead. 0 = block on the score alone.
    #[arg(long, env = "SCAMWATCH_BLOCK_MIN_MODEL_SCORE", default_value_t = 0.5)]
    pub block_min_model_score: f64,

    /// Largest accepted message payload in bytes; larger ones go to the dead-letter topic.
    #[arg(long, env = "SCAMWATCH_MAX_PAYLOAD_BYTES", default_value_t = 256 * 1024)]
    pub max_payload_bytes: usize,

    /// Longest accepted post text in chars.
    #[arg(long, env = "SCAMWATCH_MAX_TEXT_CHARS", default_value_t = 50_000)]
    pub max_text_chars: usize,

    /// How many distinct ad texts the repost cache remembers. Each entry holds a whole verdict
    /// (about 4 KB measured), so the default caps the cache near 40 MB; 100,000 grew RSS by
    /// about 400 MB in the load tests.
    #[arg(
        long,
        env = "SCAMWATCH_REPOST_CACHE_CAPACITY",
        default_value_t = 10_000
    )]
    pub repost_cache_capacity: u64,

    /// How long (seconds) a cached verdict is reused for reposts of the same text.
    #[arg(long, env = "SCAMWATCH_REPOST_CACHE_TTL_SECS", default_value_t = 24 * 3600)]
    pub repost_cache_ttl_secs: u64,
}

/// Where posts come from and verdicts go.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct KafkaConfig {
    /// Kafka bootstrap servers (comma-separated host:port).
    #[arg(long, env = "SCAMWATCH_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,

    /// Consumer group id; run several replicas with the same id to share partitions.
    #[arg(long, env = "SCAMWATCH_GROUP_ID", default_value = "scamwatch")]
    pub group_id: String,

    /// Topic of incoming posts (schemas/post.v1.json).
    #[arg(long, env = "SCAMWATCH_INPUT_TOPIC", default_value = "posts")]
    pub input_topic: String,

    /// Topic verdicts are written to (schemas/verdict.v1.json).
    #[arg(long, env = "SCAMWATCH_VERDICT_TOPIC", default_value = "verdicts")]
    pub verdict_topic: String,

    /// Topic malformed messages are written to (schemas/dead-letter.v1.json).
    #[arg(long, env = "SCAMWATCH_DEAD_LETTER_TOPIC", default_value = "posts.dlq")]
    pub dead_letter_topic: String,

    /// Topic of reviewer decisions (schemas/feedback.v1.json) that adjust contact reputation;
    /// empty to disable. Every replica reads all of it.
    #[arg(long, env = "SCAMWATCH_FEEDBACK_TOPIC", default_value = "feedback")]
    pub feedback_topic: String,

    /// Extra librdkafka properties as KEY=VALUE, applied to consumer and producer (e.g.
    /// security.protocol=SASL_SSL, sasl.mechanism=SCRAM-SHA-512, sasl.username=...,
    /// ssl.ca.location=...). Repeat the flag, or comma-separate in the env var.
    #[arg(
        long = "kafka-option",
        env = "SCAMWATCH_KAFKA_OPTIONS",
        value_delimiter = ','
    )]
    pub kafka_options: Vec<String>,

    /// Most messages being scored or awaiting broker acknowledgement at once (backpressure:
    /// the consumer stops reading when this many are in flight).
    #[arg(long, env = "SCAMWATCH_MAX_IN_FLIGHT", default_value_t = 1024)]
    pub max_in_flight: usize,

    /// Seconds to wait for in-flight work to be acknowledged on shutdown.
    #[arg(long, env = "SCAMWATCH_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

/// The HTTP API.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct HttpConfig {
    /// Address the HTTP API (score, health, readiness, metrics) listens on.
    #[arg(long, env = "SCAMWATCH_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "SCAMWATCH_HTTP_BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    pub http_body_limit: usize,

    /// Most posts in one POST /v1/score batch.
    #[arg(long, env = "SCAMWATCH_MAX_BATCH", default_value_t = 256)]
    pub max_batch: usize,

    /// Bearer token for the /admin endpoints (rule pack reload). Unset: they refuse everyone.
    #[arg(long, env = "SCAMWATCH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Sustained POST /v1/score requests per second allowed from one client IP address (token
    /// bucket; beyond it: 429 with Retry-After). 0 = no limit.
    #[arg(long, env = "SCAMWATCH_RATE_LIMIT_PER_SEC", default_value_t = 50)]
    pub rate_limit_per_sec: u32,

    /// Requests one client IP address may send at once before the per-second rate applies
    /// (the token bucket's size). 0 = the same as --rate-limit-per-sec.
    #[arg(long, env = "SCAMWATCH_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,
}

/// Everything `scamwatch serve` needs.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ServeConfig {
    #[command(flatten)]
    #[serde(flatten)]
    pub scoring: ScoringConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub http: HttpConfig,
}

/// Everything `scamwatch review` (the review console) needs.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ReviewConfig {
    #[command(flatten)]
    #[serde(flatten)]
    pub kafka: KafkaConfig,

    /// Review database: sqlite://PATH (created if missing) or postgres://USER:PASS@HOST/DB.
    #[arg(
        long,
        env = "SCAMWATCH_REVIEW_DATABASE_URL",
        default_value = "sqlite://scamwatch-review.db"
    )]
    pub database_url: String,

    /// Consumer group the console reads the verdict topic with (separate from the scorers').
    #[arg(
        long,
        env = "SCAMWATCH_REVIEW_GROUP_ID",
        default_value = "scamwatch-review"
    )]
    pub review_group_id: String,

    /// Address the console listens on.
    #[arg(long, env = "SCAMWATCH_REVIEW_LISTEN", default_value = "0.0.0.0:8090")]
    pub review_listen: std::net::SocketAddr,

    /// Reviewer accounts as NAME:PASSWORD (repeat the flag, or comma-separate in the env var;
    /// take it from a secret). Names appear in the audit trail and the feedback topic.
    #[arg(
        long = "reviewer",
        env = "SCAMWATCH_REVIEWERS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub reviewers: Vec<String>,

    /// How long (seconds) a claimed item stays locked to its reviewer.
    #[arg(long, env = "SCAMWATCH_REVIEW_CLAIM_SECS", default_value_t = 600)]
    pub claim_secs: u64,

    /// How long (seconds) a reviewer stays logged in.
    #[arg(long, env = "SCAMWATCH_REVIEW_SESSION_SECS", default_value_t = 12 * 3600)]
    pub session_secs: u64,

    /// Sign-in attempts allowed per minute from one client address (successful or not),
    /// against password guessing; 0 turns the limit off.
    #[arg(
        long,
        env = "SCAMWATCH_REVIEW_LOGIN_ATTEMPTS_PER_MINUTE",
        default_value_t = 10
    )]
    pub login_attempts_per_minute: u32,

    /// Mark the session cookie Secure (sent over HTTPS only; browsers also accept it from
    /// http://localhost). Turn off only behind a TLS-terminating proxy that talks plain HTTP
    /// on a non-local name.
    #[arg(long, env = "SCAMWATCH_REVIEW_COOKIE_SECURE", default_value_t = true, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,
}

impl ReviewConfig {
    /// Reviewer accounts, `(name, password)`.
    pub fn accounts(&self) -> Vec<(String, String)> {
        self.reviewers
            .iter()
            .filter_map(|r| r.split_once(':'))
            .map(|(n, p)| (n.trim().to_string(), p.to_string()))
            .collect()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = self.kafka.problems();
        if !(self.database_url.starts_with("sqlite://")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            p.push("database_url must start with sqlite:// or postgres://".into());
        }
        if self.review_group_id.trim().is_empty() || self.review_group_id == self.kafka.group_id {
            p.push("review_group_id must be set and differ from group_id".into());
        }
        if self.reviewers.is_empty() {
            p.push("at least one --reviewer NAME:PASSWORD is required".into());
        }
        for r in &self.reviewers {
            match r.split_once(':') {
                Some((name, pass)) if !name.trim().is_empty() && pass.len() >= 8 => {}
                _ => p.push(format!(
                    "reviewer {:?} must be NAME:PASSWORD with a password of at least 8 characters",
                    r.split(':').next().unwrap_or_default()
                )),
            }
        }
        if self.claim_secs == 0 || self.session_secs == 0 {
            p.push("claim_secs and session_secs must be at least 1".into());
        }
        into_result(p)
    }
}

impl ScoringConfig {
    /// The documented defaults, overridden by any `SCAMWATCH_*` environment variables (what
    /// `scamwatch score` would use with no flags).
    pub fn from_env() -> Self {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            scoring: ScoringConfig,
        }
        <Only as clap::Parser>::parse_from(["scamwatch"]).scoring
    }

    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let unit = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if !unit(self.block_min_model_score) {
            p.push("block_min_model_score must be between 0 and 1".into());
        }
        if !unit(self.review_threshold) || !unit(self.block_threshold) {
            p.push("review_threshold and block_threshold must be between 0 and 1".into());
        } else if self.review_threshold > self.block_threshold {
            p.push(format!(
                "review_threshold ({}) must not exceed block_threshold ({})",
                self.review_threshold, self.block_threshold
            ));
        }
        if !self.rule_pack.is_file() {
            p.push(format!(
                "rule_pack {} is not a readable file",
                self.rule_pack.display()
            ));
        }
        if self.model != "none" && !PathBuf::from(&self.model).join("model.json").is_file() {
            p.push(format!(
                "model {:?} must be \"none\" or a directory holding model.json",
                self.model
            ));
        }
        if self.model_max_batch == 0 || self.model_queue == 0 {
            p.push("model_max_batch and model_queue must be at least 1".into());
        }
        if self.model_max_batch_tokens < 128 {
            p.push(format!(
                "model_max_batch_tokens ({}) must be at least 128, one full window",
                self.model_max_batch_tokens
            ));
        }
        if self.max_payload_bytes < 64 {
            p.push("max_payload_bytes must be at least 64".into());
        }
        if self.max_text_chars == 0 {
            p.push("max_text_chars must be positive".into());
        }
        p
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        into_result(self.problems())
    }

    /// The micro-batching limits these settings give.
    pub fn batch_limits(&self) -> crate::model::BatchLimits {
        crate::model::BatchLimits {
            max_batch: self.model_max_batch,
            max_batch_tokens: self.model_max_batch_tokens,
            max_wait: std::time::Duration::from_micros(self.model_max_wait_us),
            queue: self.model_queue,
        }
    }
}

impl KafkaConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.brokers.trim().is_empty() {
            p.push("brokers must name at least one host:port".into());
        }
        if self.group_id.trim().is_empty() {
            p.push("group_id must not be empty".into());
        }
        let topics = [
            &self.input_topic,
            &self.verdict_topic,
            &self.dead_letter_topic,
        ];
        if topics.iter().any(|t| t.trim().is_empty()) {
            p.push("input_topic, verdict_topic and dead_letter_topic must not be empty".into());
        }
        if self.input_topic == self.verdict_topic
            || self.input_topic == self.dead_letter_topic
            || self.verdict_topic == self.dead_letter_topic
        {
            p.push(
                "input_topic, verdict_topic and dead_letter_topic must be three different topics"
                    .into(),
            );
        }
        if self.max_in_flight == 0 {
            p.push("max_in_flight must be at least 1".into());
        }
        for option in self.kafka_options.iter().filter(|o| !o.trim().is_empty()) {
            if !option.contains('=') || option.starts_with('=') {
                p.push(format!("kafka option {option:?} must look like KEY=VALUE"));
            }
        }
        p
    }

    /// The pass-through librdkafka options as pairs.
    pub fn option_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        // Empty entries (an empty env var, a trailing comma) are ignored.
        self.kafka_options.iter().filter_map(|o| o.split_once('='))
    }
}

impl ServeConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = self.scoring.problems();
        p.extend(self.kafka.problems());
        if self.http.max_batch == 0 {
            p.push("max_batch must be at least 1".into());
        }
        if self.http.http_body_limit < 1024 {
            p.push("http_body_limit must be at least 1024 bytes".into());
        }
        into_result(p)
    }
}

fn into_result(problems: Vec<String>) -> Result<(), ConfigError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// Fill in values from a TOML config file for every argument that was left at its default
/// (not given as a flag or env var). Keys are the argument names with `_` (e.g. `group_id`).
pub fn apply_file<T>(
    parsed: T,
    matches: &ArgMatches,
    command: &Command,
    path: &std::path::Path,
) -> Result<T, ConfigError>
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|source| ConfigError::Toml {
        path: shown.clone(),
        source,
    })?;
    let mut current = serde_json::to_value(&parsed).expect("config serialises");
    let object = current.as_object_mut().expect("config is a struct");
    for (key, value) in table {
        let known = command.get_arguments().any(|a| a.get_id().as_str() == key);
        if !known || !object.contains_key(&key) {
            return Err(ConfigError::UnknownKey { path: shown, key });
        }
        if matches!(
            matches.value_source(&key),
            Some(ValueSource::DefaultValue) | None
        ) {
            let json = serde_json::to_value(&value).map_err(|e| ConfigError::BadValue {
                path: shown.clone(),
                key: key.clone(),
                message: e.to_string(),
            })?;
            object.insert(key, json);
        }
    }
    serde_json::from_value(current).map_err(|e| ConfigError::BadValue {
        path: shown,
        key: "(whole file)".into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        serve: ServeConfig,
    }

    fn parse(args: &[&str], file: Option<&str>) -> Result<ServeConfig, ConfigError> {
        let command = TestCli::command();
        let matches = command
            .clone()
            .try_get_matches_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap();
        let cli = TestCli::from_arg_matches(&matches).unwrap();
        match file {
            None => Ok(cli.serve),
            Some(content) => {
                let f = tempfile::NamedTempFile::new().unwrap();
                std::fs::write(f.path(), content).unwrap();
                apply_file(cli.serve, &matches, &command, f.path())
            }
        }
    }

    #[test]
    fn file_fills_defaults_but_flags_win() {
        let c = parse(&["--group-id", "from-flag"], Some("group_id = \"from-file\"\nmax_in_flight = 7\nkafka_options = [\"security.protocol=SSL\"]\n")).unwrap();
        assert_eq!(c.kafka.group_id, "from-flag");
        assert_eq!(c.kafka.max_in_flight, 7);
        assert_eq!(
            c.kafka.option_pairs().collect::<Vec<_>>(),
            [("security.protocol", "SSL")]
        );
    }

    #[test]
    fn unknown_and_mistyped_file_keys_are_rejected() {
        let err = parse(&[], Some("grop_id = \"x\"\n")).unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "grop_id"),
            "{err}"
        );
        let err = parse(&[], Some("max_in_flight = \"lots\"\n")).unwrap_err();
        assert!(
            err.to_string().contains("max_in_flight") || err.to_string().contains("whole file"),
            "{err}"
        );
    }

    #[test]
    fn validation_reports_every_problem() {
        let mut c = parse(&[], None).unwrap();
        c.scoring.review_threshold = 0.9;
        c.scoring.block_threshold = 0.5;
        c.scoring.rule_pack = "/nonexistent/pack.toml".into();
        c.kafka.verdict_topic = c.kafka.input_topic.clone();
        c.kafka.kafka_options = vec!["novalue".into()];
        c.scoring.model_max_batch = 0;
        c.scoring.model_max_batch_tokens = 64;
        c.scoring.block_min_model_score = 1.5;
        let msg = c.validate().unwrap_err().to_string();
        for needle in [
            "review_threshold (0.9)",
            "block_min_model_score",
            "rule_pack",
            "three different topics",
            "KEY=VALUE",
            "model_max_batch and model_queue",
            "model_max_batch_tokens (64)",
        ] {
            assert!(msg.contains(needle), "missing {needle:?} in {msg}");
        }
    }
}
