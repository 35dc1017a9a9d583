//! Eval: quality of the whole scorer (rules, model, fusion) on labelled posts. Precision,
//! recall, F1 and PR-AUC overall and per language, source and kind; calibration (ECE and a
//! reliability table); and per-rule precision/recall, including the rules that never fired.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::message::{Post, Verdict};

/// One labelled example (the training-data format: `id, source, lang, label, title, text, meta`).
#[derive(Debug, Clone, Deserialize)]
pub struct LabelledPost {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    pub label: u8,
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
}

impl LabelledPost {
    pub fn post(&self) -> Post {
        Post {
            schema: None,
            id: self.id.clone(),
            text: self.text.clone(),
            title: self.title.clone().filter(|t| !t.trim().is_empty()),
            platform: None,
            author_id: None,
            url: None,
            language_hint: self.lang.clone(),
            created_at: None,
            metadata: None,
        }
    }

    pub fn kind(&self) -> Option<String> {
        self.meta
            .as_ref()?
            .get("kind")?
            .as_str()
            .map(str::to_string)
    }
}

/// What eval keeps of each scored example.
#[derive(Debug, Clone)]
pub struct Scored {
    pub label: bool,
    pub score: f64,
    pub lang: String,
    pub source: String,
    pub kind: Option<String>,
    pub rules: Vec<String>,
    /// Sum of the fired rules' weights, and the model's probability: the fusion inputs.
    pub rule_weight_sum: f64,
    pub model_score: Option<f64>,
}

impl Scored {
    pub fn new(example: &LabelledPost, verdict: &Verdict) -> Self {
        Self {
            label: example.label == 1,
            score: verdict.score,
            lang: example
                .lang
                .clone()
                .or_else(|| verdict.explanation.language.clone())
                .unwrap_or_else(|| "?".into()),
            source: example.source.clone().unwrap_or_else(|| "?".into()),
            kind: example.kind(),
            rules: verdict
                .explanation
                .rule_hits
                .iter()
                .map(|h| h.rule_id.clone())
                .collect(),
            rule_weight_sum: verdict.explanation.rule_hits.iter().map(|h| h.weight).sum(),
            model_score: verdict.explanation.model_score,
        }
    }
}

/// Confusion counts at a threshold, and the rates derived from them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub n: usize,
    pub positives: usize,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// Share of negatives flagged.
    pub fp_rate: Option<f64>,
    /// Average precision (area under the precision-recall curve).
    pub pr_auc: Option<f64>,
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl Counts {
    pub fn of(items: &[&Scored], threshold: f64) -> Self {
        let mut c = Counts {
            n: items.len(),
            ..Default::default()
        };
        let mut negatives = 0;
        for s in items {
            let flagged = s.score >= threshold;
            match (s.label, flagged) {
                (true, true) => c.tp += 1,
                (true, false) => c.fn_ += 1,
                (false, true) => c.fp += 1,
                (false, false) => {}
            }
            c.positives += s.label as usize;
            negatives += !s.label as usize;
        }
        c.precision = ratio(c.tp, c.tp + c.fp);
        c.recall = ratio(c.tp, c.positives);
        c.f1 = match (c.precision, c.recall) {
            (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
        c.fp_rate = ratio(c.fp, negatives);
        c.pr_auc = average_precision(items);
        c
    }
}

/// Average precision: mean of precision at each positive, ranked by score (ties broken
/// pessimistically: negatives first).
pub fn average_precision(items: &[&Scored]) -> Option<f64> {
    let positives = items.iter().filter(|s| s.label).count();
    if positives == 0 {
        return None;
    }
    let mut ranked: Vec<&&Scored> = items.iter().collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.label.cmp(&b.label)));
    let (mut tp, mut sum) = (0usize, 0.0);
    for (i, s) in ranked.iter().enumerate() {
        if s.label {
            tp += 1;
            sum += tp as f64 / (i + 1) as f64;
        }
    }
    Some(sum / positives as f64)
}

/// One bin of the reliability table.
#[derive(Debug, Clone, Serialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub n: usize,
    pub mean_score: f64,
    pub fraction_positive: f64,
}

/// Expected calibration error over 10 equal-width bins, and the bins.
pub fn calibration(items: &[&Scored]) -> (f64, Vec<ReliabilityBin>) {
    let mut bins = Vec::new();
    let mut ece = 0.0;
    for b in 0..10 {
        let (lo, hi) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
        let inside: Vec<&&Scored> = items
            .iter()
            .filter(|s| s.score >= lo && (s.score < hi || (b == 9 && s.score <= 1.0)))
            .collect();
        if inside.is_empty() {
            continue;
        }
        let mean = inside.iter().map(|s| s.score).sum::<f64>() / inside.len() as f64;
        let pos = inside.iter().filter(|s| s.label).count() as f64 / inside.len() as f64;
        ece += inside.len() as f64 / items.len().max(1) as f64 * (mean - pos).abs();
        bins.push(ReliabilityBin {
            lower: lo,
            upper: hi,
            n: inside.len(),
            mean_score: mean,
            fraction_positive: pos,
        });
    }
    (ece, bins)
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleQuality {
    pub rule: String,
    pub fired: usize,
    /// Share of posts it fired on that are fraud.
    pub precision: Option<f64>,
    /// Share of fraud posts it fired on.
    pub recall: Option<f64>,
}

/// The full evaluation report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub threshold: f64,
    pub overall: Counts,
    pub ece: f64,
    pub reliability: Vec<ReliabilityBin>,
    pub by_language: BTreeMap<String, Counts>,
    pub by_source: BTreeMap<String, Counts>,
    pub by_kind: BTreeMap<String, Counts>,
    pub rules: Vec<RuleQuality>,
    pub rules_never_fired: Vec<String>,
}

