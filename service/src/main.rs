//! The `scamwatch` binary: argument parsing, logging and wiring. Everything else is in the library.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use scamwatch::api::{self, ApiState};
use scamwatch::config::{self, ReviewConfig, ScoringConfig, ServeConfig};
use scamwatch::scorer::Scorer;
use scamwatch::source::{self, KafkaContext, Readiness};
use scamwatch::{feedback, pipeline, sink};
use tokio_util::sync::CancellationToken;

// The scoring path allocates many small strings; mimalloc cut allocator time in profiles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Scores posts for scam-compound recruitment fraud (fake job offers luring people into the
/// scam compounds of Cambodia, Myanmar and Laos) and explains every verdict.
///
/// Every option can also be set with its SCAMWATCH_* environment variable, or in a TOML file
/// given with --config (keys are the option names with underscores). Precedence: flag, then
/// environment, then file, then default.
#[derive(Parser, Debug)]
#[command(name = "scamwatch", version, about, long_about)]
struct Cli {
    /// TOML config file supplying values for options not given as flags or env vars.
    #[arg(long, global = true, env = "SCAMWATCH_CONFIG")]
    config: Option<PathBuf>,

    /// Log format: json (one object per line, for log pipelines) or text.
    #[arg(
        long,
        global = true,
        env = "SCAMWATCH_LOG_FORMAT",
        default_value = "json"
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Consume posts from Kafka, produce verdicts and dead letters, and serve the HTTP API
    /// (/v1/score, /healthz, /readyz, /metrics, /admin/rules/reload).
    Serve(ServeConfig),
    /// Score JSONL posts from FILE (or stdin with "-" or no FILE) and write JSONL verdicts to
    /// stdout. No broker needed. Rejected lines are reported on stderr with their reason, and
    /// the exit status is 3 if any line was rejected.
    Score(ScoreArgs),
    /// Evaluate the scorer on labelled JSONL files (fields: id, text, label, and optionally
    /// title, lang, source, meta.kind, meta.split): precision, recall, F1, PR-AUC, calibration,
    /// per-language/source/kind tables and per-rule precision/recall.
    Eval(EvalArgs),
    /// Serve the review console: queue every review/block verdict from the verdict topic in a
    /// database (SQLite file or PostgreSQL), let reviewers decide, and publish each decision to
    /// the feedback topic.
    Review(ReviewConfig),
    /// Reviewer decisions as data.
    #[command(subcommand)]
    Feedback(FeedbackCommand),
}

#[derive(Subcommand, Debug)]
enum FeedbackCommand {
    /// Write final reviewer decisions joined with their posts as labelled JSONL (the training
    /// data's format: id, source, lang, label, title, text, meta) to FILE or stdout.
    Export(ExportArgs),
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Review database (as for `scamwatch review`).
    #[arg(
        long,
        env = "SCAMWATCH_REVIEW_DATABASE_URL",
        default_value = "sqlite://scamwatch-review.db"
    )]
    database_url: String,
    /// Output file (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args, Debug, serde::Serialize, serde::Deserialize)]
struct EvalArgs {
    #[command(flatten)]
    #[serde(flatten)]
    scoring: ScoringConfig,
    /// Labelled JSONL files.
    #[serde(skip)]
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only examples whose meta.split equals this (e.g. "heldout").
    #[serde(skip)]
    #[arg(long)]
    split: Option<String>,
    /// Decision threshold (default: the review threshold).
    #[serde(skip)]
    #[arg(long)]
    threshold: Option<f64>,
    /// Print the report as JSON instead of tables.
    #[serde(skip)]
    #[arg(long)]
    json: bool,
    /// Also fit the model-side fusion parameters on these examples (needs --model) and print
    /// them as the rule pack's [fusion] keys. Fit on data the evaluation will not use.
    #[serde(skip)]
    #[arg(long)]
    fit_fusion: bool,
}

#[derive(Args, Debug, serde::Serialize, serde::Deserialize)]
struct ScoreArgs {
    #[command(flatten)]
    #[serde(flatten)]
    scoring: ScoringConfig,
    /// JSONL file of posts (schemas/post.v1.json), or "-" for stdin.
    #[serde(skip)]
    file: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let command = Cli::command();
    let matches = command.clone().get_matches();
    let mut cli = Cli::from_arg_matches(&matches)?;
    init_logging(cli.log_format);
    if let Some(path) = cli.config.clone() {
        cli.command = with_file(cli.command, &matches, &command, &path)?;
    }
    match cli.command {
        Command::Serve(config) => serve(config),
        Command::Score(args) => score(args),
        Command::Eval(args) => eval(args),
        Command::Review(config) => review(config),
        Command::Feedback(FeedbackCommand::Export(args)) => export(args),
    }
}

