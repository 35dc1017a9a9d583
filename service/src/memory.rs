//! Memory across posts (moka caches, bounded and expiring): verdicts of exact reposts,
//! near-duplicate ads by SimHash of their normalised text, and contact reputation: how many
//! earlier posts that scored `block` (or reviewers confirmed as fraud) carried the same handle,
//! number or link.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use crate::message::{Contact, ContactKind, Decision, Feedback, RuleHit, Verdict};

/// Bits of 64 that may differ for two texts to count as near-duplicates (similarity >= 0.95).
/// Catches reposts with other numbers, handles' digits, emoji or spacing (0 bits after
/// normalisation and digit masking); a reworded sentence in a short ad moves ~7 bits and is
/// not caught (measured), which would need more bands or MinHash.
const MAX_HAMMING: u32 = 3;

/// 64-bit SimHash over the words and word bigrams of normalised text, digits masked (a changed
/// phone number or price is the same ad). Changing a few words flips few bits; unrelated texts
/// differ in about half.
pub fn simhash(normalized: &str) -> u64 {
    let masked: String = normalized
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect();
    let words: Vec<&str> = masked.split_whitespace().collect();
    let mut weights = [0i32; 64];
    let mut add = |feature: (&str, &str)| {
        let mut h = DefaultHasher::new();
        feature.hash(&mut h);
        let bits = h.finish();
        for (i, w) in weights.iter_mut().enumerate() {
            *w += if bits >> i & 1 == 1 { 1 } else { -1 };
        }
    };
    if words.is_empty() {
        return 0;
    }
    words.iter().for_each(|w| add((w, "")));
    words.windows(2).for_each(|w| add((w[0], w[1])));
    weights
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, w)| if *w > 0 { acc | 1 << i } else { acc })
}

/// A post remembered for near-duplicate lookups.
#[derive(Clone)]
struct Seen {
    hash: u64,
    post_id: String,
}

/// A verdict remembered for reposts of the same normalised text.
#[derive(Clone)]
pub struct CachedVerdict {
    pub post_id: String,
    pub verdict: Arc<Verdict>,
}

/// Repost cache, near-duplicate index and contact reputation.
pub struct Memory {
    /// Digest of (rule pack version, normalised text) -> the verdict it got.
    reposts: Cache<[u8; 32], CachedVerdict>,
    /// Four 16-bit bands of the SimHash: two texts within 3 bits share at least one band.
    bands: Cache<(u8, u16), Seen>,
    /// Contact (kind:value) -> number of `block` verdicts it appeared in.
    reputation: Cache<String, u32>,
}

impl Memory {
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            reposts: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            bands: Cache::builder()
                .max_capacity(capacity * 4)
                .time_to_live(ttl)
                .build(),
            reputation: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The verdict an identical text got before.
    pub fn repost(&self, key: &[u8; 32]) -> Option<CachedVerdict> {
        self.reposts.get(key)
    }

    /// Remember a verdict for reposts, and count it against its contacts if it blocked.
    pub fn remember(&self, key: [u8; 32], verdict: &Verdict) {
        self.record_if_blocked(verdict);
        self.reposts.insert(
            key,
            CachedVerdict {
                post_id: verdict.post_id.clone(),
                verdict: Arc::new(verdict.clone()),
            },
        );
    }

    /// Count a blocked verdict (fresh or reused) against each of its contacts.
    pub fn record_if_blocked(&self, verdict: &Verdict) {
        if verdict.action == crate::message::Action::Block {
            self.record_blocked(&verdict.explanation.signals.contacts);
        }
    }

    /// Look up a near-duplicate of `hash` posted under another id, then remember this post.
    /// Returns the earlier post and the similarity (1 - differing bits / 64).
    pub fn near_duplicate(&self, hash: u64, post_id: &str) -> Option<(String, f64)> {
        let bands = (0..4u8).map(|b| (b, (hash >> (16 * b)) as u16));
        let mut best: Option<(String, u32)> = None;
        for key in bands.clone() {
            if let Some(seen) = self.bands.get(&key) {
                let distance = (seen.hash ^ hash).count_ones();
                if seen.post_id != post_id
                    && distance <= MAX_HAMMING
                    && best.as_ref().is_none_or(|b| distance < b.1)
                {
                    best = Some((seen.post_id, distance));
                }
            }
        }
        for key in bands {
            self.bands.insert(
                key,
                Seen {
                    hash,
                    post_id: post_id.to_string(),
                },
            );
        }
        best.map(|(id, d)| (id, 1.0 - f64::from(d) / 64.0))
    }

    fn key(contact: &Contact) -> String {
        Self::kind_key(contact.kind, &contact.value)
    }

    fn kind_key(kind: ContactKind, value: &str) -> String {
        format!("{}:{}", kind.as_str(), value)
    }