impl Report {
    pub fn build<'a>(
        items: &[Scored],
        threshold: f64,
        all_rules: impl Iterator<Item = &'a str>,
    ) -> Self {
        let refs: Vec<&Scored> = items.iter().collect();
        let group = |key: &dyn Fn(&Scored) -> Option<String>| {
            let mut groups: BTreeMap<String, Vec<&Scored>> = BTreeMap::new();
            for s in items {
                if let Some(k) = key(s) {
                    groups.entry(k).or_default().push(s);
                }
            }
            groups
                .into_iter()
                .map(|(k, v)| (k, Counts::of(&v, threshold)))
                .collect::<BTreeMap<_, _>>()
        };
        let (ece, reliability) = calibration(&refs);
        let positives = items.iter().filter(|s| s.label).count();
        let mut rules = Vec::new();
        let mut never = Vec::new();
        for rule in all_rules {
            let fired: Vec<&Scored> = items
                .iter()
                .filter(|s| s.rules.iter().any(|r| r == rule))
                .collect();
            if fired.is_empty() {
                never.push(rule.to_string());
            }
            let tp = fired.iter().filter(|s| s.label).count();
            rules.push(RuleQuality {
                rule: rule.to_string(),
                fired: fired.len(),
                precision: ratio(tp, fired.len()),
                recall: ratio(tp, positives),
            });
        }
        Report {
            threshold,
            overall: Counts::of(&refs, threshold),
            ece,
            reliability,
            by_language: group(&|s| Some(s.lang.clone())),
            by_source: group(&|s| Some(s.source.clone())),
            by_kind: group(&|s| s.kind.clone()),
            rules,
            rules_never_fired: never,
        }
    }

    /// Human-readable tables.
    pub fn render(&self) -> String {
        let f = |v: Option<f64>| v.map_or_else(|| "   -".to_string(), |v| format!("{v:.3}"));
        let mut out = format!("threshold {:.2}\n\n", self.threshold);
        let header = format!(
            "{:<28} {:>6} {:>5} {:>6} {:>6} {:>6} {:>6} {:>7}\n",
            "", "n", "pos", "prec", "recall", "f1", "fpr", "pr_auc"
        );
        let row = |name: &str, c: &Counts| {
            format!(
                "{:<28} {:>6} {:>5} {:>6} {:>6} {:>6} {:>6} {:>7}\n",
                name,
                c.n,
                c.positives,
                f(c.precision),
                f(c.recall),
                f(c.f1),
                f(c.fp_rate),
                f(c.pr_auc)
            )
        };
        out.push_str(&header);
        out.push_str(&row("overall", &self.overall));
        for (title, table) in [
            ("by language", &self.by_language),
            ("by source", &self.by_source),
            ("by kind", &self.by_kind),
        ] {
            if table.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title}\n{header}"));
            for (k, c) in table {
                out.push_str(&row(k, c));
            }
        }
        out.push_str(&format!(
            "\ncalibration: ECE {:.4}\n{:<12} {:>6} {:>10} {:>10}\n",
            self.ece, "bin", "n", "mean score", "positive"
        ));
        for b in &self.reliability {
            out.push_str(&format!(
                "{:<12} {:>6} {:>10.3} {:>10.3}\n",
                format!("{:.1}-{:.1}", b.lower, b.upper),
                b.n,
                b.mean_score,
                b.fraction_positive
            ));
        }
        out.push_str(&format!(
            "\nrules\n{:<32} {:>6} {:>6} {:>6}\n",
            "", "fired", "prec", "recall"
        ));
        for r in &self.rules {
            out.push_str(&format!(
                "{:<32} {:>6} {:>6} {:>6}\n",
                r.rule,
                r.fired,
                f(r.precision),
                f(r.recall)
            ));
        }
        if !self.rules_never_fired.is_empty() {
            out.push_str(&format!(
                "\nrules that never fired: {}\n",
                self.rules_never_fired.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(label: bool, score: f64, lang: &str, rules: &[&str]) -> Scored {
        Scored {
            label,
            score,
            lang: lang.into(),
            source: "t".into(),
            kind: None,
            rules: rules.iter().map(|r| r.to_string()).collect(),
            rule_weight_sum: 0.0,
            model_score: None,
        }
    }

    #[test]
    fn metrics_match_hand_computation() {
        let items = vec![
            s(true, 0.9, "en", &["a"]),
            s(true, 0.4, "en", &[]),
            s(false, 0.6, "zh", &["a"]),
            s(false, 0.1, "zh", &[]),
        ];
        let r = Report::build(&items, 0.5, ["a", "b"].into_iter());
        assert_eq!((r.overall.tp, r.overall.fp, r.overall.fn_), (1, 1, 1));
        assert_eq!(r.overall.precision, Some(0.5));
        assert_eq!(r.overall.recall, Some(0.5));
        assert_eq!(r.overall.fp_rate, Some(0.5));
        // ranking 0.9(+) 0.6(-) 0.4(+) 0.1(-): AP = (1/1 + 2/3) / 2
        assert!((r.overall.pr_auc.unwrap() - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-9);
        assert_eq!(r.by_language["zh"].fp, 1);
        assert_eq!(r.rules[0].precision, Some(0.5));
        assert_eq!(r.rules_never_fired, ["b"]);
        assert!(r.render().contains("rules that never fired: b"));
    }

    #[test]
    fn calibration_is_zero_when_scores_match_frequencies() {
        let items: Vec<Scored> = (0..10).map(|i| s(i < 5, 0.55, "en", &[])).collect();
        let refs: Vec<&Scored> = items.iter().collect();
        let (ece, bins) = calibration(&refs);
        assert!((ece - 0.05).abs() < 1e-9, "{ece}");
        assert_eq!(bins.len(), 1);
    }
}

/// Fitted model-side fusion: `z = intercept + rules_scale * rules + model_weight * logit(model)`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FusionFit {
    pub intercept: f64,
    pub rules_scale: f64,
    pub model_weight: f64,
    pub examples: usize,
}

/// Weighted logistic regression of the label on (rule weight sum, model logit), by Newton's
/// method with a small ridge. Each (source, label) group gets equal total weight, so a large
/// negative-only set cannot drown the rest. Examples without a model score are skipped.
pub fn fit_fusion(items: &[Scored]) -> Option<FusionFit> {
    let usable: Vec<&Scored> = items.iter().filter(|s| s.model_score.is_some()).collect();
    let mut group_sizes: BTreeMap<(String, bool), usize> = BTreeMap::new();
    for s in &usable {
        *group_sizes.entry((s.source.clone(), s.label)).or_default() += 1;
    }
    if usable.is_empty() || !usable.iter().any(|s| s.label) || usable.iter().all(|s| s.label) {
        return None;
    }
    let rows: Vec<([f64; 3], f64, f64)> = usable
        .iter()
        .map(|s| {
            let x = [
                1.0,
                s.rule_weight_sum,
                crate::fuse::logit(s.model_score.expect("filtered")),
            ];
            let w = 1.0 / group_sizes[&(s.source.clone(), s.label)] as f64;
            (x, if s.label { 1.0 } else { 0.0 }, w)
        })
        .collect();
    let mut beta = [0.0f64; 3];
    for _ in 0..50 {
        let mut grad = [0.0f64; 3];
        let mut hess = [[0.0f64; 3]; 3];
        for (x, y, w) in &rows {
            let z: f64 = (0..3).map(|i| beta[i] * x[i]).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            for i in 0..3 {
                grad[i] += w * (p - y) * x[i];
                for j in 0..3 {
                    hess[i][j] += w * p * (1.0 - p) * x[i] * x[j];
                }
            }
        }
        for i in 0..3 {
            let ridge = 1e-3;
            grad[i] += ridge * beta[i];
            hess[i][i] += ridge;
        }
        let step = solve3(hess, grad)?;
        for i in 0..3 {
            beta[i] -= step[i];
        }
        if step.iter().map(|v| v.abs()).fold(0.0, f64::max) < 1e-9 {
            break;
        }
    }
    Some(FusionFit {
        intercept: beta[0],
        rules_scale: beta[1],
        model_weight: beta[2],
        examples: rows.len(),
    })
}

/// Solve a 3x3 linear system by Gaussian elimination with partial pivoting.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..3 {
            let f = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (cell, above) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *cell -= f * above;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        x[row] = (b[row] - (row + 1..3).map(|k| a[row][k] * x[k]).sum::<f64>()) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod fusion_tests {
    use super::*;

    #[test]
    fn fit_recovers_a_known_fusion() {
        // Labels drawn deterministically from a known logistic model.
        let (c, r, m) = (-1.0, 0.8, 1.5);
        let mut items = Vec::new();
        for i in 0..4000 {
            let rules = ((i * 37) % 11) as f64 * 0.5 - 2.0;
            let ml = ((i * 53) % 13) as f64 * 0.5 - 3.0;
            let p = 1.0 / (1.0 + (-(c + r * rules + m * ml)).exp());
            let u = ((i * 7919) % 1000) as f64 / 1000.0;
            items.push(Scored {
                label: u < p,
                score: 0.0,
                lang: "en".into(),
                source: "s".into(),
                kind: None,
                rules: vec![],
                rule_weight_sum: rules,
                model_score: Some(1.0 / (1.0 + (-ml).exp())),
            });
        }
        let fit = fit_fusion(&items).unwrap();
        assert!((fit.rules_scale - r).abs() < 0.25, "{fit:?}");
        assert!((fit.model_weight - m).abs() < 0.25, "{fit:?}");
    }
}
