//! The review database: queue items (flagged verdicts with their posts), claims, the audit trail
//! of decisions, the feedback outbox and reviewer sessions. One set of SQL runs on SQLite (the
//! embedded default) and PostgreSQL (production) through sqlx's `Any` driver; migrations per
//! backend live in `service/migrations/review/`.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::message::{Action, Decision, FEEDBACK_SCHEMA, Feedback, FeedbackContact, Verdict};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/review/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/review/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the review database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored verdict of item {0} is not a verdict.v1 document: {1}")]
    CorruptVerdict(i64, serde_json::Error),
    #[error("item {0} does not exist")]
    NoSuchItem(i64),
    #[error("item {0} is not claimed by you (claim it first; claims expire)")]
    NotClaimed(i64),
    #[error("item {0} was already decided")]
    AlreadyDecided(i64),
}

/// Where an item is in the review workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Escalated,
    Fraud,
    NotFraud,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Escalated => "escalated",
            Status::Fraud => "fraud",
            Status::NotFraud => "not_fraud",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Status::Open,
            "escalated" => Status::Escalated,
            "fraud" => Status::Fraud,
            "not_fraud" => Status::NotFraud,
            _ => return None,
        })
    }

    /// Still waiting for a final decision.
    pub fn is_pending(self) -> bool {
        matches!(self, Status::Open | Status::Escalated)
    }

    fn after(decision: Decision) -> Self {
        match decision {
            Decision::Fraud => Status::Fraud,
            Decision::NotFraud => Status::NotFraud,
            Decision::Escalate => Status::Escalated,
        }
    }
}

/// What happened to a consumed verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Queued(i64),
    /// The same post and verdict version is already queued (Kafka redelivery).
    Duplicate,
    /// `allow` verdicts are not reviewed.
    NotFlagged,
}

/// Queue filters; `None` means any.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct QueueFilter {
    pub status: Option<String>,
    pub action: Option<String>,
    pub language: Option<String>,
    pub rule: Option<String>,
    pub platform: Option<String>,
}

/// One row of the queue page.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub id: i64,
    pub post_id: String,
    pub action: String,
    pub score: f64,
    pub language: Option<String>,
    pub platform: Option<String>,
    pub rules: Vec<String>,
    pub received_at: i64,
    pub status: String,
    pub claimed_by: Option<String>,
    pub claim_expires_at: Option<i64>,
}

/// A queue item with its verdict.
#[derive(Debug, Clone)]
pub struct Item {
    pub row: QueueRow,
    pub verdict: Verdict,
    pub decided_by: Option<String>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub item_id: i64,
    pub post_id: String,
    pub reviewer: String,
    pub decision: String,
    pub previous_status: String,
    pub note: Option<String>,
    pub labels: Vec<String>,
    pub decided_at: i64,
}

/// Another pending item sharing a contact with the one on screen.
#[derive(Debug, Clone)]
pub struct SharedContact {
    pub contact: String,
    pub item_id: i64,
    pub post_id: String,
}

/// A feedback message waiting to be published.
#[derive(Debug, Clone)]
pub struct PendingFeedback {
    pub outbox_id: i64,
    pub post_id: String,
    pub payload: String,
}

/// A decided item, for statistics and export.
#[derive(Debug, Clone)]
pub struct DecidedItem {
    pub status: Status,
    pub language: Option<String>,
    pub rules: Vec<String>,
    pub verdict_json: String,
    pub decision: AuditEntry,
}

/// A reviewer's logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub reviewer: String,
    pub csrf: String,
}

#[derive(Debug, Clone)]
pub struct ReviewStore {
    pool: AnyPool,
}

const ITEM_COLUMNS: &str = "id, post_id, action, score, language, platform, rules, received_at, \
     status, claimed_by, claim_expires_at";

