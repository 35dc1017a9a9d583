//! Scorer: one post through normalise -> signals -> rules -> model -> fuse -> verdict. Shared by
//! the Kafka pipeline, the HTTP API and the `score` command, so all three give the same verdict.
//! Holds the current rule pack (swapped atomically on reload) and the repost cache (moka).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};

use crate::config::ScoringConfig;
use crate::decode::{DecodeLimits, PostDecoder};
use crate::fuse::{self, Thresholds};
use crate::memory::{Memory, simhash};
use crate::message::{
    Explanation, ModelEvidence, Post, RepostNote, TextBasis, Timing, VERDICT_SCHEMA, Verdict,
    Versions,
};
use crate::metrics::{InternalEvent, PostScored, RulePackLoaded, RulePackRejected, StageTimed};
use crate::model::{Classifier, ModelError, SharedClassifier};
use crate::normalize::NormalizedText;
use crate::rules::{RulePack, RulePackError};
use crate::signals;

pub const SERVICE_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum ScorerError {
    #[error(transparent)]
    RulePack(#[from] RulePackError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

pub struct Scorer {
    pack: ArcSwap<RulePack>,
    model: SharedClassifier,
    thresholds: Thresholds,
    decoder: PostDecoder,
    /// Most sentences occluded to explain a flagged post's model score.
    explain_spans: usize,
    /// Near-duplicates and contact reputation; `None` where posts must be scored independently
    /// (evaluation).
    memory: Option<Memory>,
}

impl Scorer {
    pub fn from_config(config: &ScoringConfig) -> Result<Self, ScorerError> {
        let pack = RulePack::load(&config.rule_pack)?;
        let model = crate::model::load(
            &config.model,
            config.ort_library.as_deref(),
            config.model_threads,
            config.batch_limits(),
        )?;
        Ok(Self::new(pack, model, config))
    }

    pub fn new(pack: RulePack, model: SharedClassifier, config: &ScoringConfig) -> Self {
        RulePackLoaded {
            version: pack.version(),
            previous: None,
            rules: pack.rule_ids().count(),
        }
        .emit();
        let model_version = model.as_ref().map_or("none", |m| m.version()).to_string();
        crate::metrics::METRICS
            .model_info
            .with_label_values(&[&model_version])
            .set(1);
        Self {
            pack: ArcSwap::from_pointee(pack),
            model,
            thresholds: Thresholds {
                review: config.review_threshold,
                block: config.block_threshold,
                block_min_model: config.block_min_model_score,
            },
            decoder: PostDecoder::new(DecodeLimits {
                max_payload_bytes: config.max_payload_bytes,
                max_text_chars: config.max_text_chars,
            }),
            explain_spans: config.model_explain_spans,
            memory: Some(Memory::new(
                config.repost_cache_capacity,
                Duration::from_secs(config.repost_cache_ttl_secs.max(1)),
            )),
        }
    }

    /// Score every post on its own: no repost reuse, near-duplicate notes or contact reputation.
    pub fn without_memory(mut self) -> Self {
        self.memory = None;
        self
    }

    pub fn decoder(&self) -> &PostDecoder {
        &self.decoder
    }

    pub fn pack(&self) -> Arc<RulePack> {
        self.pack.load_full()
    }

    pub fn model_version(&self) -> Option<&str> {
        self.model.as_deref().map(Classifier::version)
    }

    /// Load a new pack and swap it in; on error the current pack keeps serving.
    pub fn reload_rules(&self, path: &Path) -> Result<String, RulePackError> {
        self.install_rules(RulePack::load(path))
    }

    /// Swap in a pack just loaded or parsed; on error the current pack keeps serving. Both
    /// outcomes are reported (log + metric).
    fn install_rules(
        &self,
        loaded: Result<RulePack, RulePackError>,
    ) -> Result<String, RulePackError> {
        let new = loaded.inspect_err(|e| {
            RulePackRejected {
                error: &e.to_string(),
                serving: self.pack.load().version(),
            }
            .emit();
        })?;
        let version = new.version().to_string();
        let old = self.pack.swap(Arc::new(new));
        RulePackLoaded {
            version: &version,
            previous: Some(old.version()),
            rules: self.pack.load().rule_ids().count(),
        }
        .emit();
        Ok(version)
    }

    /// Poll the rule pack file and reload it when its content differs from the pack serving.
    /// Polling the content, not watching inodes, also follows Kubernetes ConfigMap updates (a
    /// symlink swap). A rejected file is not retried until it changes again.
    pub async fn watch_rule_pack(self: Arc<Self>, path: std::path::PathBuf, every: Duration) {
        let mut rejected: Option<[u8; 32]> = None;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Ok(bytes) = tokio::fs::read(&path).await else {
                continue;
            };
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            if digest == self.pack().source_digest || Some(digest) == rejected {
                continue;
            }
            // Parse the bytes just digested: reading the file again could see a newer version
            // than the digest remembered as rejected.
            let shown = path.display().to_string();
            let scorer = self.clone();
            let install = move || {
                let loaded = String::from_utf8(bytes)
                    .map_err(|e| RulePackError::Read {
                        path: shown,
                        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                    })
                    .and_then(|text| RulePack::parse(&text));
                scorer.install_rules(loaded)
            };
            if let Ok(Err(_)) = tokio::task::spawn_blocking(install).await {
                rejected = Some(digest);
            }
        }
    }

    /// Score one decoded post. A failing model degrades to a rules-only verdict (said in the
    /// verdict: `model_used: false`), it never stops the stream.
    pub fn score(&self, post: &Post) -> Verdict {
        self.score_many(std::slice::from_ref(post))
            .pop()
            .expect("one verdict per post")
    }

    /// Score posts together: rules for each, then one model request for all of them (the
    /// batching queue merges it with other callers'), then fusion. Verdicts are those `score`
    /// gives one at a time, except that contact reputation from a post blocked in the same call
    /// reaches only later calls. With memory, a text repeated within the call is scored once and
    /// the repeats are marked as reposts of the first, as they would be one at a time.
    pub fn score_many(&self, posts: &[Post]) -> Vec<Verdict> {
        let pack = self.pack.load();
        let mut first_of: HashMap<[u8; 32], usize> = HashMap::new();
        let stages: Vec<Stage> = posts
            .iter()
            .enumerate()
            .map(|(i, post)| {
                let started = Instant::now();
                let text = post.full_text();
                let norm = NormalizedText::new(&text);
                let key = repost_key(pack.version(), &norm.text);
                if let Some(memory) = &self.memory
                    && let Some(hit) = memory.repost(&key)
                {
                    return Stage::Done(Box::new(self.repost(
                        &hit.verdict,
                        &hit.post_id,
                        post,
                        started,
                    )));
                }
                if self.memory.is_some()
                    && let Some(&first) = first_of.get(&key)
                {
                    return Stage::RepeatOf(first, started);
                }
                first_of.insert(key, i);
                Stage::Ruled(Box::new(
                    self.rules(&pack, post, &text, &norm, key, started),
                ))
            })
            .collect();

        let texts: Vec<&str> = stages
            .iter()
            .filter_map(|s| match s {
                Stage::Ruled(r) => Some(r.text.as_str()),
                _ => None,
            })
            .collect();
        let (model_scores, model_elapsed) = self.model_scores(&texts, posts);
        let mut model_scores = model_scores.into_iter();

        let mut verdicts: Vec<Option<Verdict>> = Vec::with_capacity(posts.len());
        let mut repeats = Vec::new();
        for (i, (stage, post)) in stages.into_iter().zip(posts).enumerate() {
            verdicts.push(match stage {
                Stage::Done(v) => Some(*v),
                Stage::RepeatOf(first, started) => {
                    repeats.push((i, first, started));
                    None
                }
                Stage::Ruled(ruled) => {
                    let model_score = model_scores.next().flatten();
                    Some(self.verdict(&pack, post, *ruled, model_score, model_elapsed))
                }
            });
        }
        for (i, first, started) in repeats {
            let original = verdicts[first].clone().expect("first is scored");
            verdicts[i] = Some(self.repost(&original, &posts[first].id, &posts[i], started));
        }
        verdicts
            .into_iter()
            .map(|v| v.expect("every post scored"))
            .collect()
    }

    /// A verdict reused for a repost of the text of `original_id`.
    fn repost(
        &self,
        original: &Verdict,
        original_id: &str,
        post: &Post,
        started: Instant,
    ) -> Verdict {
        let mut verdict = original.clone();
        if original_id != post.id {
            verdict.explanation.repost_of = Some(RepostNote {
                post_id: original_id.to_string(),
                similarity: 1.0,
            });
        }
        verdict.post_id = post.id.clone();
        verdict.timing = Timing {
            rules_us: 0,
            model_us: 0,
            total_us: micros(started.elapsed()),
        };
        verdict.scored_at = now_rfc3339();
        if let Some(memory) = &self.memory {
            memory.record_if_blocked(&verdict);
        }
        self.emit_scored(&verdict);
        with_post(verdict, post)
    }

    /// Normalise, extract signals, run the rules and consult the memory.
    fn rules(
        &self,
        pack: &RulePack,
        post: &Post,
        text: &str,
        norm: &NormalizedText,
        key: [u8; 32],
        started: Instant,
    ) -> Ruled {
        let signals = signals::extract(norm, &pack.gazetteer, &pack.rates);
        let language = signals::detect(text);
        let rule_language = language
            .as_ref()
            .filter(|l| l.reliable)
            .map(|l| l.code.as_str());
        let mut outcome = pack.evaluate(norm, &signals, rule_language);
        let mut repost_of = None;
        if let Some(memory) = &self.memory {
            let r = pack.reputation;
            if let Some(hit) =
                memory.reputation_hit(&signals.contacts, r.weight_per_post, r.max_posts)
            {
                outcome.weight_sum += hit.weight;
                outcome.hits.push(hit);
            }
            repost_of = memory.near_duplicate(simhash(&norm.text), &post.id).map(
                |(post_id, similarity)| RepostNote {
                    post_id,
                    similarity,
                },
            );
        }
        let rules_elapsed = started.elapsed();
        StageTimed {
            stage: "rules",
            elapsed: rules_elapsed,
        }
        .emit();
        Ruled {
            text: text.to_string(),
            key,
            started,
            signals,
            language: language.map(|l| l.code),
            outcome,
            repost_of,
            rules_elapsed,
        }
    }

    /// The model's probability for each text, in one request, and how long the request took;
    /// `None` for every text when the model is absent or fails.
    fn model_scores(&self, texts: &[&str], posts: &[Post]) -> (Vec<Option<f64>>, Duration) {
        let Some(model) = &self.model else {
            return (vec![None; texts.len()], Duration::ZERO);
        };
        if texts.is_empty() {
            return (Vec::new(), Duration::ZERO);
        }
        let started = Instant::now();
        let scores = match model.score_batch(texts) {
            Ok(scores) => scores.into_iter().map(Some).collect(),
            Err(error) => {
                let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
                tracing::warn!(post_ids = ?ids, %error, "model failed; verdicts are rules-only");
                vec![None; texts.len()]
            }
        };
        let elapsed = started.elapsed();
        StageTimed {
            stage: "model",
            elapsed,
        }
        .emit();
        (scores, elapsed)
    }

    /// Fuse rules and model into the verdict, explain a flagged one, remember it.
    fn verdict(
        &self,
        pack: &RulePack,
        post: &Post,
        ruled: Ruled,
        model_score: Option<f64>,
        model_elapsed: Duration,
    ) -> Verdict {
        let text = ruled.text.as_str();
        let score = fuse::fused_score(&pack.fusion, ruled.outcome.weight_sum, model_score);
        let action = self.thresholds.action(score, model_score);
        let mut summary = fuse::summary(action, score, &ruled.outcome.hits, model_score);
        summary.extend(fuse::held_for_review(&self.thresholds, score, model_score));
        let mut verdict = Verdict {
            schema: VERDICT_SCHEMA.to_string(),
            post_id: post.id.clone(),
            score,
            action,
            explanation: Explanation {
                summary,
                text_basis: if text.len() == post.text.len() {
                    TextBasis::Text
                } else {
                    TextBasis::TitleNewlineText
                },
                rule_hits: ruled.outcome.hits,
                signals: ruled.signals,
                model_score,
                model_used: model_score.is_some(),
                language: ruled.language,
                repost_of: ruled.repost_of,
                model_evidence: Vec::new(),
            },
            versions: Versions {
                service: SERVICE_VERSION.to_string(),
                rule_pack: pack.version().to_string(),
                model: self.model_version().map(str::to_string),
            },
            timing: Timing {
                rules_us: micros(ruled.rules_elapsed),
                model_us: micros(model_elapsed),
                total_us: 0,
            },
            scored_at: now_rfc3339(),
            post: None,
        };
        if verdict.action != crate::message::Action::Allow
            && let (Some(model), Some(p)) = (&self.model, model_score)
        {
            let explain_started = Instant::now();
            verdict.explanation.model_evidence =
                occlusion(model.as_ref(), text, p, self.explain_spans);
            StageTimed {
                stage: "model_explain",
                elapsed: explain_started.elapsed(),
            }
            .emit();
        }
        verdict.timing.total_us = micros(ruled.started.elapsed());
        StageTimed {
            stage: "score_total",
            elapsed: ruled.started.elapsed(),
        }
        .emit();
        if let Some(memory) = &self.memory {
            memory.remember(ruled.key, &verdict);
        }
        self.emit_scored(&verdict);
        with_post(verdict, post)
    }

    /// Apply a reviewer's decision to contact reputation.
    pub fn apply_feedback(&self, feedback: &crate::message::Feedback) {
        if let Some(memory) = &self.memory {
            memory.apply_feedback(feedback);
        }
    }

    fn emit_scored(&self, verdict: &Verdict) {
        PostScored {
            post_id: &verdict.post_id,
            action: verdict.action,
            score: verdict.score,
            rule_ids: verdict
                .explanation
                .rule_hits
                .iter()
                .map(|h| h.rule_id.as_str())
                .collect(),
            repost: verdict.explanation.repost_of.is_some(),
        }
        .emit();
    }
}

/// Sentence-level occlusion: score the text without each of its longest sentences (at most
/// `max_spans` extra inferences) and keep those whose removal lowers the probability.
fn occlusion(
    model: &dyn Classifier,
    text: &str,
    full: f64,
    max_spans: usize,
) -> Vec<ModelEvidence> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？' | '।') {
            let end = i + c.len_utf8();
            if text[start..end].trim().chars().count() >= 8 {
                spans.push((start, end));
            }
            start = end;
        }
    }
    if text[start..].trim().chars().count() >= 8 {
        spans.push((start, text.len()));
    }
    if spans.len() < 2 {
        return Vec::new();
    }
    spans.sort_by_key(|(s, e)| std::cmp::Reverse(e - s));
    spans.truncate(max_spans);
    // Every variant in one request: the batching queue runs them together.
    let variants: Vec<String> = spans
        .iter()
        .map(|&(s, e)| format!("{}{}", &text[..s], &text[e..]))
        .collect();
    let Ok(scores) = model.score_batch(&variants.iter().map(String::as_str).collect::<Vec<_>>())
    else {
        return Vec::new();
    };
    let mut evidence: Vec<ModelEvidence> = spans
        .into_iter()
        .zip(scores)
        .filter_map(|((s, e), p)| {
            let delta = ((full - p) * 1e6).round() / 1e6;
            // Trim whitespace so the span highlights the sentence itself.
            let (ts, te) = (
                s + (text[s..e].len() - text[s..e].trim_start().len()),
                s + text[s..e].trim_end().len(),
            );
            let ev = crate::normalize::evidence_from_bytes(text, ts, te);
            (delta > 0.0).then_some(ModelEvidence {
                start: ev.start,
                end: ev.end,
                text: ev.text,
                delta,
            })
        })
        .collect();
    evidence.sort_by(|a, b| b.delta.total_cmp(&a.delta));
    evidence
}

/// Where one post of a `score_many` call stands after the rules.
enum Stage {
    /// A repost of a remembered text: the remembered verdict, reused.
    Done(Box<Verdict>),
    /// The same text as an earlier post of this call (its index); scored once.
    RepeatOf(usize, Instant),
    /// Rules done; waiting for the model.
    Ruled(Box<Ruled>),
}

/// A post's rule results, kept until the model has scored it.
struct Ruled {
    text: String,
    key: [u8; 32],
    started: Instant,
    signals: crate::message::Signals,
    language: Option<String>,
    outcome: crate::rules::RuleOutcome,
    repost_of: Option<RepostNote>,
    rules_elapsed: Duration,
}

fn repost_key(pack_version: &str, normalized: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(pack_version.as_bytes());
    h.update([0]);
    // Whitespace differences do not make a new ad.
    for word in normalized.split_whitespace() {
        h.update(word.as_bytes());
        h.update([b' ']);
    }
    h.finalize().into()
}

/// Flagged verdicts carry the post so reviewers see what was judged; allow verdicts stay small.
fn with_post(mut verdict: Verdict, post: &Post) -> Verdict {
    verdict.post = (verdict.action != crate::message::Action::Allow).then(|| post.into());
    verdict
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
