//! Decode: raw message bytes -> a validated [`Post`], or a [`DecodeError`] naming the
//! dead-letter reason. Validation uses the schema file in `schemas/` itself (embedded at build
//! time), so the service and the published contract are the same document.

use crate::message::{DeadLetterReason, POST_SCHEMA, Post};

/// The post schema as published in `schemas/post.v1.json`.
pub const POST_SCHEMA_JSON: &str = include_str!("../../schemas/post.v1.json");

/// Why a payload was rejected, with a detail line for the dead-letter record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", reason.as_str())]
pub struct DecodeError {
    pub reason: DeadLetterReason,
    pub detail: String,
}

impl DecodeError {
    fn new(reason: DeadLetterReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    pub max_payload_bytes: usize,
    pub max_text_chars: usize,
}

/// Validates payloads against `post.v1.json`; build once, share across tasks.
pub struct PostDecoder {
    validator: jsonschema::Validator,
    limits: DecodeLimits,
}

impl std::fmt::Debug for PostDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostDecoder")
            .field("limits", &self.limits)
            .finish()
    }
}

impl PostDecoder {
    pub fn new(limits: DecodeLimits) -> Self {
        let schema: serde_json::Value =
            serde_json::from_str(POST_SCHEMA_JSON).expect("schemas/post.v1.json is valid JSON");
        let validator =
            jsonschema::validator_for(&schema).expect("schemas/post.v1.json is a valid schema");
        Self { validator, limits }
    }

    pub fn limits(&self) -> DecodeLimits {
        self.limits
    }

    /// Decode one message payload. `None` is a tombstone / empty message.
    pub fn decode(&self, payload: Option<&[u8]>) -> Result<Post, DecodeError> {
        use DeadLetterReason::*;
        let bytes = match payload {
            Some(b) if !b.is_empty() => b,
            _ => return Err(DecodeError::new(EmptyPayload, "message has no payload")),
        };
        if bytes.len() > self.limits.max_payload_bytes {
            return Err(DecodeError::new(
                PayloadTooLarge,
                format!(
                    "{} bytes exceeds the limit of {}",
                    bytes.len(),
                    self.limits.max_payload_bytes
                ),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            DecodeError::new(
                NotUtf8,
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| DecodeError::new(NotJson, format!("not JSON: {e}")))?;
        if let Some(version) = value.get("schema").and_then(|v| v.as_str())
            && version != POST_SCHEMA
        {
            return Err(DecodeError::new(
                UnsupportedSchemaVersion,
                format!("schema {version:?} is not supported; expected {POST_SCHEMA:?}"),
            ));
        }
        if let Some(error) = self.validator.iter_errors(&value).next() {
            return Err(DecodeError::new(
                SchemaViolation,
                format!("at '{}': {}", error.instance_path(), error.masked()),
            ));
        }
        // Deserialising from the text (not the Value) catches duplicate keys, which the
        // Value parse silently collapses.
        let post: Post = serde_json::from_str(text)
            .map_err(|e| DecodeError::new(SchemaViolation, format!("{e}")))?;
        self.check_text(post)
    }

    /// Checks shared with the HTTP API, which receives already-parsed posts.
    pub fn check_text(&self, post: Post) -> Result<Post, DecodeError> {
        if post.text.trim().is_empty() {
            return Err(DecodeError::new(
                DeadLetterReason::EmptyText,
                "text is empty or whitespace",
            ));
        }
        let chars = post.text.chars().count();
        if chars > self.limits.max_text_chars {
            return Err(DecodeError::new(
                DeadLetterReason::TextTooLong,
                format!(
                    "text has {chars} chars; the limit is {}",
                    self.limits.max_text_chars
                ),
            ));
        }
        Ok(post)
    }

    /// Validate a JSON value that is already parsed (HTTP batch items).
    pub fn decode_value(&self, value: &serde_json::Value) -> Result<Post, DecodeError> {
        let bytes = serde_json::to_vec(value).expect("a Value always serialises");
        self.decode(Some(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder() -> PostDecoder {
        PostDecoder::new(DecodeLimits {
            max_payload_bytes: 1024,
            max_text_chars: 100,
        })
    }

    fn reason(payload: &[u8]) -> DeadLetterReason {
        decoder().decode(Some(payload)).unwrap_err().reason
    }

    #[test]
    fn decodes_a_valid_post_with_optional_fields() {
        let post = decoder()
            .decode(Some(
                br#"{"id":"p1","text":"hello","title":"Job","platform":"fb","metadata":{"k":[1]}}"#,
            ))
            .unwrap();
        assert_eq!(post.id, "p1");
        assert_eq!(post.full_text(), "Job\nhello");
    }

    #[test]
    fn every_kind_of_bad_input_gets_its_reason() {
        use DeadLetterReason::*;
        assert_eq!(decoder().decode(None).unwrap_err().reason, EmptyPayload);
        assert_eq!(reason(&[b' '; 2000]), PayloadTooLarge);
        assert_eq!(reason(b"{\"id\":\"a\",\"text\":\"\xff\"}"), NotUtf8);
        assert_eq!(reason(b"{not json"), NotJson);
        assert_eq!(reason(b"[1,2]"), SchemaViolation);
        assert_eq!(reason(br#"{"text":"no id"}"#), SchemaViolation);
        assert_eq!(reason(br#"{"id":5,"text":"x"}"#), SchemaViolation);
        assert_eq!(
            reason(br#"{"id":"a","text":"x","extra":1}"#),
            SchemaViolation
        );
        assert_eq!(
            reason(br#"{"id":"a","id":"b","text":"x"}"#),
            SchemaViolation
        );
        assert_eq!(
            reason(br#"{"schema":"scamwatch.post.v9","id":"a","text":"x"}"#),
            UnsupportedSchemaVersion
        );
        assert_eq!(reason(br#"{"id":"a","text":"  \n "}"#), EmptyText);
        let long = format!(r#"{{"id":"a","text":"{}"}}"#, "x".repeat(101));
        assert_eq!(reason(long.as_bytes()), TextTooLong);
    }

    #[test]
    fn deep_nesting_is_rejected_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let d = PostDecoder::new(DecodeLimits {
            max_payload_bytes: 1 << 20,
            max_text_chars: 100,
        });
        assert_eq!(
            d.decode(Some(deep.as_bytes())).unwrap_err().reason,
            DeadLetterReason::NotJson
        );
    }

    #[test]
    fn schema_violation_names_the_path() {
        let err = decoder()
            .decode(Some(br#"{"id":"a","text":"x","title":7}"#))
            .unwrap_err();
        assert!(err.detail.contains("/title"), "{}", err.detail);
    }
}