impl ReviewStore {
    /// Open (creating if needed) the database at `url` and bring its schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, migrator, max_connections) = if let Some(path) = url.strip_prefix("sqlite://") {
            let sep = if path.contains('?') { '&' } else { '?' };
            // mode=rwc creates the file on first start: the console works with no setup.
            (
                format!("sqlite://{path}{sep}mode=rwc"),
                &SQLITE_MIGRATIONS,
                4,
            )
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_string(), &POSTGRES_MIGRATIONS, 8)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .connect(&url)
            .await?;
        if url.starts_with("sqlite:") {
            // WAL lets the queue page read while the consumer writes.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await?;
        }
        // sqlx has no migration lock for SQLite: two processes opening a new file at once both
        // try migration 1 and the loser fails on "table already exists". Each migration commits
        // with its bookkeeping row, so running the migrator again finds it applied.
        if let Err(first) = migrator.run(&pool).await {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            tracing::debug!(error = %first, "migrating again (another process migrated first?)");
            migrator.run(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// Whether the database answers (for `/readyz`; cheaper than any real query).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Queue a flagged verdict, once per post and verdict version.
    pub async fn ingest(&self, verdict: &Verdict, now_ms: i64) -> Result<Ingested, StoreError> {
        if verdict.action == Action::Allow {
            return Ok(Ingested::NotFlagged);
        }
        let verdict_key = format!(
            "{}/{}",
            verdict.versions.rule_pack,
            verdict.versions.model.as_deref().unwrap_or("none")
        );
        let rule_ids: BTreeSet<&str> = verdict
            .explanation
            .rule_hits
            .iter()
            .map(|h| h.rule_id.as_str())
            .collect();
        let rules = format!(" {} ", rule_ids.into_iter().collect::<Vec<_>>().join(" "));
        let json = serde_json::to_string(verdict).expect("verdicts serialise");
        let mut tx = self.pool.begin().await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO review_items (post_id, verdict_key, action, score, language, platform, \
             rules, verdict_json, scored_at, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (post_id, verdict_key) DO NOTHING RETURNING id",
        )
        .bind(&verdict.post_id)
        .bind(&verdict_key)
        .bind(verdict.action.as_str())
        .bind(verdict.score)
        .bind(verdict.explanation.language.clone())
        .bind(verdict.post.as_ref().and_then(|p| p.platform.clone()))
        .bind(&rules)
        .bind(&json)
        .bind(&verdict.scored_at)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = inserted else {
            tx.rollback().await?;
            return Ok(Ingested::Duplicate);
        };
        let contacts: BTreeSet<String> = verdict
            .explanation
            .signals
            .contacts
            .iter()
            .map(|c| format!("{}:{}", c.kind.as_str(), c.value))
            .collect();
        for contact in contacts {
            sqlx::query("INSERT INTO review_contacts (item_id, contact) VALUES ($1, $2)")
                .bind(id)
                .bind(contact)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ingested::Queued(id))
    }

    /// Items matching `filter`, oldest first. Without a status filter: the pending ones.
    pub async fn queue(
        &self,
        filter: &QueueFilter,
        limit: i64,
    ) -> Result<Vec<QueueRow>, StoreError> {
        let (clause, binds) = filter_clause(filter);
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM review_items WHERE {clause} ORDER BY id LIMIT {limit}"
        );
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(queue_row).collect())
    }

    /// Item counts by status and action: `(status, action, count)`.
    pub async fn counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, action, COUNT(*) FROM review_items GROUP BY status, action \
             ORDER BY status, action",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<i64, _>(2)))
            .collect())
    }

    /// Distinct languages, platforms and rule ids among pending items, for the filter menus.
    pub async fn facets(&self) -> Result<(Vec<String>, Vec<String>, Vec<String>), StoreError> {
        let rows = sqlx::query(
            "SELECT language, platform, rules FROM review_items \
             WHERE status IN ('open', 'escalated')",
        )
        .fetch_all(&self.pool)
        .await?;
        let (mut languages, mut platforms, mut rules) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for r in &rows {
            languages.extend(r.get::<Option<String>, _>(0));
            platforms.extend(r.get::<Option<String>, _>(1));
            rules.extend(split_rules(&r.get::<String, _>(2)));
        }
        Ok((
            languages.into_iter().collect(),
            platforms.into_iter().collect(),
            rules.into_iter().collect(),
        ))
    }

    /// Age in milliseconds of the oldest pending item, if any.
    pub async fn oldest_pending(&self) -> Result<Option<i64>, StoreError> {
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(received_at) FROM review_items WHERE status IN ('open', 'escalated')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(oldest)
    }

    pub async fn item(&self, id: i64) -> Result<Option<Item>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS}, verdict_json, decided_by FROM review_items WHERE id = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let json: String = row.get(11);
        let verdict = serde_json::from_str(&json).map_err(|e| StoreError::CorruptVerdict(id, e))?;
        Ok(Some(Item {
            row: queue_row(&row),
            verdict,
            decided_by: row.get(12),
        }))
    }

    /// Lock a pending item for `reviewer` until `now_ms + ttl_ms`. Exactly one of several
    /// reviewers racing for the same item wins: the check and the write are one UPDATE.
    pub async fn claim(
        &self,
        id: i64,
        reviewer: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE review_items SET claimed_by = $1, claim_expires_at = $2 \
             WHERE id = $3 AND status IN ('open', 'escalated') \
             AND (claimed_by IS NULL OR claimed_by = $1 OR claim_expires_at < $4)",
        )
        .bind(reviewer)
        .bind(now_ms + ttl_ms)
        .bind(id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Give a claim back.
    pub async fn release(&self, id: i64, reviewer: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE review_items SET claimed_by = NULL, claim_expires_at = NULL \
             WHERE id = $1 AND claimed_by = $2",
        )
        .bind(id)
        .bind(reviewer)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claim the oldest unclaimed item matching `filter` (open items when no status is given).
    pub async fn claim_next(
        &self,
        filter: &QueueFilter,
        reviewer: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut filter = filter.clone();
        filter.status.get_or_insert_with(|| "open".into());
        let (clause, binds) = filter_clause(&filter);
        let n = binds.len();
        let sql = format!(
            "SELECT id FROM review_items WHERE {clause} AND (claimed_by IS NULL \
             OR claimed_by = ${} OR claim_expires_at < ${}) ORDER BY id LIMIT 10",
            n + 1,
            n + 2
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for b in binds {
            query = query.bind(b);
        }
        let candidates = query
            .bind(reviewer.to_string())
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await?;
        for id in candidates {
            if self.claim(id, reviewer, now_ms, ttl_ms).await? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Record `reviewer`'s decision on a claimed item: the item's status, the audit entry and
    /// the feedback message commit together (transactional outbox).
    pub async fn decide(
        &self,
        id: i64,
        reviewer: &str,
        decision: Decision,
        note: Option<&str>,
        labels: &[String],
        now_ms: i64,
    ) -> Result<AuditEntry, StoreError> {
        let item = self.item(id).await?.ok_or(StoreError::NoSuchItem(id))?;
        let previous = Status::parse(&item.row.status).unwrap_or(Status::Open);
        if !previous.is_pending() {
            return Err(StoreError::AlreadyDecided(id));
        }
        let next = Status::after(decision);
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE review_items SET status = $1, decided_by = $2, decided_at = $3, \
             claimed_by = NULL, claim_expires_at = NULL \
             WHERE id = $4 AND status = $5 AND claimed_by = $2 AND claim_expires_at >= $3",
        )
        .bind(next.as_str())
        .bind(reviewer)
        .bind(now_ms)
        .bind(id)
        .bind(previous.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::NotClaimed(id));
        }
        let labels_text = labels.join(",");
        let decision_id: i64 = sqlx::query_scalar(
            "INSERT INTO review_decisions (item_id, post_id, reviewer, decision, \
             previous_status, note, labels, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(id)
        .bind(&item.row.post_id)
        .bind(reviewer)
        .bind(decision.as_str())
        .bind(previous.as_str())
        .bind(note.map(str::to_string))
        .bind(&labels_text)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let feedback = feedback_message(&item.verdict, reviewer, decision, note, labels, now_ms);
        sqlx::query(
            "INSERT INTO review_outbox (decision_id, post_id, payload, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(decision_id)
        .bind(&item.row.post_id)
        .bind(serde_json::to_string(&feedback).expect("feedback serialises"))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AuditEntry {
            id: decision_id,
            item_id: id,
            post_id: item.row.post_id.clone(),
            reviewer: reviewer.to_string(),
            decision: decision.as_str().to_string(),
            previous_status: previous.as_str().to_string(),
            note: note.map(str::to_string),
            labels: labels.to_vec(),
            decided_at: now_ms,
        })
    }

    /// Every decision on an item, oldest first.
    pub async fn audit(&self, item_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM review_decisions WHERE item_id = $1 ORDER BY id"
        ))
        .bind(item_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(audit_entry).collect())
    }

    /// Other pending items that share a contact with `item_id`.
    pub async fn sharing_contacts(&self, item_id: i64) -> Result<Vec<SharedContact>, StoreError> {
        let rows = sqlx::query(
            "SELECT c2.contact, i.id, i.post_id FROM review_contacts c1 \
             JOIN review_contacts c2 ON c2.contact = c1.contact AND c2.item_id <> c1.item_id \
             JOIN review_items i ON i.id = c2.item_id \
             WHERE c1.item_id = $1 AND i.status IN ('open', 'escalated') \
             ORDER BY c2.contact, i.id LIMIT 50",
        )
        .bind(item_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| SharedContact {
                contact: r.get(0),
                item_id: r.get(1),
                post_id: r.get(2),
            })
            .collect())
    }

    /// Feedback messages not yet acknowledged by the broker, oldest first.
    pub async fn pending_feedback(&self, limit: i64) -> Result<Vec<PendingFeedback>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id, post_id, payload FROM review_outbox WHERE published_at IS NULL \
             ORDER BY id LIMIT {limit}"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| PendingFeedback {
                outbox_id: r.get(0),
                post_id: r.get(1),
                payload: r.get(2),
            })
            .collect())
    }

    pub async fn mark_published(&self, outbox_id: i64, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE review_outbox SET published_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(outbox_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Items with a final decision (fraud / not fraud) and the decision that made it final.
    pub async fn decided(&self) -> Result<Vec<DecidedItem>, StoreError> {
        let sql = format!(
            "SELECT i.status, i.language, i.rules, i.verdict_json, {} \
             FROM review_items i JOIN review_decisions d ON d.item_id = i.id \
             WHERE i.status IN ('fraud', 'not_fraud') AND d.decision = i.status \
             AND d.id = (SELECT MAX(d2.id) FROM review_decisions d2 WHERE d2.item_id = i.id) \
             ORDER BY d.id",
            AUDIT_COLUMNS
                .split(", ")
                .map(|c| format!("d.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| DecidedItem {
                status: Status::parse(&r.get::<String, _>(0)).unwrap_or(Status::Open),
                language: r.get(1),
                rules: split_rules(&r.get::<String, _>(2)),
                verdict_json: r.get(3),
                decision: audit_entry_at(r, 4),
            })
            .collect())
    }

    /// `(status, language, rules)` of every finally decided item: what the statistics need,
    /// without loading verdicts (this runs on every `/metrics` scrape).
    pub async fn decided_outcomes(
        &self,
    ) -> Result<Vec<(Status, Option<String>, Vec<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, language, rules FROM review_items \
             WHERE status IN ('fraud', 'not_fraud')",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    Status::parse(&r.get::<String, _>(0)).unwrap_or(Status::Open),
                    r.get(1),
                    split_rules(&r.get::<String, _>(2)),
                )
            })
            .collect())
    }

    /// Times (ms) of decisions made at or after `since_ms`.
    pub async fn decision_times(&self, since_ms: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT decided_at FROM review_decisions WHERE decided_at >= $1 ORDER BY decided_at",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Start a session; returns the cookie token (only its hash is stored) and the session.
    pub async fn create_session(
        &self,
        reviewer: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<(String, Session), StoreError> {
        let token = random_token();
        let csrf = random_token();
        sqlx::query(
            "INSERT INTO review_sessions (token_hash, reviewer, csrf, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash(&token))
        .bind(reviewer)
        .bind(&csrf)
        .bind(now_ms + ttl_ms)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM review_sessions WHERE expires_at < $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok((
            token,
            Session {
                reviewer: reviewer.to_string(),
                csrf,
            },
        ))
    }

    pub async fn session(&self, token: &str, now_ms: i64) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT reviewer, csrf FROM review_sessions WHERE token_hash = $1 AND expires_at >= $2",
        )
        .bind(token_hash(token))
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Session {
            reviewer: r.get(0),
            csrf: r.get(1),
        }))
    }

    pub async fn end_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM review_sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

