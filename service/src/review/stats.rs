//! Review statistics: how often each rule and language was confirmed as fraud by reviewers
//! (precision), decisions per hour and queue age, for the stats page and `/metrics`.

use std::collections::BTreeMap;

use super::store::{ReviewStore, Status, StoreError};
use crate::metrics::REVIEW_METRICS;

/// Reviewer-confirmed precision for one rule or language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Precision {
    pub key: String,
    pub fraud: u64,
    pub not_fraud: u64,
}

impl Precision {
    /// Share of decided items confirmed as fraud.
    pub fn value(&self) -> f64 {
        let n = self.fraud + self.not_fraud;
        if n == 0 {
            0.0
        } else {
            self.fraud as f64 / n as f64
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ReviewStats {
    pub by_rule: Vec<Precision>,
    pub by_language: Vec<Precision>,
    /// (hour start in ms, decisions) for the last 24 hours, oldest first, empty hours included.
    pub decisions_per_hour: Vec<(i64, u64)>,
    /// (status, action, count).
    pub counts: Vec<(String, String, i64)>,
    pub pending: i64,
    pub oldest_pending_age_secs: Option<i64>,
}

const HOUR_MS: i64 = 3_600_000;

pub async fn compute(store: &ReviewStore, now_ms: i64) -> Result<ReviewStats, StoreError> {
    let mut by_rule: BTreeMap<String, Precision> = BTreeMap::new();
    let mut by_language: BTreeMap<String, Precision> = BTreeMap::new();
    for (status, language, rules) in store.decided_outcomes().await? {
        let fraud = status == Status::Fraud;
        for rule in rules {
            count(&mut by_rule, rule, fraud);
        }
        count(
            &mut by_language,
            language.unwrap_or_else(|| "unknown".into()),
            fraud,
        );
    }
    let first_hour = (now_ms / HOUR_MS - 23) * HOUR_MS;
    let mut per_hour: Vec<(i64, u64)> = (0..24).map(|h| (first_hour + h * HOUR_MS, 0)).collect();
    for t in store.decision_times(first_hour).await? {
        let slot = ((t - first_hour) / HOUR_MS) as usize;
        if let Some(s) = per_hour.get_mut(slot) {
            s.1 += 1;
        }
    }
    let counts = store.counts().await?;
    let pending = counts
        .iter()
        .filter(|(status, _, _)| Status::parse(status).is_some_and(Status::is_pending))
        .map(|c| c.2)
        .sum();
    let oldest = store.oldest_pending().await?;
    Ok(ReviewStats {
        by_rule: by_rule.into_values().collect(),
        by_language: by_language.into_values().collect(),
        decisions_per_hour: per_hour,
        counts,
        pending,
        oldest_pending_age_secs: oldest.map(|t| (now_ms - t).max(0) / 1000),
    })
}

fn count(table: &mut BTreeMap<String, Precision>, key: String, fraud: bool) {
    let p = table.entry(key.clone()).or_insert_with(|| Precision {
        key,
        ..Precision::default()
    });
    if fraud {
        p.fraud += 1;
    } else {
        p.not_fraud += 1;
    }
}

/// Mirror the figures into the Prometheus gauges.
pub fn export_metrics(stats: &ReviewStats) {
    let m = &*REVIEW_METRICS;
    m.pending.set(stats.pending);
    m.oldest_pending_age_seconds
        .set(stats.oldest_pending_age_secs.unwrap_or(0));
    for (by, table) in [("rule", &stats.by_rule), ("language", &stats.by_language)] {
        for p in table {
            m.precision.with_label_values(&[by, &p.key]).set(p.value());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Precision;

    #[test]
    fn precision_is_the_confirmed_share() {
        let p = Precision {
            key: "r".into(),
            fraud: 3,
            not_fraud: 1,
        };
        assert_eq!(p.value(), 0.75);
        assert_eq!(Precision::default().value(), 0.0);
    }
}
