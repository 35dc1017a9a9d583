//! The review console end to end: verdicts on a real broker, `scamwatch review` as a child
//! process, and a real headless Chromium (driven through chromedriver) signing in, opening an
//! item, seeing the highlighted evidence, claiming and deciding with the keyboard. The decision
//! must reach the feedback topic and the database. A screenshot is kept as an artefact
//! (`target/review-console.png`). Then the console restarts: queue and audit trail intact, and a
//! redelivered verdict is not queued twice.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use scamwatch::review::store::{QueueFilter, ReviewStore};
use scamwatch_load::kafka::{Collector, create_topics, now_us};

struct Console {
    child: Child,
    port: u16,
}

impl Console {
    fn start(brokers: &str, tag: &str, db_url: &str, port: u16) -> Self {
        let log = std::fs::File::create(
            std::env::temp_dir().join(format!("review-{tag}-{}.log", now_us())),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_scamwatch"))
            .arg("review")
            .env("SCAMWATCH_BROKERS", brokers)
            .env("SCAMWATCH_VERDICT_TOPIC", format!("verdicts-{tag}"))
            .env("SCAMWATCH_FEEDBACK_TOPIC", format!("feedback-{tag}"))
            .env("SCAMWATCH_REVIEW_GROUP_ID", format!("review-{tag}"))
            .env("SCAMWATCH_REVIEW_DATABASE_URL", db_url)
            .env("SCAMWATCH_REVIEW_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "SCAMWATCH_REVIEWERS",
                "alice:correct horse,bob:battery staple",
            )
            .env("SCAMWATCH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting scamwatch review");
        Self { child, port }
    }

    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "review console exited with {status}");
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

const SCAM: &str = "Big company in Sihanoukville, Cambodia needs customer service staff. Salary USD \
    1,500/month + bonus, free food and accommodation, free flight ticket. Age 18-35, no \
    experience needed. Contact Telegram @hr_amy_kh88";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_decides_in_a_real_browser_and_the_decision_flows_back() {
    let (Some(chromium), Some(chromedriver)) = (which("chromium"), which("chromedriver")) else {
        panic!(
            "chromium and chromedriver are required (scripts/setup.sh installs Debian's chromium and chromium-driver)"
        );
    };
    let brokers = common::broker();
    let tag = format!("console-{}", now_us());
    create_topics(
        &brokers,
        &[
            (&format!("verdicts-{tag}"), 1),
            (&format!("feedback-{tag}"), 1),
        ],
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("review.db").display());

    // Two flagged verdicts on the topic: an ordinary compound ad, and a hostile one.
    let scorer = common::rules_only_scorer();
    let scam = common::flagged_verdict(
        &scorer,
        "scam-1",
        Some("URGENT HIRING customer service"),
        SCAM,
    );
    let hostile_text =
        format!("<script>alert('xss')</script><img src=x onerror=alert(1)> \u{202E}gnirih{SCAM}");
    let hostile = common::flagged_verdict(
        &scorer,
        "hostile-1",
        Some("</title><script>alert(2)</script>"),
        &hostile_text,
    );
    let producer = scamwatch_load::kafka::producer(&brokers).unwrap();
    for v in [&scam, &hostile] {
        let payload = serde_json::to_vec(v).unwrap();
        producer
            .send(
                FutureRecord::to(&format!("verdicts-{tag}"))
                    .key(&v.post_id)
                    .payload(&payload),
                Timeout::Never,
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }

    let port = common::free_port();
    let mut console = Console::start(&brokers, &tag, &db_url, port);
    // The console creates the database; open it alongside, as a second process would.
    let store = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(s) = ReviewStore::connect(&db_url).await {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "console never created its database"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    wait_until("both verdicts queued", Duration::from_secs(60), || async {
        store
            .queue(&QueueFilter::default(), 10)
            .await
            .map(|q| q.len() == 2)
            .unwrap_or(false)
    })
    .await;
    // A 1 MB post, written straight into the database (bigger than a Kafka message may be).
    let huge_text = format!("{SCAM} {}", "<b>zalgơ̶̢ ".repeat(80_000));
    let huge = common::flagged_verdict(&scorer, "huge-1", None, &huge_text);
    assert!(huge.post.as_ref().unwrap().text.len() > 1_000_000);
    store
        .ingest(&huge, scamwatch::review::now_ms())
        .await
        .unwrap();
    let queue = store.queue(&QueueFilter::default(), 10).await.unwrap();
    let id_of = |post: &str| queue.iter().find(|r| r.post_id == post).unwrap().id;

    // The browser.
    let driver_port = common::free_port();
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1366,900",
                     format!("--user-data-dir={}", dir.path().join("chromium").display())]
        }),
    );
    let client = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{driver_port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("chromedriver not up yet: {e}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => panic!("chromedriver: {e}"),
            }
        }
    };
    // localhost: browsers accept Secure cookies from it over plain HTTP, as in production.
    let base = format!("http://localhost:{}", console.port);

    // Signed out: every page sends you to the sign-in form.
    client
        .goto(&format!("{base}/items/{}", id_of("scam-1")))
        .await
        .unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/login")
    );
    sign_in(&client, "alice", "wrong password").await;
    wait_for(&client, "p.error").await;
    let error = client
        .find(Locator::Css("p.error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("wrong password"), "{error}");
    sign_in(&client, "alice", "correct horse").await;

    // The queue: oldest first, all three there.
    wait_for(&client, "table.queue").await;
    let rows = client
        .find_all(Locator::Css("table.queue tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let first = rows[0].text().await.unwrap();
    assert!(first.contains("scam-1"), "{first}");

    // The item: evidence highlighted in place, with the rule on hover.
    client
        .find(Locator::LinkText(&format!("{} · scam-1", id_of("scam-1"))))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&client, "#claim").await;
    let marks = client
        .find_all(Locator::Css(".text mark.rule"))
        .await
        .unwrap();
    assert!(!marks.is_empty(), "no highlighted rule evidence");
    let title = marks[0].attr("title").await.unwrap().unwrap_or_default();
    let rule_ids: Vec<&str> = scam
        .explanation
        .rule_hits
        .iter()
        .map(|h| h.rule_id.as_str())
        .collect();
    assert!(
        rule_ids.iter().any(|r| title.contains(r)),
        "hover title {title:?} names no rule of {rule_ids:?}"
    );
    assert!(
        !client
            .find_all(Locator::Css(".text mark.contact"))
            .await
            .unwrap()
            .is_empty()
    );
    let page = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("USD 1500/month"),
        "salary in USD/month missing"
    );
    assert!(
        page.contains("Shares telegram:"),
        "link to the related queued posts missing"
    );

    // Claim with "c", decide fraud with "f" (keyboard shortcuts).
    press(&client, "c").await;
    wait_for(&client, "#decide-fraud").await;
    client
        .screenshot()
        .await
        .map(|png| std::fs::write(common::repo_root().join("target/review-console.png"), png))
        .unwrap()
        .unwrap();
    type_into(
        &client,
        "textarea[name=note]",
        "same recruiter as last week",
    )
    .await;
    press(&client, "f").await;

    // Into the database (audit trail) ...
    let scam_id = id_of("scam-1");
    wait_until(
        "the decision in the database",
        Duration::from_secs(15),
        || async {
            store
                .audit(scam_id)
                .await
                .map(|a| a.len() == 1)
                .unwrap_or(false)
        },
    )
    .await;
    let audit = store.audit(scam_id).await.unwrap();
    assert_eq!(
        (audit[0].reviewer.as_str(), audit[0].decision.as_str()),
        ("alice", "fraud")
    );
    assert_eq!(
        audit[0].note.as_deref(),
        Some("same recruiter as last week")
    );
    // ... and onto the feedback topic.
    let feedback = Collector::new(&brokers, &[&format!("feedback-{tag}")]).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.is_empty() && Instant::now() < deadline {
        got.extend(feedback.poll_for(Duration::from_millis(500)));
    }
    assert_eq!(got.len(), 1, "{got:?}");
    let message = &got[0].payload;
    assert_eq!(message["post_id"], "scam-1");
    assert_eq!(message["decision"], "fraud");
    assert_eq!(message["reviewer"], "alice");
    assert!(common::schema_errors(&common::schema("feedback.v1.json"), message).is_empty());

    // The stats page counts the decision: every rule of that post is now 1 fraud / 0 not fraud.
    client.goto(&format!("{base}/stats")).await.unwrap();
    let stats = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first_rule = &scam.explanation.rule_hits[0].rule_id;
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with(first_rule.as_str()) && l.ends_with("1 0 1.00")),
        "{stats}"
    );

    // Hostile posts render as text: no script of theirs runs or even exists in the DOM.
    for post in ["hostile-1", "huge-1"] {
        client
            .goto(&format!("{base}/items/{}", id_of(post)))
            .await
            .unwrap();
        let scripts = client
            .execute(
                "return Array.from(document.scripts).map(s => s.src)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(scripts.as_array().unwrap().len(), 1, "{post}: {scripts}");
        assert!(
            client
                .find_all(Locator::Css(".text img"))
                .await
                .unwrap()
                .is_empty()
        );
        let text = client
            .execute("return document.querySelector('.text').textContent", vec![])
            .await
            .unwrap();
        let text = text.as_str().unwrap();
        assert!(
            text.contains("<script>") || text.contains("<b>zalg"),
            "{post}: text not shown literally"
        );
    }
    let title = client
        .execute("return document.title", vec![])
        .await
        .unwrap();
    assert!(!title.as_str().unwrap().contains("alert"));
    client.close().await.unwrap();

    // Restart: nothing lost, nothing queued twice even when a verdict is redelivered.
    console.terminate();
    let payload = serde_json::to_vec(&scam).unwrap();
    producer
        .send(
            FutureRecord::to(&format!("verdicts-{tag}"))
                .key("scam-1")
                .payload(&payload),
            Timeout::Never,
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    let console = Console::start(&brokers, &tag, &db_url, common::free_port());
    wait_until(
        "the restarted console to read the redelivered verdict",
        Duration::from_secs(60),
        || async {
            let Ok(body) = http_get(console.port, "/metrics").await else {
                return false;
            };
            // At least the redelivered one (more if the first run's last commit was lost).
            body.lines()
                .filter_map(|l| {
                    l.strip_prefix("scamwatch_review_verdicts_total{outcome=\"duplicate\"} ")
                })
                .any(|n| n.trim().parse::<u64>().is_ok_and(|n| n >= 1))
        },
    )
    .await;
    let all = QueueFilter {
        status: Some("fraud".into()),
        ..Default::default()
    };
    assert_eq!(store.queue(&all, 10).await.unwrap().len(), 1);
    assert_eq!(
        store
            .queue(&QueueFilter::default(), 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.audit(scam_id).await.unwrap(), audit);
}

async fn type_into(client: &fantoccini::Client, css: &str, text: &str) {
    let field = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.send_keys(text).await.unwrap();
}

/// Fill in and submit the sign-in form.
async fn sign_in(client: &fantoccini::Client, name: &str, password: &str) {
    type_into(client, "input[name=name]", name).await;
    type_into(client, "input[name=password]", password).await;
    click(client, "form.login button").await;
}

/// A keyboard shortcut, typed with the page (not a field) focused.
async fn press(client: &fantoccini::Client, key: &str) {
    type_into(client, "body", key).await;
}

async fn click(client: &fantoccini::Client, css: &str) {
    let button = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    button.click().await.unwrap();
}

async fn wait_for(client: &fantoccini::Client, css: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"));
}

async fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    Ok(buf)
}

fn which(name: &str) -> Option<String> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::path::Path::new(p).is_file())
}