    /// A rule hit naming the contacts already seen in blocked posts, weighted by how often
    /// (capped), or `None` when none was.
    pub fn reputation_hit(
        &self,
        contacts: &[Contact],
        weight_per_post: f64,
        max_posts: u32,
    ) -> Option<RuleHit> {
        let mut known: Vec<(&Contact, u32)> = Vec::new();
        for c in contacts {
            if let Some(n) = self.reputation.get(&Self::key(c))
                && !known.iter().any(|(k, _)| Self::key(k) == Self::key(c))
            {
                known.push((c, n));
            }
        }
        let strongest = known.iter().map(|(_, n)| *n).max()?;
        let names: Vec<String> = known
            .iter()
            .map(|(c, n)| {
                format!(
                    "{} {} ({} flagged post{})",
                    c.kind.as_str(),
                    c.value,
                    n,
                    if *n == 1 { "" } else { "s" }
                )
            })
            .collect();
        Some(RuleHit {
            rule_id: "memory.flagged_contact".into(),
            weight: weight_per_post * f64::from(strongest.min(max_posts)),
            reason: format!(
                "reuses a contact seen in earlier blocked posts: {}",
                names.join(", ")
            ),
            evidence: known.iter().map(|(c, _)| c.evidence.clone()).collect(),
        })
    }

    /// Count a blocked post against each of its contacts.
    pub fn record_blocked(&self, contacts: &[Contact]) {
        self.count(contacts.iter().map(Self::key));
    }

    fn count(&self, keys: impl Iterator<Item = String>) {
        let mut seen = std::collections::HashSet::new();
        for key in keys.filter(|k| seen.insert(k.clone())) {
            let n = self.reputation.get(&key).unwrap_or(0);
            self.reputation.insert(key, n.saturating_add(1));
        }
    }

    /// A reviewer's decision: confirmed fraud counts like a blocked post; "not fraud" clears
    /// the contacts' reputation; escalation changes nothing.
    pub fn apply_feedback(&self, feedback: &Feedback) {
        let keys = feedback
            .contacts
            .iter()
            .map(|c| Self::kind_key(c.kind, &c.value));
        match feedback.decision {
            Decision::Fraud => self.count(keys),
            Decision::NotFraud => keys.for_each(|k| self.reputation.invalidate(&k)),
            Decision::Escalate => return,
        }
        // Cached verdicts may quote the old reputation; decisions are rare next to posts.
        self.reposts.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Evidence, FeedbackContact};
    use crate::normalize::NormalizedText;

    fn contact(v: &str) -> Contact {
        Contact {
            kind: ContactKind::Telegram,
            value: v.into(),
            country: None,
            registered_domain: None,
            evidence: Evidence {
                start: 0,
                end: 1,
                text: "@".into(),
            },
        }
    }

    #[test]
    fn near_duplicates_are_found_and_unrelated_texts_are_not() {
        let m = Memory::new(1000, Duration::from_secs(60));
        let ad = "Urgent hiring customer service in Sihanoukville, salary 1500 USD per month, free food and housing, \
                  free flight ticket, no experience needed, age 18 to 35, contact telegram @hr_kh88 today";
        let changed = ad
            .replace("@hr_kh88", "@hr_kh99 🔥🔥")
            .replace("1500", "1800");
        let h1 = simhash(&NormalizedText::new(ad).text);
        let h2 = simhash(&NormalizedText::new(&changed).text);
        assert!(m.near_duplicate(h1, "a").is_none());
        let (id, similarity) = m
            .near_duplicate(h2, "b")
            .expect("changed handle is a near-duplicate");
        assert_eq!(id, "a");
        assert!(similarity >= 0.95, "{similarity}");
        let other = simhash(
            &NormalizedText::new(
                "Our bakery needs a part-time cashier for weekend shifts, apply in store",
            )
            .text,
        );
        assert!(m.near_duplicate(other, "c").is_none());
    }

    #[test]
    fn reputation_grows_with_blocked_posts_and_is_capped() {
        let m = Memory::new(1000, Duration::from_secs(60));
        assert!(m.reputation_hit(&[contact("x")], 0.8, 3).is_none());
        for _ in 0..5 {
            m.record_blocked(&[contact("x"), contact("x")]);
        }
        let hit = m
            .reputation_hit(&[contact("x"), contact("y")], 0.8, 3)
            .unwrap();
        assert!((hit.weight - 2.4).abs() < 1e-9, "capped at 3 posts");
        assert!(
            hit.reason.contains("telegram x (5 flagged posts)"),
            "{}",
            hit.reason
        );
    }

    #[test]
    fn reviewer_decisions_raise_and_clear_reputation() {
        let m = Memory::new(1000, Duration::from_secs(60));
        let feedback = |decision| Feedback {
            schema: "scamwatch.feedback.v1".into(),
            post_id: "p".into(),
            decision,
            reviewer: "r1".into(),
            decided_at: "2026-11-25T00:00:00Z".into(),
            note: None,
            labels: vec![],
            contacts: vec![FeedbackContact {
                kind: ContactKind::Telegram,
                value: "x".into(),
            }],
            verdict_score: None,
            rule_pack: None,
        };
        m.apply_feedback(&feedback(Decision::Escalate));
        assert!(m.reputation_hit(&[contact("x")], 0.8, 3).is_none());
        m.apply_feedback(&feedback(Decision::Fraud));
        assert!(m.reputation_hit(&[contact("x")], 0.8, 3).is_some());
        m.apply_feedback(&feedback(Decision::NotFraud));
        assert!(m.reputation_hit(&[contact("x")], 0.8, 3).is_none());
    }
}
