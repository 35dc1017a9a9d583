//! Shared harness for black-box tests: a real tansu broker (started by `scripts/broker.sh`),
//! fresh topics per test, the real `scamwatch` binary as a child process, and schema validation
//! of what it writes.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scamwatch_load::corpus::{Expected, Generated};
use scamwatch_load::kafka::{Collector, Output};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Start (or reuse) the loopback broker; returns its bootstrap address.
pub fn broker() -> String {
    broker_script(&["start"], None)
}

/// Run `scripts/broker.sh ARGS` (on `port`, when given, instead of the shared broker's) and
/// return what it printed; panics with its stderr when it fails.
pub fn broker_script(args: &[&str], port: Option<u16>) -> String {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/broker.sh")).args(args);
    if let Some(port) = port {
        // The address of the shared broker (exported by scripts/test.sh) is not ours.
        cmd.env("SCAMWATCH_BROKER_PORT", port.to_string())
            .env_remove("SCAMWATCH_BROKERS");
    }
    let out = cmd.output().expect("running scripts/broker.sh");
    assert!(
        out.status.success(),
        "broker.sh {args:?} (port {port:?}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

/// Unique topic names for one test.
pub struct Topics {
    pub input: String,
    pub verdicts: String,
    pub dead_letters: String,
    pub group: String,
}

pub async fn topics(brokers: &str, name: &str, partitions: i32) -> Topics {
    let tag = format!("{name}-{}", scamwatch_load::kafka::now_us());
    let t = Topics {
        input: format!("posts-{tag}"),
        verdicts: format!("verdicts-{tag}"),
        dead_letters: format!("dlq-{tag}"),
        group: format!("scamwatch-{tag}"),
    };
    scamwatch_load::kafka::create_topics(
        brokers,
        &[
            (&t.input, partitions),
            (&t.verdicts, partitions),
            (&t.dead_letters, 1),
        ],
    )
    .await
    .expect("creating topics");
    t
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The service under test.
pub struct Service {
    pub child: Child,
    pub http: String,
}

impl Service {
    pub fn start(brokers: &str, t: &Topics, extra_env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log =
            std::fs::File::create(std::env::temp_dir().join(format!("{}-{port}.log", t.group)))
                .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scamwatch"));
        cmd.arg("serve")
            .current_dir(repo_root())
            .env("SCAMWATCH_BROKERS", brokers)
            .env("SCAMWATCH_INPUT_TOPIC", &t.input)
            .env("SCAMWATCH_VERDICT_TOPIC", &t.verdicts)
            .env("SCAMWATCH_DEAD_LETTER_TOPIC", &t.dead_letters)
            .env("SCAMWATCH_GROUP_ID", &t.group)
            .env("SCAMWATCH_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("SCAMWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("starting scamwatch");
        Self {
            child,
            http: format!("127.0.0.1:{port}"),
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILL, then wait out the consumer-group session (`session.timeout.ms`, 10 s in
    /// `source.rs`) so the broker has expired the dead member before the next process joins.
    ///
    /// Why: tansu 0.6 keeps a dead *leader* in a formed group. A member that joins before the
    /// session expires gets the group re-formed around the dead leader's old assignment (0
    /// partitions for the newcomer), and the later expiry drops the dead member without a new
    /// generation, so the newcomer is never given partitions (it sat idle in about 1 of 5 runs).
    /// Apache Kafka re-elects the leader instead; nothing in the service depends on this wait.
    pub fn crash(&mut self) {
        self.kill();
        std::thread::sleep(Duration::from_secs(11));
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        self.child.wait().expect("wait")
    }

    /// GET a path; returns (status, body). Minimal HTTP/1.1 client: no extra dependency.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&self.http).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).ok()?;
        let status = buf.split_whitespace().nth(1)?.parse().ok()?;
        let body = buf
            .split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        Some((status, body))
    }

    /// Records this process has had acknowledged (verdicts + dead letters), from /metrics.
    pub fn outputs_acknowledged(&self) -> u64 {
        let Some((200, body)) = self.get("/metrics") else {
            return 0;
        };
        body.lines()
            .filter(|l| l.starts_with("scamwatch_messages_out_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// Wait until this process has had `n` outputs acknowledged.
    pub fn wait_outputs(&self, n: u64, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.outputs_acknowledged() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn wait_ready(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if matches!(self.get("/readyz"), Some((200, _))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Everything read back from the output topics, by what it answers.
#[derive(Default)]
pub struct Outputs {
    /// post id -> verdict count
    pub verdict_counts: HashMap<String, usize>,
    pub verdicts: Vec<Output>,
    /// message key -> dead-letter record
    pub dead_letters: HashMap<String, Output>,
}

impl Outputs {
    pub fn missing_verdicts<'a>(&self, expected: impl Iterator<Item = &'a String>) -> Vec<String> {
        expected
            .filter(|id| !self.verdict_counts.contains_key(*id))
            .cloned()
            .collect()
    }
    pub fn duplicates(&self) -> usize {
        self.verdict_counts.values().map(|c| c - 1).sum()
    }
}

pub fn expected_ids(messages: &[Generated]) -> HashSet<String> {
    messages
        .iter()
        .filter_map(|m| match &m.expected {
            Expected::Verdict { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// Read until `done` says so or nothing new arrives for `idle`.
pub fn collect_until(
    collector: &Collector,
    t: &Topics,
    outputs: &mut Outputs,
    idle: Duration,
    done: impl Fn(&Outputs) -> bool,
) {
    let mut last = Instant::now();
    while !done(outputs) && last.elapsed() < idle {
        let batch = collector.poll_for(Duration::from_millis(300));
        if !batch.is_empty() {
            last = Instant::now();
        }
        for o in batch {
            if o.topic == t.dead_letters {
                outputs
                    .dead_letters
                    .insert(o.key.clone().unwrap_or_default(), o);
            } else if let Some(id) = o.payload.get("post_id").and_then(|v| v.as_str()) {
                *outputs.verdict_counts.entry(id.to_string()).or_default() += 1;
                outputs.verdicts.push(o);
            }
        }
    }
}

/// Read the verdict topic from its start until every one of `expected` ids has a verdict or
/// nothing new arrives for `idle`.
pub fn collect_verdicts(
    brokers: &str,
    t: &Topics,
    expected: &HashSet<String>,
    idle: Duration,
) -> Outputs {
    let collector = Collector::new(brokers, &[&t.verdicts]).unwrap();
    let mut out = Outputs::default();
    collect_until(&collector, t, &mut out, idle, |o| {
        o.verdict_counts.len() >= expected.len()
    });
    out
}

/// A rules-only scorer without cross-post memory, so each fixture is judged on its own.
pub fn rules_only_scorer() -> scamwatch::scorer::Scorer {
    let mut scoring = scamwatch::config::ScoringConfig::from_env();
    scoring.model = "none".into();
    scoring.rule_pack = repo_root().join("models/rules/pack.toml");
    scamwatch::scorer::Scorer::from_config(&scoring)
        .unwrap()
        .without_memory()
}

/// `scorer`'s verdict on a job-board post that the fixture requires to be flagged.
pub fn flagged_verdict(
    scorer: &scamwatch::scorer::Scorer,
    id: &str,
    title: Option<&str>,
    text: &str,
) -> scamwatch::message::Verdict {
    let mut post = serde_json::json!({"id": id, "text": text, "platform": "jobboard"});
    if let Some(title) = title {
        post["title"] = title.into();
    }
    let post: scamwatch::message::Post = serde_json::from_value(post).unwrap();
    let v = scorer.score(&post);
    assert_ne!(
        v.action,
        scamwatch::message::Action::Allow,
        "fixture {id} must be flagged: {v:?}"
    );
    v
}

/// A compiled schema from `schemas/`.
pub fn schema(name: &str) -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(repo_root().join("schemas").join(name)).expect("schema file");
    jsonschema::validator_for(&serde_json::from_str(&text).expect("schema json"))
        .expect("valid schema")
}

pub fn schema_errors(v: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {}", e.instance_path(), e))
        .collect()
}
