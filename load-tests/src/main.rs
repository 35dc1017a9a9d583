//! `scamwatch-load`: produce a scenario's posts to the input topic (at a fixed rate or as fast as
//! possible), read the verdict and dead-letter topics, and report throughput, end-to-end
//! latency, lost posts, duplicates and dead letters. Exits non-zero when posts are lost or the
//! p95 latency exceeds `--threshold-p95-ms`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use scamwatch_load::corpus::{self, Expected, Mix, Topic};
use scamwatch_load::kafka::{self, Collector};
use scamwatch_load::plot;
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Kafka bootstrap servers.
    #[arg(
        long,
        global = true,
        env = "SCAMWATCH_BROKERS",
        default_value = "127.0.0.1:19092"
    )]
    brokers: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Produce a scenario and measure throughput, latency, loss, duplicates and dead letters.
    Run(Args),
    /// Produce each line of a JSONL file as one message (invalid lines too: they should land
    /// in the dead-letter topic).
    Send {
        file: std::path::PathBuf,
        #[arg(long, default_value = "posts")]
        topic: String,
    },
    /// Write one message of every malformed or hostile kind to DIR (`NN-kind.bin`, the raw
    /// payload) plus `kinds.jsonl` (name, file, expected outcome, why), to replay by hand.
    Kinds { dir: std::path::PathBuf },
    /// Print verdict and dead-letter summaries as they arrive.
    Tail {
        #[arg(long, default_value = "verdicts")]
        verdict_topic: String,
        #[arg(long, default_value = "posts.dlq")]
        dead_letter_topic: String,
        /// Stop after this many records.
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
}

#[derive(clap::Args, Debug)]
struct Args {
    /// Topic the service consumes.
    #[arg(long, default_value = "posts")]
    input_topic: String,
    /// Topic the service writes verdicts to.
    #[arg(long, default_value = "verdicts")]
    verdict_topic: String,
    /// Topic the service writes dead letters to.
    #[arg(long, default_value = "posts.dlq")]
    dead_letter_topic: String,
    /// Messages to produce.
    #[arg(long, default_value_t = 10_000)]
    count: u64,
    /// Messages per second; 0 = as fast as possible.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Traffic shape.
    #[arg(long, value_enum, default_value_t = Scenario::Mixed)]
    scenario: Scenario,
    /// Seed for the deterministic corpus (distinct seeds give distinct post ids).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Give up waiting for outputs after this many seconds without progress.
    #[arg(long, default_value_t = 60)]
    idle_timeout_secs: u64,
    /// Fail when p95 end-to-end latency exceeds this (ms).
    #[arg(long)]
    threshold_p95_ms: Option<f64>,
    /// Write the result as JSON here.
    #[arg(long)]
    json_out: Option<std::path::PathBuf>,
    /// Only produce the messages (a backlog for a drain measurement), then exit.
    #[arg(long)]
    produce_only: bool,
    /// Burst scenario: length of each burst at `--rate` (ms).
    #[arg(long, default_value_t = 2000)]
    burst_on_ms: u64,
    /// Burst scenario: pause between bursts (ms).
    #[arg(long, default_value_t = 3000)]
    burst_off_ms: u64,
    /// Width of the time buckets of the timeline (JSON and plot), seconds.
    #[arg(long, default_value_t = 1.0)]
    bucket_secs: f64,
    /// Write a PNG plot of latency percentiles and throughput per bucket here.
    #[arg(long)]
    plot_out: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Scenario {
    /// 30% scam ads, 5% malformed or hostile, 10% reposts; as fast as possible unless --rate.
    Mixed,
    /// The mixed traffic at a steady --rate (default 1,000/s).
    Steady,
    /// The mixed traffic in bursts: --burst-on-ms at --rate (default 5,000/s), then
    /// --burst-off-ms of silence, repeated.
    Burst,
    /// Job-board traffic: every post is a job ad, half of them scams.
    JobBoard,
    /// Social stream: mostly ordinary posts and scam warnings, 5% scam ads, 2% malformed.
    Social,
    /// Long posts (10x length).
    Long,
    /// All 12 languages of the team-written set (en zh th vi id km my lo ko ja ms tl).
    ManyLanguages,
    /// Malformed-heavy: half the messages from the malformed/hostile corpus, 0.1% of 10 MB.
    Hostile,
    /// No malformed messages (clean throughput).
    Clean,
}

impl Scenario {
    fn mix(self) -> Mix {
        match self {
            Scenario::Mixed | Scenario::Steady | Scenario::Burst => Mix::default(),
            Scenario::JobBoard => Mix {
                scam: 0.5,
                topic: Topic::JobAds,
                ..Mix::default()
            },
            Scenario::Social => Mix {
                scam: 0.05,
                malformed: 0.02,
                topic: Topic::Social,
                ..Mix::default()
            },
            Scenario::Long => Mix {
                length_factor: 10,
                ..Mix::default()
            },
            Scenario::ManyLanguages => Mix {
                many_languages: true,
                ..Mix::default()
            },
            Scenario::Hostile => Mix {
                malformed: 0.5,
                huge: 0.001,
                ..Mix::default()
            },
            Scenario::Clean => Mix {
                malformed: 0.0,
                ..Mix::default()
            },
        }
    }