/// Apply the config file to the chosen subcommand's arguments.
fn with_file(
    command: Command,
    matches: &ArgMatches,
    cmd: &clap::Command,
    path: &std::path::Path,
) -> anyhow::Result<Command> {
    let (name, sub_matches) = matches.subcommand().context("a subcommand is required")?;
    let sub = cmd.find_subcommand(name).context("subcommand exists")?;
    Ok(match command {
        Command::Serve(c) => Command::Serve(config::apply_file(c, sub_matches, sub, path)?),
        Command::Score(a) => {
            let scoring = config::apply_file(a.scoring, sub_matches, sub, path)?;
            Command::Score(ScoreArgs { scoring, ..a })
        }
        Command::Eval(a) => {
            let scoring = config::apply_file(a.scoring, sub_matches, sub, path)?;
            Command::Eval(EvalArgs { scoring, ..a })
        }
        Command::Review(c) => Command::Review(config::apply_file(c, sub_matches, sub, path)?),
        other @ Command::Feedback(_) => other,
    })
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCAMWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

fn serve(config: ServeConfig) -> anyhow::Result<()> {
    config.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let scorer = Arc::new(Scorer::from_config(&config.scoring)?);
        let readiness = Arc::new(Readiness::default());
        readiness.rules_loaded.store(true, Ordering::Relaxed);
        readiness.broker_up.store(true, Ordering::Relaxed);
        let context = KafkaContext { readiness: readiness.clone() };
        let consumer = Arc::new(source::consumer(&config.kafka, context.clone()).context("creating the Kafka consumer")?);
        let producer = sink::producer(&config.kafka, context).context("creating the Kafka producer")?;

        let shutdown = CancellationToken::new();
        tokio::spawn(wait_for_signal(shutdown.clone()));
        if config.scoring.rule_reload_secs > 0 {
            let every = std::time::Duration::from_secs(config.scoring.rule_reload_secs);
            tokio::spawn(scorer.clone().watch_rule_pack(config.scoring.rule_pack.clone(), every));
        }

        let state = ApiState {
            scorer: scorer.clone(),
            readiness: readiness.clone(),
            max_batch: config.http.max_batch,
            rule_pack_path: config.scoring.rule_pack.clone(),
            admin_token: config.http.admin_token.clone(),
        };
        let listener = tokio::net::TcpListener::bind(config.http.http_addr)
            .await
            .with_context(|| format!("binding the HTTP API to {}", config.http.http_addr))?;
        tracing::info!(addr = %config.http.http_addr, input = %config.kafka.input_topic, group = %config.kafka.group_id, rule_pack = scorer.pack().version(), model = scorer.model_version().unwrap_or("none"), "scamwatch serving");
        let http_shutdown = CancellationToken::new();
        let http = tokio::spawn({
            let app = api::app(Arc::new(state), &config.http);
            let stop = http_shutdown.clone();
            async move { axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await }
        });

        let feedback = if config.kafka.feedback_topic.trim().is_empty() {
            None
        } else {
            let consumer = feedback::consumer(&config.kafka).context("creating the feedback consumer")?;
            Some(tokio::spawn(feedback::run(consumer, scorer.clone(), shutdown.clone())))
        };
        pipeline::run(consumer, producer, scorer, config.kafka, readiness, shutdown).await;
        if let Some(task) = feedback {
            task.await?;
        }
        http_shutdown.cancel();
        http.await??;
        tracing::info!("scamwatch stopped cleanly");
        Ok(())
    })
}

