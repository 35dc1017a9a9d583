//! The messages scamwatch reads and writes. Each type mirrors a versioned JSON Schema in
//! `schemas/`; a test validates real produced messages against those files so the two cannot drift.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the verdict and dead-letter schemas this build writes.
pub const VERDICT_SCHEMA: &str = "scamwatch.verdict.v1";
pub const DEAD_LETTER_SCHEMA: &str = "scamwatch.dead-letter.v1";
pub const POST_SCHEMA: &str = "scamwatch.post.v1";

/// A post to score (`schemas/post.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// Optional on input; when present it must name this schema version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Post {
    /// Title and body as one text: what the rules and the model read. Evidence offsets index it.
    pub fn full_text(&self) -> String {
        title_and_text(self.title.as_deref(), &self.text)
    }
}

/// What the service recommends doing with a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Review,
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Review => "review",
            Action::Block => "block",
        }
    }
}

/// The service's judgement of one post (`schemas/verdict.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub schema: String,
    pub post_id: String,
    /// Likelihood (0..1) that the post is a scam-compound recruitment ad.
    pub score: f64,
    pub action: Action,
    pub explanation: Explanation,
    pub versions: Versions,
    pub timing: Timing,
    pub scored_at: String,
    /// The post itself, carried on `review` and `block` verdicts so a reviewer (and the review
    /// console) sees exactly what was judged without joining the input topic. Absent on
    /// `allow` verdicts to keep the verdict topic small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<JudgedPost>,
}

/// The judged post's text and provenance, as given on input. Evidence offsets index
/// [`JudgedPost::full_text`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedPost {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl From<&Post> for JudgedPost {
    fn from(post: &Post) -> Self {
        Self {
            text: post.text.clone(),
            title: post.title.clone(),
            platform: post.platform.clone(),
            author_id: post.author_id.clone(),
            url: post.url.clone(),
            created_at: post.created_at.clone(),
        }
    }
}

impl JudgedPost {
    /// The text the verdict's evidence offsets index (same rule as [`Post::full_text`]).
    pub fn full_text(&self) -> String {
        title_and_text(self.title.as_deref(), &self.text)
    }
}

fn title_and_text(title: Option<&str>, text: &str) -> String {
    match title.map(str::trim) {
        Some(title) if !title.is_empty() => format!("{title}\n{text}"),
        _ => text.to_string(),
    }
}

/// Why the verdict is what it is, written for a human reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    /// One sentence a reviewer reads first.
    pub summary: String,
    /// Offsets in evidence spans count Unicode scalar values (chars) of this text:
    /// the title, a newline and the body when a title was given, else the body.
    pub text_basis: TextBasis,
    pub rule_hits: Vec<RuleHit>,
    pub signals: Signals,
    /// The classifier's own probability, absent when no model is loaded.
    pub model_score: Option<f64>,
    /// Whether a model took part in this verdict (`false` means rules only).
    pub model_used: bool,
    /// Language detected from the text (ISO 639-1 where known).
    pub language: Option<String>,
    /// Set when the same ad text was scored before: the verdict was reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repost_of: Option<RepostNote>,
    /// For flagged posts scored by the model: the sentences whose removal lowers the model's
    /// probability most (occlusion), strongest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_evidence: Vec<ModelEvidence>,
}

/// A span of the text and how much the model's probability drops without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEvidence {
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// Model probability with the span minus without it (positive: the span raised it).
    pub delta: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextBasis {
    Text,
    TitleNewlineText,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepostNote {
    pub post_id: String,
    /// 1.0 for the same text after normalisation.
    pub similarity: f64,
}

/// One rule that fired, with the text that made it fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleHit {
    pub rule_id: String,
    pub weight: f64,
    /// Reviewer-facing reason, quoting what matched.
    pub reason: String,
    pub evidence: Vec<Evidence>,
}

