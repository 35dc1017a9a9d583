//! Rules: the versioned rule pack (`models/rules/pack.toml`) and the engine that runs it.
//! Rules are data: keyword sets (one Aho-Corasick automaton for the whole pack), regexes (one
//! RegexSet pre-filter), conditions on extracted signals, and conditions on other rules. A
//! pack is validated completely when loaded; a bad pack is an error, never half-loaded.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};
use serde::Deserialize;
use sha2::Digest;

use crate::message::{ContactKind, Evidence, RuleHit, Signals};
use crate::normalize::{NormalizedText, normalize_term};
use crate::signals::{CurrencyRates, Gazetteer, PlaceEntry};

/// Everything that can go wrong loading a rule pack, each with the rule or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum RulePackError {
    #[error("cannot read rule pack {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("rule pack is not valid TOML or has unknown/missing fields: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("rule pack has two rules with id {0:?}")]
    DuplicateId(String),
    #[error("rule {rule:?}: pattern {pattern:?} does not compile: {source}")]
    BadRegex {
        rule: String,
        pattern: String,
        source: regex::Error,
    },
    #[error("rule {rule:?}: {problem}")]
    Invalid { rule: String, problem: String },
    #[error("rule pack: {0}")]
    Pack(String),
    #[error("rule pack: keyword automaton: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
}

/// On-disk shape of a rule pack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    pack: PackMeta,
    fusion: FusionParams,
    currency_rates: CurrencyRates,
    #[serde(default)]
    reputation: ReputationParams,
    #[serde(default)]
    places: Vec<PlaceEntry>,
    rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    pub version: String,
    pub description: String,
}

/// How rule weights and the model score combine into one probability. Rules only:
/// `sigmoid(bias + sum(weights))`. With a model:
/// `sigmoid(bias + model_bias + rules_scale_with_model * sum(weights) + model_weight * logit(model))`.
/// `scamwatch eval --fit-fusion` fits the three model-side parameters.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusionParams {
    pub bias: f64,
    #[serde(default = "one")]
    pub model_weight: f64,
    #[serde(default)]
    pub model_bias: f64,
    #[serde(default = "one")]
    pub rules_scale_with_model: f64,
}

/// How much a contact seen in earlier blocked posts adds: `weight_per_post` per post, counting
/// at most `max_posts`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReputationParams {
    pub weight_per_post: f64,
    pub max_posts: u32,
}

impl Default for ReputationParams {
    fn default() -> Self {
        Self {
            weight_per_post: 0.8,
            max_posts: 3,
        }
    }
}

fn one() -> f64 {
    1.0
}

/// One rule as written in the pack.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub description: String,
    pub weight: f64,
    /// Languages the rule is written for ("*" = any); informational and used in reports.
    #[serde(default = "any_lang")]
    pub langs: Vec<String>,
    /// Reviewer-facing reason. Placeholders: {matched} {salary} {places} {contacts}.
    pub reason: String,
    /// Any of these terms (matched after normalisation).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Terms that must stand as whole words (short Latin terms like "tg", "wa", "line").
    #[serde(default)]
    pub words: Vec<String>,
    /// Regexes run on the normalised text.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Distinct terms that must match (default 1).
    #[serde(default = "one_usize")]
    pub min_matches: usize,
    /// Fire when NONE of the terms match (e.g. "no company name"); needs `requires_any`.
    #[serde(default)]
    pub absent: bool,
    /// Signal conditions: at least one contact of these kinds.
    #[serde(default)]
    pub contact_kinds: Vec<ContactKind>,
    /// Signal condition: some salary converts to at least this many USD per month.
    #[serde(default)]
    pub min_usd_per_month: Option<f64>,
    /// Signal condition: some place of these gazetteer kinds ("*" = any place).
    #[serde(default)]
    pub place_kinds: Vec<String>,
    /// At least one of these (earlier) rules must have fired.
    #[serde(default)]
    pub requires_any: Vec<String>,
    /// None of these (earlier) rules may have fired.
    #[serde(default)]
    pub unless_any: Vec<String>,
}

fn any_lang() -> Vec<String> {
    vec!["*".into()]
}

fn one_usize() -> usize {
    1
}