fn review(config: ReviewConfig) -> anyhow::Result<()> {
    use scamwatch::api::ClientRateLimit;
    use scamwatch::review::{consume, publish, store::ReviewStore, web};
    use std::net::SocketAddr;
    config.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = ReviewStore::connect(&config.database_url)
            .await
            .context("opening the review database")?;
        let readiness = Arc::new(Readiness::default());
        readiness.broker_up.store(true, Ordering::Relaxed);
        let context = KafkaContext { readiness: readiness.clone() };
        let consumer = Arc::new(
            consume::consumer(&config.kafka, &config.review_group_id, context.clone())
                .context("creating the verdict consumer")?,
        );
        let producer = sink::producer(&config.kafka, context).context("creating the feedback producer")?;
        let shutdown = CancellationToken::new();
        tokio::spawn(wait_for_signal(shutdown.clone()));
        let wake = Arc::new(tokio::sync::Notify::new());
        let consuming = tokio::spawn(consume::run(store.clone(), consumer, shutdown.clone()));
        let publishing = tokio::spawn(publish::run(
            store.clone(),
            producer,
            config.kafka.feedback_topic.clone(),
            wake.clone(),
            shutdown.clone(),
        ));
        let state = web::ConsoleState {
            store: store.clone(),
            accounts: config.accounts(),
            claim_ms: (config.claim_secs * 1000) as i64,
            session_ms: (config.session_secs * 1000) as i64,
            cookie_secure: config.cookie_secure,
            login_limit: ClientRateLimit::per_minute(config.login_attempts_per_minute),
            stats_refreshed_ms: Default::default(),
            publish: wake,
            readiness,
        };
        let listener = tokio::net::TcpListener::bind(config.review_listen)
            .await
            .with_context(|| format!("binding the review console to {}", config.review_listen))?;
        tracing::info!(addr = %config.review_listen, verdicts = %config.kafka.verdict_topic, feedback = %config.kafka.feedback_topic, group = %config.review_group_id, "review console serving");
        axum::serve(
            listener,
            web::router(Arc::new(state)).into_make_service_with_connect_info::<SocketAddr>(),
        )
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await?;
        consuming.await?;
        publishing.await?;
        store.close().await;
        tracing::info!("review console stopped cleanly");
        Ok(())
    })
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    use scamwatch::review::{export::write_jsonl, store::ReviewStore};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = ReviewStore::connect(&args.database_url)
            .await
            .context("opening the review database")?;
        let written = match &args.out {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                write_jsonl(&store, std::io::BufWriter::new(file)).await?
            }
            None => write_jsonl(&store, std::io::stdout().lock()).await?,
        };
        eprintln!("{written} labelled post(s) exported");
        Ok(())
    })
}

async fn wait_for_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
    shutdown.cancel();
}

fn score(args: ScoreArgs) -> anyhow::Result<()> {
    args.scoring.validate()?;
    let scorer = Scorer::from_config(&args.scoring)?;
    let input: Box<dyn BufRead> = match args.file.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?,
        )),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut rejected = 0usize;
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line.context("reading input")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match scorer.decoder().decode(Some(&line)) {
            Ok(post) => {
                serde_json::to_writer(&mut out, &scorer.score(&post))?;
                out.write_all(b"\n")?;
            }
            Err(e) => {
                rejected += 1;
                eprintln!("line {}: rejected: {e}", n + 1);
            }
        }
    }
    out.flush()?;
    if rejected > 0 {
        eprintln!("{rejected} line(s) rejected");
        std::process::exit(3);
    }
    Ok(())
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    use scamwatch::eval::{LabelledPost, Report, Scored};
    args.scoring.validate()?;
    // Each example is scored on its own: memory across posts would leak between examples.
    let scorer = Scorer::from_config(&args.scoring)?.without_memory();
    let mut examples = Vec::new();
    for path in &args.files {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let example: LabelledPost = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a labelled post", path.display(), n + 1))?;
            let split = example
                .meta
                .as_ref()
                .and_then(|m| m.get("split"))
                .and_then(|s| s.as_str());
            if args.split.as_deref().is_none_or(|want| split == Some(want)) {
                examples.push(example);
            }
        }
    }
    anyhow::ensure!(!examples.is_empty(), "no labelled examples to evaluate");
    let progress = indicatif::ProgressBar::new(examples.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}")
            .expect("template"),
    );
    // Scored in chunks of a model batch, through the same `score_many` path as the stream;
    // a post's verdict does not depend on its chunk (tests/model.rs).
    let mut scored = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(args.scoring.model_max_batch.max(1)) {
        let posts: Vec<_> = chunk.iter().map(LabelledPost::post).collect();
        for (example, verdict) in chunk.iter().zip(scorer.score_many(&posts)) {
            scored.push(Scored::new(example, &verdict));
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    let threshold = args.threshold.unwrap_or(args.scoring.review_threshold);
    let pack = scorer.pack();
    let report = Report::build(&scored, threshold, pack.rule_ids());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    if args.fit_fusion {
        let fit = scamwatch::eval::fit_fusion(&scored)
            .context("--fit-fusion needs a model and both labels")?;
        println!(
            "\nfitted fusion on {} examples (source x label balanced):\n[fusion]\nbias = {}\nmodel_bias = {:.4}\nrules_scale_with_model = {:.4}\nmodel_weight = {:.4}",
            fit.examples,
            pack.fusion.bias,
            fit.intercept - pack.fusion.bias,
            fit.rules_scale,
            fit.model_weight
        );
    }
    Ok(())
}
