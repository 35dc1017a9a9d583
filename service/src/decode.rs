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
        if !post.text.chars().any(is_visible) {
            return Err(DecodeError::new(
                DeadLetterReason::EmptyText,
                "text is empty, whitespace or invisible characters only",
            ));
        }
        for (field, value) in [("text", Some(&post.text)), ("title", post.title.as_ref())] {
            if let Some((at, c)) = value.and_then(|v| {
                v.chars()
                    .enumerate()
                    .find(|(_, c)| is_forbidden_control(*c))
            }) {
                return Err(DecodeError::new(
                    DeadLetterReason::ControlCharacters,
                    format!(
                        "{field} holds control character U+{:04X} at char {at}",
                        c as u32
                    ),
                ));
            }
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

/// C0 controls other than tab, line feed, vertical tab, form feed and carriage return, and DEL.
/// No person types them; NUL in particular truncates C strings and is refused by PostgreSQL
/// `text`, so a post holding one is dead-lettered for a person to look at rather than scored.
/// C1 controls (U+0080-U+009F) are let through: they are what mis-decoded Windows-1252
/// punctuation turns into in real posts.
fn is_forbidden_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{e}'..='\u{1f}' | '\u{7f}')
}

/// A char a reader can see: not whitespace, not a control, not a zero-width or bidi format
/// character. A text without one has nothing to score.
fn is_visible(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
            | '\u{fe00}'..='\u{fe0f}' | '\u{feff}'))
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

    /// One assertion per kind of the load-test corpus beyond the original eight reasons, with
    /// hand-written payloads (the 1 KiB / 100-char limits of `decoder()`).
    #[test]
    fn each_malformed_kind_gets_its_reason() {
        use DeadLetterReason::*;
        let cases: &[(&str, &[u8], DeadLetterReason)] = &[
            ("truncated_json", br#"{"id":"a","text":"cut"#, NotJson),
            (
                "trailing_garbage",
                br#"{"id":"a","text":"x"} more"#,
                NotJson,
            ),
            (
                "utf8_bom",
                b"\xef\xbb\xbf{\"id\":\"a\",\"text\":\"x\"}",
                NotJson,
            ),
            (
                "nul_byte_raw",
                b"{\"id\":\"a\",\"text\":\"a\x00b\"}",
                NotJson,
            ),
            (
                "lone_surrogate",
                br#"{"id":"a","text":"a\ud800b"}"#,
                NotJson,
            ),
            (
                "number_out_of_range",
                br#"{"id":"a","text":"x","metadata":{"v":1e400}}"#,
                NotJson,
            ),
            (
                "latin1_text",
                b"{\"id\":\"a\",\"text\":\"caf\xe9\"}",
                NotUtf8,
            ),
            (
                "missing_text",
                br#"{"id":"a","title":"t"}"#,
                SchemaViolation,
            ),
            (
                "text_not_string",
                br#"{"id":"a","text":{"h":1}}"#,
                SchemaViolation,
            ),
            ("null_text", br#"{"id":"a","text":null}"#, SchemaViolation),
            ("empty_id", br#"{"id":"","text":"x"}"#, SchemaViolation),
            (
                "top_level_array",
                br#"[{"id":"a","text":"x"}]"#,
                SchemaViolation,
            ),
            ("top_level_scalar", b"42", SchemaViolation),
            ("top_level_null", b"null", SchemaViolation),
            (
                "huge_array",
                br#"{"id":"a","text":[1,1,1,1,1,1,1,1]}"#,
                SchemaViolation,
            ),
            (
                "invisible_text",
                "{\"id\":\"a\",\"text\":\"\u{200b}\u{feff}\u{202e}\u{2067}\u{a0}\"}".as_bytes(),
                EmptyText,
            ),
            (
                "nul_in_text",
                br#"{"id":"a","text":"Tele\u0000gram"}"#,
                ControlCharacters,
            ),
            (
                "escape_in_text",
                br#"{"id":"a","text":"ok\u001bok"}"#,
                ControlCharacters,
            ),
            (
                "nul_in_title",
                br#"{"id":"a","text":"ok","title":"a\u0000"}"#,
                ControlCharacters,
            ),
        ];
        for (kind, payload, want) in cases {
            assert_eq!(reason(payload), *want, "{kind}");
        }
        let long_id = format!(r#"{{"id":"{}","text":"x"}}"#, "i".repeat(300));
        assert_eq!(reason(long_id.as_bytes()), SchemaViolation, "id_too_long");
        let d = PostDecoder::new(DecodeLimits {
            max_payload_bytes: 262_144,
            max_text_chars: 50_000,
        });
        let big = vec![b'x'; 10 * 1024 * 1024];
        assert_eq!(
            d.decode(Some(&big)).unwrap_err().reason,
            PayloadTooLarge,
            "huge_10mb"
        );
        let nested = |depth: usize| {
            format!(
                r#"{{"id":"a","text":"x","metadata":{}1{}}}"#,
                r#"{"a":"#.repeat(depth),
                "}".repeat(depth)
            )
        };
        assert_eq!(
            d.decode(Some(nested(200).as_bytes())).unwrap_err().reason,
            NotJson,
            "deep_nesting_in_metadata"
        );
        assert!(
            d.decode(Some(nested(100).as_bytes())).is_ok(),
            "nested_metadata"
        );
    }

    #[test]
    fn hostile_but_valid_text_is_accepted() {
        for text in [
            "Robert'); DROP TABLE posts;-- ' OR '1'='1",
            "<script>alert(1)</script><img src=x onerror=alert(1)>",
            "${jndi:ldap://x/a} %s%n ../../etc/passwd\r\n{\"level\":\"ERROR\"}",
            "\u{202e}abc\u{202c} مرحبا \u{2067}שלום\u{2069}",
            "a\u{301}\u{316}\u{35c}\u{301}\u{316}",
            "👨‍👩‍👧‍👦🇰🇭👍🏽 tab\tand\x0bvertical\x0cform feed",
            "mis-decoded \u{92}quote\u{92} (C1 controls pass)",
        ] {
            let payload =
                serde_json::to_vec(&serde_json::json!({"id": "a", "text": text})).unwrap();
            assert!(decoder().decode(Some(&payload)).is_ok(), "{text:?}");
        }
    }

    /// Every kind in the load-test corpus gets the outcome the corpus promises, at the service's
    /// default limits (the black-box test checks the same through a broker).
    #[test]
    fn the_load_test_corpus_kinds_get_their_outcomes() {
        use scamwatch_load::corpus::{Outcome, every_kind, kind};
        let d = PostDecoder::new(DecodeLimits {
            max_payload_bytes: 262_144,
            max_text_chars: 50_000,
        });
        for (name, g) in every_kind(1) {
            let got = d.decode(g.payload.as_deref());
            match kind(name).unwrap().outcome {
                Outcome::DeadLetter(reason) => {
                    assert_eq!(got.unwrap_err().reason.as_str(), reason, "{name}")
                }
                Outcome::Verdict => assert!(got.is_ok(), "{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn schema_violation_names_the_path() {
        let err = decoder()
            .decode(Some(br#"{"id":"a","text":"x","title":7}"#))
            .unwrap_err();
        assert!(err.detail.contains("/title"), "{}", err.detail);
    }
}
