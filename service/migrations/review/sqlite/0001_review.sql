-- Review console schema (SQLite). Keep in step with ../postgres/0001_review.sql: the queries
-- in service/src/review/store.rs run unchanged on both.
CREATE TABLE review_items (
    id INTEGER PRIMARY KEY,
    post_id TEXT NOT NULL,
    -- rule pack + model version: one queue entry per post and verdict version, so a verdict
    -- redelivered by Kafka is not queued twice.
    verdict_key TEXT NOT NULL,
    action TEXT NOT NULL,
    score REAL NOT NULL,
    language TEXT,
    platform TEXT,
    -- space-delimited rule ids with a leading and trailing space, for LIKE ' id ' filters
    rules TEXT NOT NULL,
    verdict_json TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    claimed_by TEXT,
    claim_expires_at INTEGER,
    decided_by TEXT,
    decided_at INTEGER,
    UNIQUE (post_id, verdict_key)
);
CREATE INDEX review_items_status ON review_items (status, id);

CREATE TABLE review_contacts (
    item_id INTEGER NOT NULL REFERENCES review_items (id),
    contact TEXT NOT NULL,
    PRIMARY KEY (item_id, contact)
);
CREATE INDEX review_contacts_contact ON review_contacts (contact);

-- The audit trail: every decision, never updated or deleted.
CREATE TABLE review_decisions (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES review_items (id),
    post_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    decision TEXT NOT NULL,
    previous_status TEXT NOT NULL,
    note TEXT,
    labels TEXT NOT NULL,
    decided_at INTEGER NOT NULL
);
CREATE INDEX review_decisions_item ON review_decisions (item_id);

-- Transactional outbox: a decision and its feedback message commit together; the publisher
-- sends unpublished rows to the feedback topic and marks them once the broker acknowledges.
CREATE TABLE review_outbox (
    id INTEGER PRIMARY KEY,
    decision_id INTEGER NOT NULL REFERENCES review_decisions (id),
    post_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    published_at INTEGER
);
CREATE INDEX review_outbox_pending ON review_outbox (published_at, id);

CREATE TABLE review_sessions (
    token_hash TEXT PRIMARY KEY,
    reviewer TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