/// A compiled rule.
#[derive(Debug)]
struct Rule {
    spec: RuleSpec,
    requires_any: Vec<usize>,
    unless_any: Vec<usize>,
    has_terms: bool,
}

/// A validated, compiled rule pack. Immutable: reloads build a new one and swap it in.
#[derive(Debug)]
pub struct RulePack {
    pub meta: PackMeta,
    /// SHA-256 of the text the pack was parsed from (reload compares against it).
    pub source_digest: [u8; 32],
    pub fusion: FusionParams,
    pub reputation: ReputationParams,
    pub rates: CurrencyRates,
    pub gazetteer: Gazetteer,
    rules: Vec<Rule>,
    keywords: Option<AhoCorasick>,
    /// For each automaton pattern: (rule index, whole-word?).
    keyword_owners: Vec<Vec<(usize, bool)>>,
    regex_set: RegexSet,
    regexes: Vec<(Regex, usize)>,
}

/// What one rule's terms matched: distinct term ids, and spans in normalised bytes.
#[derive(Debug, Clone, Default)]
struct TermMatches {
    terms: BTreeSet<usize>,
    spans: Vec<(usize, usize)>,
}

/// The rules that fired on one post.
#[derive(Debug, Clone, Default)]
pub struct RuleOutcome {
    pub hits: Vec<RuleHit>,
    /// Sum of the weights of the rules that fired.
    pub weight_sum: f64,
}

impl RulePack {
    pub fn load(path: &Path) -> Result<Self, RulePackError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulePackError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, RulePackError> {
        let file: PackFile = toml::from_str(text)?;
        let mut pack = Self::compile(file)?;
        pack.source_digest = sha2::Sha256::digest(text.as_bytes()).into();
        Ok(pack)
    }

