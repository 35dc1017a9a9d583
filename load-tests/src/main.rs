//! `scamwatch-load`: produce a scenario's posts to the input topic (at a fixed rate or as fast as
//! possible), read the verdict and dead-letter topics, and report throughput, end-to-end
//! latency, lost posts, duplicates and dead letters. Exits non-zero when posts are lost or the
//! p95 latency exceeds `--threshold-p95-ms`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use scamwatch_load::corpus::{self, Expected, Mix};
use scamwatch_load::kafka::{self, Collector};
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
}

#[derive(Clone, Copy, Debug, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Scenario {
    /// 30% scam ads, 5% malformed, 10% reposts.
    Mixed,
    /// Job-board traffic: every post is a job ad, half scams.
    JobBoard,
    /// Social stream: few job ads, 2% malformed.
    Social,
    /// Long posts (10x length).
    Long,
    /// No malformed messages (clean throughput).
    Clean,
}

impl Scenario {
    fn mix(self) -> Mix {
        match self {
            Scenario::Mixed => Mix::default(),
            Scenario::JobBoard => Mix {
                scam: 0.5,
                ..Mix::default()
            },
            Scenario::Social => Mix {
                scam: 0.05,
                malformed: 0.02,
                ..Mix::default()
            },
            Scenario::Long => Mix {
                length_factor: 10,
                ..Mix::default()
            },
            Scenario::Clean => Mix {
                malformed: 0.0,
                ..Mix::default()
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: Scenario,
    produced: u64,
    expected_verdicts: usize,
    expected_dead_letters: usize,
    verdicts_unique: usize,
    verdict_duplicates: usize,
    dead_letters: usize,
    lost: usize,
    produce_seconds: f64,
    total_seconds: f64,
    throughput_per_sec: f64,
    latency_ms: Percentiles,
}

#[derive(Debug, Default, Serialize)]
struct Percentiles {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn percentiles(mut v: Vec<u64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    Percentiles {
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: at(1.0),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Run(args) => run(&cli.brokers, args).await,
        Cmd::Send { file, topic } => send(&cli.brokers, &file, &topic).await,
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
    let messages: Vec<_> = (0..args.count)
        .map(|i| corpus::generate(args.seed, i, mix))
        .collect();
    let mut expected_ids = HashSet::new();
    let mut expected_dlq = HashSet::new();
    for m in &messages {
        match &m.expected {
            Expected::Verdict { id, .. } => expected_ids.insert(id.clone()),
            Expected::DeadLetter { .. } => expected_dlq.insert(m.key.clone()),
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
        let (verdict_topic, dlq_topic) =
            (args.verdict_topic.clone(), args.dead_letter_topic.clone());
        let (expected_ids, expected_dlq) = (expected_ids.clone(), expected_dlq.clone());
        let idle = Duration::from_secs(args.idle_timeout_secs);
        std::thread::spawn(move || {
            collect(
                &collector,
                &verdict_topic,
                &dlq_topic,
                &expected_ids,
                &expected_dlq,
                idle,
                started,
            )
        })
    };
    if args.rate == 0 {
        kafka::produce_all(&producer, &args.input_topic, &messages, 1000).await?;
    } else {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut pending = futures::stream::FuturesUnordered::new();
        for m in &messages {
            tick.tick().await;
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
    let Collected {
        seen,
        dlq,
        latencies,
        last_output,
    } = collect.join().expect("collector thread");
    let total = last_output.duration_since(started).as_secs_f64();
    let outputs = seen.len() + dlq.len();
    let report = Report {
        scenario: args.scenario,
        produced: args.count,
        expected_verdicts: expected_ids.len(),
        expected_dead_letters: expected_dlq.len(),
        verdicts_unique: seen.len(),
        verdict_duplicates: seen.values().map(|c| c - 1).sum(),
        dead_letters: dlq.len(),
        lost: expected_ids.len() - seen.len() + expected_dlq.len() - dlq.len(),
        produce_seconds: produce_elapsed.as_secs_f64(),
        total_seconds: total,
        throughput_per_sec: outputs as f64 / total.max(1e-9),
        latency_ms: percentiles(latencies),
    };
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(path) = &args.json_out {
        std::fs::write(path, &json)?;
    }
    if report.lost > 0 {
        anyhow::bail!("{} messages produced no output", report.lost);
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
    seen: HashMap<String, usize>,
    dlq: HashSet<String>,
    latencies: Vec<u64>,
    last_output: Instant,
}

/// Read outputs until every expected one arrived or nothing arrived for `idle`.
fn collect(
    collector: &Collector,
    verdict_topic: &str,
    dlq_topic: &str,
    expected_ids: &HashSet<String>,
    expected_dlq: &HashSet<String>,
    idle: Duration,
    started: Instant,
) -> Collected {
    let mut c = Collected {
        seen: HashMap::new(),
        dlq: HashSet::new(),
        latencies: Vec::new(),
        last_output: started,
    };
    let mut last_progress = Instant::now();
    let bar = indicatif::ProgressBar::new((expected_ids.len() + expected_dlq.len()) as u64)
        .with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} outputs  {per_sec}  {elapsed}",
            )
            .expect("template"),
        );
    while (c.seen.len() < expected_ids.len() || c.dlq.len() < expected_dlq.len())
        && last_progress.elapsed() < idle
    {
        let batch = collector.poll_for(Duration::from_millis(200));
        if !batch.is_empty() {
            last_progress = Instant::now();
            c.last_output = Instant::now();
        }
        for o in batch {
            if o.topic == dlq_topic {
                c.dlq.extend(o.key.filter(|k| expected_dlq.contains(k)));
            } else if o.topic == verdict_topic
                && let Some(id) = o.payload.get("post_id").and_then(|v| v.as_str())
                && expected_ids.contains(id)
            {
                *c.seen.entry(id.to_string()).or_default() += 1;
                c.latencies.extend(o.latency_us);
            }
        }
        bar.set_position((c.seen.len() + c.dlq.len()) as u64);
    }
    bar.finish_and_clear();
    c
}