const AUDIT_COLUMNS: &str =
    "id, item_id, post_id, reviewer, decision, previous_status, note, labels, decided_at";

fn audit_entry(row: &AnyRow) -> AuditEntry {
    audit_entry_at(row, 0)
}

fn audit_entry_at(r: &AnyRow, at: usize) -> AuditEntry {
    let labels: String = r.get(at + 7);
    AuditEntry {
        id: r.get(at),
        item_id: r.get(at + 1),
        post_id: r.get(at + 2),
        reviewer: r.get(at + 3),
        decision: r.get(at + 4),
        previous_status: r.get(at + 5),
        note: r.get(at + 6),
        labels: labels
            .split(',')
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        decided_at: r.get(at + 8),
    }
}

fn queue_row(r: &AnyRow) -> QueueRow {
    QueueRow {
        id: r.get(0),
        post_id: r.get(1),
        action: r.get(2),
        score: r.get(3),
        language: r.get(4),
        platform: r.get(5),
        rules: split_rules(&r.get::<String, _>(6)),
        received_at: r.get(7),
        status: r.get(8),
        claimed_by: r.get(9),
        claim_expires_at: r.get(10),
    }
}

fn split_rules(rules: &str) -> Vec<String> {
    rules.split_whitespace().map(str::to_string).collect()
}