    /// Rate when --rate is 0 (0 = as fast as possible).
    fn default_rate(self) -> u64 {
        match self {
            Scenario::Steady => 1000,
            Scenario::Burst => 5000,
            _ => 0,
        }
    }
}

/// When to send message `k` (offset from the start), or `None` = now.
fn send_offset(k: u64, rate: u64, burst: Option<(Duration, Duration)>) -> Option<Duration> {
    if rate == 0 {
        return None;
    }
    let Some((on, off)) = burst else {
        return Some(Duration::from_secs_f64(k as f64 / rate as f64));
    };
    let per_burst = ((rate as f64 * on.as_secs_f64()).round() as u64).max(1);
    let cycle = (on + off).as_secs_f64();
    Some(Duration::from_secs_f64(
        (k / per_burst) as f64 * cycle + (k % per_burst) as f64 / rate as f64,
    ))
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: Scenario,
    /// Target rate (messages/s; 0 = as fast as possible).
    rate: u64,
    produced: u64,
    expected_verdicts: usize,
    expected_dead_letters: usize,
    verdicts_unique: usize,
    verdict_duplicates: usize,
    dead_letters: usize,
    dead_letter_duplicates: usize,
    /// Dead letters per reason, as written by the service.
    dead_letters_by_reason: BTreeMap<String, usize>,
    /// Dead letters whose reason differs from the one the corpus expects.
    dead_letters_wrong_reason: usize,
    /// Valid posts of this run that were dead-lettered (a malformed message that got a verdict
    /// instead of its dead letter counts as lost).
    wrong_outcome: usize,
    lost: usize,
    produce_seconds: f64,
    total_seconds: f64,
    throughput_per_sec: f64,
    /// End-to-end latency of verdicts (produce to read back).
    latency_ms: Percentiles,
    /// Per `--bucket-secs` of the run (by arrival time).
    timeline: Vec<plot::Bucket>,
}

#[derive(Debug, Default, Serialize)]
struct Percentiles {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn percentiles(mut v: Vec<u64>) -> Percentiles {
    v.sort_unstable();
    Percentiles {
        p50: plot::percentile_ms(&v, 0.5),
        p95: plot::percentile_ms(&v, 0.95),
        p99: plot::percentile_ms(&v, 0.99),
        max: plot::percentile_ms(&v, 1.0),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Run(args) => run(&cli.brokers, args).await,
        Cmd::Send { file, topic } => send(&cli.brokers, &file, &topic).await,
        Cmd::Kinds { dir } => write_kinds(&dir),
        Cmd::Tail {
            verdict_topic,
            dead_letter_topic,
            count,
            timeout_secs,
        } => tail(
            &cli.brokers,
            &verdict_topic,
            &dead_letter_topic,
            count,
            Duration::from_secs(timeout_secs),
        ),
    }
}

fn write_kinds(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut index = String::new();
    for (i, (name, g)) in corpus::every_kind(1).into_iter().enumerate() {
        let file = format!("{i:02}-{name}.bin");
        std::fs::write(dir.join(&file), g.payload.unwrap_or_default())?;
        let k = corpus::kind(name).expect("kind");
        let outcome = match k.outcome {
            corpus::Outcome::DeadLetter(reason) => format!("dead_letter:{reason}"),
            corpus::Outcome::Verdict => "verdict".to_string(),
        };
        index.push_str(&serde_json::to_string(&serde_json::json!({
            "kind": name, "file": file, "expected": outcome, "why": k.why,
        }))?);
        index.push('\n');
    }
    std::fs::write(dir.join("kinds.jsonl"), index)?;
    eprintln!(
        "wrote {} kinds to {}",
        corpus::MALFORMED_KINDS.len(),
        dir.display()
    );
    Ok(())
}

async fn send(brokers: &str, file: &std::path::Path, topic: &str) -> anyhow::Result<()> {
    let producer = kafka::producer(brokers)?;
    let text = std::fs::read(file)?;
    let mut sent = 0;
    for (i, line) in text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let g = corpus::Generated {
            key: format!("line-{}", i + 1),
            payload: Some(line.to_vec()),
            expected: Expected::DeadLetter { reason: "unknown" },
        };
        kafka::produce_one(&producer, topic, &g).await?;
        sent += 1;
    }
    eprintln!("sent {sent} messages from {} to {topic}", file.display());
    Ok(())
}

fn tail(
    brokers: &str,
    verdict_topic: &str,
    dlq_topic: &str,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    let collector = Collector::new(brokers, &[verdict_topic, dlq_topic])?;
    let deadline = Instant::now() + timeout;
    let mut seen = 0;
    while seen < count && Instant::now() < deadline {
        for o in collector.poll_for(Duration::from_millis(300)) {
            seen += 1;
            let p = &o.payload;
            if o.topic == dlq_topic {
                println!(
                    "DEAD LETTER  key={} reason={} detail={}",
                    o.key.unwrap_or_default(),
                    p["reason"],
                    p["detail"]
                );
            } else {
                println!(
                    "{:<6} {:.2}  {}  {}",
                    p["action"].as_str().unwrap_or("?").to_uppercase(),
                    p["score"].as_f64().unwrap_or(0.0),
                    p["post_id"].as_str().unwrap_or("?"),
                    p["explanation"]["summary"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

async fn run(brokers: &str, args: Args) -> anyhow::Result<()> {
    let mix = args.scenario.mix();
    let rate = if args.rate == 0 {
        args.scenario.default_rate()
    } else {
        args.rate
    };
    let burst = (args.scenario == Scenario::Burst).then(|| {
        (
            Duration::from_millis(args.burst_on_ms),
            Duration::from_millis(args.burst_off_ms),
        )
    });
    let messages: Vec<_> = (0..args.count)
        .map(|i| corpus::generate(args.seed, i, mix))
        .collect();
    let mut expected_ids = HashSet::new();
    let mut expected_dlq = HashMap::new();
    for m in &messages {
        match &m.expected {
            Expected::Verdict { id, .. } => {
                expected_ids.insert(id.clone());
            }
            Expected::DeadLetter { reason } => {
                expected_dlq.insert(m.key.clone(), *reason);
            }
        };
    }
    let producer = kafka::producer(brokers)?;
    if args.produce_only {
        let started = Instant::now();
        kafka::produce_all(&producer, &args.input_topic, &messages, 1000).await?;
        eprintln!(
            "produced {} messages in {:.1}s",
            messages.len(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let collector = Collector::new(brokers, &[&args.verdict_topic, &args.dead_letter_topic])?;

    let started = Instant::now();
    let collect = {
        let want = Want {
            verdict_topic: args.verdict_topic.clone(),
            dlq_topic: args.dead_letter_topic.clone(),
            ids: expected_ids.clone(),
            dlq: expected_dlq.clone(),
            run_prefix: format!("m-{}-", args.seed),
        };
        let idle = Duration::from_secs(args.idle_timeout_secs);
        std::thread::spawn(move || collect(&collector, &want, idle, started))
    };
    if rate == 0 {
        kafka::produce_all(&producer, &args.input_topic, &messages, 1000).await?;
    } else {
        let start = tokio::time::Instant::now();
        let mut pending = futures::stream::FuturesUnordered::new();
        for (k, m) in messages.iter().enumerate() {
            if let Some(at) = send_offset(k as u64, rate, burst) {
                tokio::time::sleep_until(start + at).await;
            }
            pending.push(kafka::produce_one(&producer, &args.input_topic, m));
            while let Some(Some(r)) =
                futures::FutureExt::now_or_never(futures::StreamExt::next(&mut pending))
            {
                r?;
            }
        }
        while let Some(r) = futures::StreamExt::next(&mut pending).await {
            r?;
        }
    }
    let produce_elapsed = started.elapsed();
    let c = collect.join().expect("collector thread");
    let total = c.last_output.duration_since(started).as_secs_f64();
    let outputs = c.seen.len() + c.dlq.len();
    let latencies: Vec<u64> = c.samples.iter().filter_map(|(_, l)| *l).collect();
    let report = Report {
        scenario: args.scenario,
        rate,
        produced: args.count,
        expected_verdicts: expected_ids.len(),
        expected_dead_letters: expected_dlq.len(),
        verdicts_unique: c.seen.len(),
        verdict_duplicates: c.seen.values().map(|n| n - 1).sum(),
        dead_letters: c.dlq.len(),
        dead_letter_duplicates: c.dlq.values().map(|(n, _)| n - 1).sum(),
        dead_letters_by_reason: c.dlq.values().fold(BTreeMap::new(), |mut m, (_, r)| {
            *m.entry(r.clone()).or_default() += 1;
            m
        }),
        dead_letters_wrong_reason: c
            .dlq
            .iter()
            .filter(|(k, (_, r))| expected_dlq.get(*k).is_some_and(|want| want != r))
            .count(),
        wrong_outcome: c.dlq_for_valid,
        lost: expected_ids.len() - c.seen.len() + expected_dlq.len() - c.dlq.len(),
        produce_seconds: produce_elapsed.as_secs_f64(),
        total_seconds: total,
        throughput_per_sec: outputs as f64 / total.max(1e-9),
        latency_ms: percentiles(latencies),
        timeline: plot::buckets(&c.samples, args.bucket_secs),
    };
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(path) = &args.json_out {
        std::fs::write(path, &json)?;
    }
    if let Some(path) = &args.plot_out {
        let title = format!(
            "scamwatch {:?}: {} messages, {}; p50 {:.1} ms, p99 {:.1} ms, {:.0} outputs/s",
            args.scenario,
            args.count,
            if rate == 0 {
                "as fast as possible".to_string()
            } else {
                format!("{rate}/s")
            },
            report.latency_ms.p50,
            report.latency_ms.p99,
            report.throughput_per_sec
        );
        plot::write_png(path, &title, &report.timeline)?;
        eprintln!("plot written to {}", path.display());
    }
    if report.lost > 0 {
        anyhow::bail!("{} messages produced no output", report.lost);
    }
    if report.dead_letters_wrong_reason > 0 || report.wrong_outcome > 0 {
        anyhow::bail!(
            "{} dead letters with the wrong reason, {} valid posts dead-lettered",
            report.dead_letters_wrong_reason,
            report.wrong_outcome
        );
    }
    if let Some(gate) = args.threshold_p95_ms
        && report.latency_ms.p95 > gate
    {
        anyhow::bail!(
            "p95 latency {:.1} ms exceeds the gate of {gate} ms",
            report.latency_ms.p95
        );
    }
    Ok(())
}

struct Collected {
    /// Verdicts per expected post id.
    seen: HashMap<String, usize>,
    /// Dead letters per expected key: count and the reason written.
    dlq: HashMap<String, (usize, String)>,
    /// Every expected output once: arrival (seconds since start) and, for verdicts, latency (µs).
    samples: Vec<(f64, Option<u64>)>,
    /// Dead letters for keys of this run's valid posts.
    dlq_for_valid: usize,
    last_output: Instant,
}

/// What a run expects back.
struct Want {
    verdict_topic: String,
    dlq_topic: String,
    /// Post ids that must get a verdict.
    ids: HashSet<String>,
    /// Keys that must get a dead letter, with its reason.
    dlq: HashMap<String, &'static str>,
    /// Key prefix of this run's messages.
    run_prefix: String,
}

/// Read outputs until every expected one arrived or nothing arrived for `idle`.
fn collect(collector: &Collector, want: &Want, idle: Duration, started: Instant) -> Collected {
    let mut c = Collected {
        seen: HashMap::new(),
        dlq: HashMap::new(),
        samples: Vec::new(),
        dlq_for_valid: 0,
        last_output: started,
    };
    let mut last_progress = Instant::now();
    let bar = indicatif::ProgressBar::new((want.ids.len() + want.dlq.len()) as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} outputs  {per_sec}  {elapsed}",
        )
        .expect("template"),
    );
    while (c.seen.len() < want.ids.len() || c.dlq.len() < want.dlq.len())
        && last_progress.elapsed() < idle
    {
        let batch = collector.poll_for(Duration::from_millis(200));
        let now = Instant::now();
        if !batch.is_empty() {
            last_progress = now;
            c.last_output = now;
        }
        let at = now.duration_since(started).as_secs_f64();
        for o in batch {
            if o.topic == want.dlq_topic {
                let Some(key) = o.key else { continue };
                if want.dlq.contains_key(&key) {
                    let reason = o.payload["reason"].as_str().unwrap_or("?").to_string();
                    let e = c.dlq.entry(key).or_insert((0, reason));
                    e.0 += 1;
                    if e.0 == 1 {
                        c.samples.push((at, None));
                    }
                } else if key.starts_with(&want.run_prefix) {
                    c.dlq_for_valid += 1;
                }
            } else if o.topic == want.verdict_topic
                && let Some(id) = o.payload.get("post_id").and_then(|v| v.as_str())
                && want.ids.contains(id)
            {
                let n = c.seen.entry(id.to_string()).or_default();
                *n += 1;
                if *n == 1 {
                    c.samples.push((at, o.latency_us));
                }
            }
        }
        bar.set_position((c.seen.len() + c.dlq.len()) as u64);
    }
    bar.finish_and_clear();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_schedule_alternates_bursts_and_pauses() {
        let on_off = Some((Duration::from_millis(1000), Duration::from_millis(2000)));
        // 100/s for 1 s = 100 messages per burst, then 2 s of silence.
        assert_eq!(send_offset(0, 100, on_off), Some(Duration::ZERO));
        assert_eq!(
            send_offset(99, 100, on_off),
            Some(Duration::from_secs_f64(0.99))
        );
        assert_eq!(send_offset(100, 100, on_off), Some(Duration::from_secs(3)));
        assert_eq!(
            send_offset(250, 100, on_off),
            Some(Duration::from_secs_f64(6.5))
        );
        assert_eq!(
            send_offset(50, 100, None),
            Some(Duration::from_secs_f64(0.5))
        );
        assert_eq!(send_offset(50, 0, None), None);
    }
}