/// A span of the original post text: `[start, end)` in chars, and the text it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Structured facts pulled out of the post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signals {
    pub contacts: Vec<Contact>,
    pub salaries: Vec<Salary>,
    pub places: Vec<Place>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Telegram,
    Whatsapp,
    Wechat,
    Line,
    Skype,
    Phone,
    Email,
    Url,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Telegram => "telegram",
            ContactKind::Whatsapp => "whatsapp",
            ContactKind::Wechat => "wechat",
            ContactKind::Line => "line",
            ContactKind::Skype => "skype",
            ContactKind::Phone => "phone",
            ContactKind::Email => "email",
            ContactKind::Url => "url",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub kind: ContactKind,
    /// Canonical form used for reputation: lowercase handle, digits-only phone, host for URLs.
    pub value: String,
    /// Country of a phone or WhatsApp number (ISO 3166-1 alpha-2), from its calling code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Registered domain of a URL or email (public-suffix aware: "jobs.example.co.uk" ->
    /// "example.co.uk").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_domain: Option<String>,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Salary {
    pub amount: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_max: Option<f64>,
    pub currency: String,
    pub period: SalaryPeriod,
    /// Converted with the rule pack's dated rate table; `None` if the currency has no rate.
    pub usd_per_month: Option<f64>,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalaryPeriod {
    Hour,
    Day,
    Week,
    Month,
    Year,
    Unspecified,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Canonical gazetteer name, e.g. "Sihanoukville".
    pub name: String,
    pub country: String,
    /// `country`, `city`, `border_town`, `sez`, `compound`, `transfer_route`.
    pub kind: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versions {
    pub service: String,
    pub rule_pack: String,
    pub model: Option<String>,
}

/// Where the time went, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    pub rules_us: u64,
    pub model_us: u64,
    pub total_us: u64,
}

/// Why a message could not be scored (`reason` in the dead-letter record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterReason {
    EmptyPayload,
    PayloadTooLarge,
    NotUtf8,
    NotJson,
    SchemaViolation,
    UnsupportedSchemaVersion,
    EmptyText,
    TextTooLong,
    ControlCharacters,
}

impl DeadLetterReason {
    pub const ALL: [DeadLetterReason; 9] = [
        DeadLetterReason::EmptyPayload,
        DeadLetterReason::PayloadTooLarge,
        DeadLetterReason::NotUtf8,
        DeadLetterReason::NotJson,
        DeadLetterReason::SchemaViolation,
        DeadLetterReason::UnsupportedSchemaVersion,
        DeadLetterReason::EmptyText,
        DeadLetterReason::TextTooLong,
        DeadLetterReason::ControlCharacters,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::EmptyPayload => "empty_payload",
            DeadLetterReason::PayloadTooLarge => "payload_too_large",
            DeadLetterReason::NotUtf8 => "not_utf8",
            DeadLetterReason::NotJson => "not_json",
            DeadLetterReason::SchemaViolation => "schema_violation",
            DeadLetterReason::UnsupportedSchemaVersion => "unsupported_schema_version",
            DeadLetterReason::EmptyText => "empty_text",
            DeadLetterReason::TextTooLong => "text_too_long",
            DeadLetterReason::ControlCharacters => "control_characters",
        }
    }
}

/// A message that could not be scored, with enough context to find and replay the original
/// (`schemas/dead-letter.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetter {
    pub schema: String,
    pub reason: DeadLetterReason,
    /// Human-readable detail, e.g. the schema path that failed.
    pub detail: String,
    pub source: SourcePosition,
    /// The original payload, base64, cut at `payload_truncated` bytes for oversized messages.
    pub payload_base64: String,
    pub payload_bytes: usize,
    pub payload_truncated: bool,
    pub payload_sha256: String,
    /// Original Kafka headers, values as lossy UTF-8.
    pub headers: BTreeMap<String, String>,
    pub failed_at: String,
    pub service_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePosition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

pub const FEEDBACK_SCHEMA: &str = "scamwatch.feedback.v1";

/// A reviewer's decision on a post (`schemas/feedback.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    pub schema: String,
    pub post_id: String,
    pub decision: Decision,
    pub reviewer: String,
    pub decided_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    pub contacts: Vec<FeedbackContact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_pack: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Fraud,
    NotFraud,
    Escalate,
}

impl Decision {
    /// The wire name (`schemas/feedback.v1.json`), also used as a metric label and in the review
    /// database.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Fraud => "fraud",
            Decision::NotFraud => "not_fraud",
            Decision::Escalate => "escalate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackContact {
    pub kind: ContactKind,
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::Decision;

    #[test]
    fn decision_names_are_the_wire_names() {
        for d in [Decision::Fraud, Decision::NotFraud, Decision::Escalate] {
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
    }
}
