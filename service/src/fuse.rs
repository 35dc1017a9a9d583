//! Fuse: rule weights and the model's score -> one calibrated likelihood, an action and the
//! one-sentence summary a reviewer reads first. Logistic fusion, so a model score slots in as
//! one more additive term without changing the verdict schema.

use crate::message::{Action, RuleHit};
use crate::rules::FusionParams;

/// Score cut-offs for review and block.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub review: f64,
    pub block: f64,
    /// A post is blocked only if the model, when it ran, scores it at least this; otherwise a
    /// blocking score goes to review. Rules and model disagreeing is a case for a person: the
    /// posts that trip it are warnings and survivor accounts that list every red flag.
    pub block_min_model: f64,
}

impl Thresholds {
    pub fn action(&self, score: f64, model_score: Option<f64>) -> Action {
        if score >= self.block && self.disagreeing_model_score(model_score).is_none() {
            Action::Block
        } else if score >= self.review {
            Action::Review
        } else {
            Action::Allow
        }
    }

    /// The model's score, when the model ran and scores the post below `block_min_model`.
    fn disagreeing_model_score(&self, model_score: Option<f64>) -> Option<f64> {
        model_score.filter(|&m| m < self.block_min_model)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// `sigmoid(bias + sum(rule weights) + model_weight * logit(model) + model_bias)`.
pub fn fused_score(params: &FusionParams, rule_weight_sum: f64, model_score: Option<f64>) -> f64 {
    let model_term =
        model_score.map_or(0.0, |p| params.model_weight * logit(p) + params.model_bias);
    let score = sigmoid(params.bias + rule_weight_sum + model_term);
    // Rounded so the same post always serialises the same way.
    (score * 1e6).round() / 1e6
}

/// Why a blocking score was only sent to review, appended to the summary.
pub fn held_for_review(t: &Thresholds, score: f64, model_score: Option<f64>) -> Option<String> {
    let m = t
        .disagreeing_model_score(model_score)
        .filter(|_| score >= t.block)?;
    Some(format!(
        " Not blocked: the classifier alone scores it {m:.2}, below {:.2}.",
        t.block_min_model
    ))
}

/// One sentence: the verdict and its strongest reasons.
pub fn summary(action: Action, score: f64, hits: &[RuleHit], model_score: Option<f64>) -> String {
    let mut red: Vec<&RuleHit> = hits.iter().filter(|h| h.weight > 0.0).collect();
    red.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    let counter: Vec<&RuleHit> = hits.iter().filter(|h| h.weight < 0.0).collect();
    let reasons = red
        .iter()
        .take(3)
        .map(|h| h.reason.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let model = model_score
        .map(|m| format!(", model {m:.2}"))
        .unwrap_or_default();
    let counter_note = if counter.is_empty() {
        String::new()
    } else {
        format!(
            " Counter-signals: {}.",
            counter
                .iter()
                .map(|h| h.reason.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    match action {
        Action::Block | Action::Review => {
            let verdict = if action == Action::Block {
                "Likely scam-compound recruitment ad"
            } else {
                "Possible scam-compound recruitment ad, needs review"
            };
            let more = red.len().saturating_sub(3);
            let more = if more > 0 {
                format!(" (+{more} more red flags)")
            } else {
                String::new()
            };
            format!("{verdict} (score {score:.2}{model}): {reasons}{more}.{counter_note}")
        }
        Action::Allow if red.is_empty() => {
            format!("No recruitment-fraud red flags found (score {score:.2}{model}).{counter_note}")
        }
        Action::Allow => format!(
            "Below the review threshold (score {score:.2}{model}) despite: {reasons}.{counter_note}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_is_monotone_and_bounded() {
        let p = FusionParams {
            bias: -3.0,
            model_weight: 1.0,
            model_bias: 0.0,
            rules_scale_with_model: 1.0,
        };
        assert!(fused_score(&p, 0.0, None) < 0.05);
        assert!(fused_score(&p, 6.0, None) > 0.95);
        assert!(fused_score(&p, 2.0, Some(0.9)) > fused_score(&p, 2.0, Some(0.1)));
        assert!((0.0..=1.0).contains(&fused_score(&p, 1e9, Some(1.0))));
        assert!((0.0..=1.0).contains(&fused_score(&p, -1e9, Some(0.0))));
    }

    #[test]
    fn thresholds_pick_actions() {
        let t = Thresholds {
            review: 0.5,
            block: 0.85,
            block_min_model: 0.5,
        };
        assert_eq!(t.action(0.49, None), Action::Allow);
        assert_eq!(t.action(0.5, None), Action::Review);
        assert_eq!(t.action(0.9, None), Action::Block);
        assert_eq!(t.action(0.9, Some(0.5)), Action::Block);
    }

    #[test]
    fn a_blocking_score_the_model_disagrees_with_goes_to_review() {
        let t = Thresholds {
            review: 0.5,
            block: 0.85,
            block_min_model: 0.5,
        };
        assert_eq!(t.action(0.95, Some(0.14)), Action::Review);
        assert_eq!(t.action(0.4, Some(0.14)), Action::Allow);
        let off = Thresholds {
            block_min_model: 0.0,
            ..t
        };
        assert_eq!(off.action(0.95, Some(0.14)), Action::Block);
        let note = held_for_review(&t, 0.95, Some(0.14)).expect("a reason for review");
        assert!(note.contains("0.14") && note.contains("0.50"), "{note}");
        assert_eq!(held_for_review(&t, 0.95, Some(0.9)), None);
        assert_eq!(held_for_review(&t, 0.6, Some(0.14)), None);
        assert_eq!(held_for_review(&t, 0.95, None), None);
    }
}