/// SQL condition and its bound values (`$1..$n`) for a queue filter.
fn filter_clause(filter: &QueueFilter) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    let given = |v: &Option<String>| v.as_ref().filter(|v| !v.is_empty()).cloned();
    if given(&filter.status).is_none() {
        conditions.push("status IN ('open', 'escalated')".to_string());
    }
    let mut add = |sql: &str, value: String| {
        binds.push(value);
        conditions.push(sql.replace('?', &format!("${}", binds.len())));
    };
    if let Some(status) = given(&filter.status) {
        add("status = ?", status);
    }
    if let Some(action) = given(&filter.action) {
        add("action = ?", action);
    }
    if let Some(language) = given(&filter.language) {
        add("language = ?", language);
    }
    if let Some(platform) = given(&filter.platform) {
        add("platform = ?", platform);
    }
    if let Some(rule) = given(&filter.rule) {
        let escaped = rule
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        add("rules LIKE ? ESCAPE '\\'", format!("% {escaped} %"));
    }
    (conditions.join(" AND "), binds)
}

/// The feedback.v1 message for a decision.
fn feedback_message(
    verdict: &Verdict,
    reviewer: &str,
    decision: Decision,
    note: Option<&str>,
    labels: &[String],
    now_ms: i64,
) -> Feedback {
    let decided_at = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut contacts: Vec<FeedbackContact> = Vec::new();
    for c in &verdict.explanation.signals.contacts {
        if !contacts
            .iter()
            .any(|f| f.kind == c.kind && f.value == c.value)
        {
            contacts.push(FeedbackContact {
                kind: c.kind,
                value: c.value.clone(),
            });
        }
    }
    Feedback {
        schema: FEEDBACK_SCHEMA.to_string(),
        post_id: verdict.post_id.clone(),
        decision,
        reviewer: reviewer.to_string(),
        decided_at,
        note: note.map(str::to_string),
        labels: labels.to_vec(),
        contacts,
        verdict_score: Some(verdict.score),
        rule_pack: Some(verdict.versions.rule_pack.clone()),
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