    pub fn version(&self) -> &str {
        &self.meta.version
    }

    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.spec.id.as_str())
    }

    pub fn rule_spec(&self, id: &str) -> Option<&RuleSpec> {
        self.rules.iter().map(|r| &r.spec).find(|s| s.id == id)
    }

    fn compile(file: PackFile) -> Result<Self, RulePackError> {
        if file.pack.version.trim().is_empty() {
            return Err(RulePackError::Pack("pack.version is empty".into()));
        }
        if file.rules.is_empty() {
            return Err(RulePackError::Pack("pack has no rules".into()));
        }
        for (code, rate) in &file.currency_rates.usd_per_unit {
            if !(rate.is_finite() && *rate > 0.0) {
                return Err(RulePackError::Pack(format!(
                    "currency rate for {code} must be positive"
                )));
            }
        }
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut rules = Vec::with_capacity(file.rules.len());
        let mut terms: Vec<String> = Vec::new();
        let mut term_index: HashMap<String, usize> = HashMap::new();
        let mut keyword_owners: Vec<Vec<(usize, bool)>> = Vec::new();
        let mut regex_sources = Vec::new();
        let mut regexes = Vec::new();
        for (i, spec) in file.rules.into_iter().enumerate() {
            let invalid = |problem: String| RulePackError::Invalid {
                rule: spec.id.clone(),
                problem,
            };
            if spec.id.trim().is_empty() {
                return Err(RulePackError::Pack(format!("rule #{i} has an empty id")));
            }
            if index.contains_key(&spec.id) {
                return Err(RulePackError::DuplicateId(spec.id));
            }
            if !spec.weight.is_finite() {
                return Err(invalid("weight must be a finite number".into()));
            }
            let resolve = |ids: &[String], field: &str| -> Result<Vec<usize>, RulePackError> {
                ids.iter()
                    .map(|id| {
                        index
                            .get(id)
                            .copied()
                            .ok_or_else(|| RulePackError::Invalid {
                                rule: spec.id.clone(),
                                problem: format!(
                                    "{field} names {id:?}, which is not an earlier rule"
                                ),
                            })
                    })
                    .collect()
            };
            let requires_any = resolve(&spec.requires_any, "requires_any")?;
            let unless_any = resolve(&spec.unless_any, "unless_any")?;
            let has_terms =
                !(spec.keywords.is_empty() && spec.words.is_empty() && spec.patterns.is_empty());
            let has_signal = !spec.contact_kinds.is_empty()
                || spec.min_usd_per_month.is_some()
                || !spec.place_kinds.is_empty();
            if !has_terms && !has_signal && requires_any.is_empty() {
                return Err(invalid("matches nothing: give keywords, words, patterns, a signal condition or requires_any".into()));
            }
            if spec.absent && (!has_terms || requires_any.is_empty()) {
                return Err(invalid(
                    "absent = true needs terms to look for and requires_any to scope it".into(),
                ));
            }
            if spec.min_matches == 0 {
                return Err(invalid("min_matches must be at least 1".into()));
            }
            for (list, whole_word) in [(&spec.keywords, false), (&spec.words, true)] {
                for term in list {
                    let norm = normalize_term(term);
                    if norm.trim().is_empty() {
                        return Err(invalid(format!(
                            "term {term:?} is empty after normalisation"
                        )));
                    }
                    let t = *term_index.entry(norm.clone()).or_insert_with(|| {
                        terms.push(norm);
                        keyword_owners.push(Vec::new());
                        terms.len() - 1
                    });
                    if !keyword_owners[t].contains(&(i, whole_word)) {
                        keyword_owners[t].push((i, whole_word));
                    }
                }
            }
            for pattern in &spec.patterns {
                let compiled = regex::RegexBuilder::new(pattern)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|source| RulePackError::BadRegex {
                        rule: spec.id.clone(),
                        pattern: pattern.clone(),
                        source,
                    })?;
                regexes.push((compiled, i));
                regex_sources.push(pattern.clone());
            }
            index.insert(spec.id.clone(), i);
            rules.push(Rule {
                spec,
                requires_any,
                unless_any,
                has_terms,
            });
        }
        let keywords = if terms.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&terms)?)
        };
        let regex_set = RegexSet::new(&regex_sources)
            .map_err(|e| RulePackError::Pack(format!("regex set: {e}")))?;
        Ok(Self {
            meta: file.pack,
            source_digest: [0; 32],
            fusion: file.fusion,
            reputation: file.reputation,
            rates: file.currency_rates,
            gazetteer: Gazetteer::new(file.places)?,
            rules,
            keywords,
            keyword_owners,
            regex_set,
            regexes,
        })
    }

    /// Run the rules over one post. With a (reliably detected) `language`, rules written for
    /// other languages are skipped; without one, every rule runs.
    pub fn evaluate(
        &self,
        norm: &NormalizedText<'_>,
        signals: &Signals,
        language: Option<&str>,
    ) -> RuleOutcome {
        let text = &norm.text;
        // term matches per rule: (distinct term ids, evidence spans in normalised bytes)
        let mut matched: Vec<TermMatches> = vec![TermMatches::default(); self.rules.len()];
        if let Some(ac) = &self.keywords {
            for m in ac.find_overlapping_iter(text) {
                let pid = m.pattern().as_usize();
                for &(rule, whole_word) in &self.keyword_owners[pid] {
                    if whole_word && !is_whole_word(text, m.start(), m.end()) {
                        continue;
                    }
                    matched[rule].terms.insert(pid);
                    matched[rule].spans.push((m.start(), m.end()));
                }
            }
        }
        for set_index in self.regex_set.matches(text).iter() {
            let (re, rule) = &self.regexes[set_index];
            for m in re.find_iter(text).take(16) {
                if m.start() == m.end() {
                    continue;
                }
                matched[*rule].terms.insert(usize::MAX - set_index);
                matched[*rule].spans.push((m.start(), m.end()));
            }
        }

        let mut fired = vec![false; self.rules.len()];
        let mut outcome = RuleOutcome::default();
        for (i, rule) in self.rules.iter().enumerate() {
            let spec = &rule.spec;
            if let Some(lang) = language
                && !spec.langs.iter().any(|l| l == "*" || l == lang)
            {
                continue;
            }
            let TermMatches { terms, spans } = &matched[i];
            let term_ok = if !rule.has_terms {
                true
            } else if spec.absent {
                terms.is_empty()
            } else {
                terms.len() >= spec.min_matches
            };
            if !term_ok
                || (!rule.requires_any.is_empty() && !rule.requires_any.iter().any(|&r| fired[r]))
                || rule.unless_any.iter().any(|&r| fired[r])
            {
                continue;
            }
            let Some(signal_evidence) = signal_conditions(spec, signals) else {
                continue;
            };
            fired[i] = true;
            let mut evidence: Vec<Evidence> = if spec.absent {
                Vec::new()
            } else {
                merge_spans(spans)
                    .into_iter()
                    .map(|(s, e)| norm.evidence(s, e))
                    .collect()
            };
            evidence.extend(signal_evidence);
            evidence.sort_by_key(|e| (e.start, e.end));
            evidence.dedup();
            outcome.weight_sum += spec.weight;
            outcome.hits.push(RuleHit {
                rule_id: spec.id.clone(),
                weight: spec.weight,
                reason: render_reason(&spec.reason, &evidence, signals),
                evidence,
            });
        }
        outcome
    }
}

fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// Sort and merge overlapping spans so the reviewer sees each stretch of text once.
fn merge_spans(spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut sorted = spans.to_vec();
    sorted.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in sorted {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// `None` when a signal condition fails; otherwise the evidence of the signals that satisfied it.
fn signal_conditions(spec: &RuleSpec, signals: &Signals) -> Option<Vec<Evidence>> {
    let mut evidence = Vec::new();
    if !spec.contact_kinds.is_empty() {
        let found: Vec<_> = signals
            .contacts
            .iter()
            .filter(|c| spec.contact_kinds.contains(&c.kind))
            .collect();
        if found.is_empty() {
            return None;
        }
        evidence.extend(found.iter().map(|c| c.evidence.clone()));
    }
    if let Some(min) = spec.min_usd_per_month {
        let found: Vec<_> = signals
            .salaries
            .iter()
            .filter(|s| s.usd_per_month.is_some_and(|v| v >= min))
            .collect();
        if found.is_empty() {
            return None;
        }
        evidence.extend(found.iter().map(|s| s.evidence.clone()));
    }
    if !spec.place_kinds.is_empty() {
        let any = spec.place_kinds.iter().any(|k| k == "*");
        let found: Vec<_> = signals
            .places
            .iter()
            .filter(|p| any || spec.place_kinds.contains(&p.kind))
            .collect();
        if found.is_empty() {
            return None;
        }
        evidence.extend(found.iter().map(|p| p.evidence.clone()));
    }
    Some(evidence)
}

fn quote_list(items: impl IntoIterator<Item = String>) -> String {
    let mut seen = HashSet::new();
    let items: Vec<String> = items
        .into_iter()
        .filter(|s| seen.insert(s.to_lowercase()))
        .collect();
    let shown: Vec<String> = items
        .iter()
        .take(3)
        .map(|s| format!("\u{201c}{}\u{201d}", s.trim()))
        .collect();
    let more = items.len().saturating_sub(3);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn render_reason(template: &str, evidence: &[Evidence], signals: &Signals) -> String {
    let mut out = template.to_string();
    if out.contains("{matched}") {
        out = out.replace(
            "{matched}",
            &quote_list(evidence.iter().map(|e| e.text.clone())),
        );
    }
    if out.contains("{salary}") {
        let best = signals
            .salaries
            .iter()
            .filter_map(|s| s.usd_per_month.map(|v| (v, s)))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let text = best.map_or_else(
            || "an unstated salary".to_string(),
            |(usd, s)| {
                format!(
                    "\u{201c}{}\u{201d} (about USD {:.0}/month)",
                    s.evidence.text.trim(),
                    usd
                )
            },
        );
        out = out.replace("{salary}", &text);
    }
    if out.contains("{places}") {
        out = out.replace(
            "{places}",
            &quote_list(signals.places.iter().map(|p| p.name.clone())),
        );
    }
    if out.contains("{contacts}") {
        let contacts = signals
            .contacts
            .iter()
            .map(|c| format!("{} {}", c.kind.as_str(), c.value));
        out = out.replace("{contacts}", &quote_list(contacts));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals;

    const PACK: &str = r#"
[pack]
version = "test-1"
description = "test"
[fusion]
bias = -3.0
[currency_rates]
as_of = "2026-11-01"
usd_per_unit = { USD = 1.0 }
[[places]]
name = "Sihanoukville"
country = "KH"
kind = "city"
aliases = ["西港", "preah sihanouk"]
[[rules]]
id = "contact.app"
description = "messaging app"
weight = 1.0
reason = "contact only through {matched}"
keywords = ["telegram", "whatsapp"]
words = ["tg"]
[[rules]]
id = "salary.high"
description = "high pay"
weight = 1.5
reason = "offers {salary}"
min_usd_per_month = 1000.0
[[rules]]
id = "place.vague"
description = "vague destination"
weight = 1.0
reason = "destination named only as {places}"
place_kinds = ["city"]
[[rules]]
id = "employer.none"
description = "no company"
weight = 0.5
reason = "no company name"
keywords = ["co., ltd", "inc."]
absent = true
requires_any = ["contact.app"]
"#;

    fn run(text: &str) -> RuleOutcome {
        let pack = RulePack::parse(PACK).unwrap();
        let norm = NormalizedText::new(text);
        let sig = signals::extract(&norm, &pack.gazetteer, &pack.rates);
        pack.evaluate(&norm, &sig, None)
    }

    fn ids(o: &RuleOutcome) -> Vec<&str> {
        o.hits.iter().map(|h| h.rule_id.as_str()).collect()
    }

    #[test]
    fn fires_rules_with_evidence_and_reasons() {
        let text = "Work in 西港! USD 1,500/month, contact Т e l e g r a m";
        let o = run(text);
        assert_eq!(
            ids(&o),
            ["contact.app", "salary.high", "place.vague", "employer.none"]
        );
        assert_eq!(o.weight_sum, 4.0);
        let chars: Vec<char> = text.chars().collect();
        for hit in &o.hits {
            for ev in &hit.evidence {
                assert_eq!(
                    chars[ev.start..ev.end].iter().collect::<String>(),
                    ev.text,
                    "{}",
                    hit.rule_id
                );
            }
        }
        assert_eq!(o.hits[0].evidence[0].text, "Т e l e g r a m");
        assert_eq!(
            o.hits[0].reason,
            "contact only through \u{201c}Т e l e g r a m\u{201d}"
        );
        assert!(
            o.hits[1].reason.contains("USD 1500/month"),
            "{}",
            o.hits[1].reason
        );
        assert_eq!(
            o.hits[2].reason,
            "destination named only as \u{201c}Sihanoukville\u{201d}"
        );
    }

    #[test]
    fn whole_words_and_absence() {
        assert!(
            run("settings are stored").hits.is_empty(),
            "tg inside a word must not fire"
        );
        assert_eq!(ids(&run("dm me on TG")), ["contact.app", "employer.none"]);
        assert_eq!(ids(&run("ABC Co., Ltd. whatsapp")), ["contact.app"]);
    }

    #[test]
    fn invalid_packs_fail_with_clear_errors() {
        let dup = PACK.replace("id = \"salary.high\"", "id = \"contact.app\"");
        assert!(
            matches!(RulePack::parse(&dup), Err(RulePackError::DuplicateId(id)) if id == "contact.app")
        );
        let bad_re = PACK.replace("min_usd_per_month = 1000.0", "patterns = [\"(unclosed\"]");
        assert!(matches!(
            RulePack::parse(&bad_re),
            Err(RulePackError::BadRegex { .. })
        ));
        let unknown = PACK.replace("weight = 1.5", "weight = 1.5\nwieght = 2");
        let err = RulePack::parse(&unknown).unwrap_err().to_string();
        assert!(err.contains("wieght"), "{err}");
        let forward = PACK.replace(
            "requires_any = [\"contact.app\"]",
            "requires_any = [\"nope\"]",
        );
        assert!(matches!(
            RulePack::parse(&forward),
            Err(RulePackError::Invalid { .. })
        ));
    }

    #[test]
    fn rules_for_other_languages_are_skipped_when_the_language_is_known() {
        let zh_only = PACK.replace(
            "reason = \"destination named only as {places}\"",
            "reason = \"destination named only as {places}\"\nlangs = [\"zh\"]",
        );
        let pack = RulePack::parse(&zh_only).unwrap();
        let norm = NormalizedText::new("Work in 西港");
        let sig = signals::extract(&norm, &pack.gazetteer, &pack.rates);
        let fires = |lang| {
            pack.evaluate(&norm, &sig, lang)
                .hits
                .iter()
                .any(|h| h.rule_id == "place.vague")
        };
        assert!(fires(None), "unknown language: every rule runs");
        assert!(fires(Some("zh")));
        assert!(!fires(Some("en")));
    }
}
