//! HTML of the review console. Everything from a post is untrusted: maud escapes every
//! interpolated string, post text sits in a `dir="auto"` isolate so bidi overrides cannot
//! reorder the page around it, and the page loads no inline script (CSP forbids it).

use maud::{DOCTYPE, Markup, html};

use super::stats::ReviewStats;
use super::store::{AuditEntry, Item, QueueFilter, QueueRow, SharedContact, Status};
use crate::message::Verdict;

/// A highlighted span of the post, in chars of the verdict's text basis.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub start: usize,
    pub end: usize,
    /// CSS class: `rule`, `contact`, `salary`, `place` or `model`.
    pub class: &'static str,
    /// Shown on hover: which rule or signal, and why.
    pub title: String,
}

/// The verdict's evidence as marks: every rule hit's spans, every extracted signal, and the
/// model's strongest sentences.
pub fn marks(verdict: &Verdict) -> Vec<Mark> {
    let e = &verdict.explanation;
    let mut marks = Vec::new();
    for hit in &e.rule_hits {
        for ev in &hit.evidence {
            marks.push(Mark {
                start: ev.start,
                end: ev.end,
                class: "rule",
                title: format!("{} (+{:.2}): {}", hit.rule_id, hit.weight, hit.reason),
            });
        }
    }
    for c in &e.signals.contacts {
        let (start, end) = (c.evidence.start, c.evidence.end);
        let title = format!("contact: {} {}", c.kind.as_str(), c.value);
        marks.push(Mark {
            start,
            end,
            class: "contact",
            title,
        });
    }
    for s in &e.signals.salaries {
        let usd = s
            .usd_per_month
            .map(|u| format!(" ≈ USD {u:.0}/month"))
            .unwrap_or_default();
        let (start, end) = (s.evidence.start, s.evidence.end);
        let title = format!("salary: {} {}{usd}", s.amount, s.currency);
        marks.push(Mark {
            start,
            end,
            class: "salary",
            title,
        });
    }
    for p in &e.signals.places {
        let (start, end) = (p.evidence.start, p.evidence.end);
        let title = format!("place: {} ({}, {})", p.name, p.country, p.kind);
        marks.push(Mark {
            start,
            end,
            class: "place",
            title,
        });
    }
    for m in &e.model_evidence {
        let title = format!(
            "model: this sentence adds {:+.2} to the model score",
            m.delta
        );
        marks.push(Mark {
            start: m.start,
            end: m.end,
            class: "model",
            title,
        });
    }
    marks
}

/// `text` with every mark highlighted in place. Overlapping marks split the text at every
/// boundary; each piece carries the classes and hover titles of all marks covering it.
/// Out-of-range marks are clamped, empty ones ignored.
pub fn highlighted(text: &str, marks: &[Mark]) -> Markup {
    let offsets: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let chars = offsets.len() - 1;
    let marks: Vec<&Mark> = marks
        .iter()
        .filter(|m| m.start < m.end.min(chars))
        .collect();
    let mut cuts: Vec<usize> = vec![0, chars];
    for m in &marks {
        cuts.push(m.start);
        cuts.push(m.end.min(chars));
    }
    cuts.sort_unstable();
    cuts.dedup();
    html! {
        @for pair in cuts.windows(2) {
            @let (a, b) = (pair[0], pair[1]);
            @let piece = &text[offsets[a]..offsets[b]];
            @let covering: Vec<&&Mark> = marks.iter().filter(|m| m.start <= a && m.end.min(chars) >= b).collect();
            @if covering.is_empty() {
                (piece)
            } @else {
                @let classes: std::collections::BTreeSet<&str> = covering.iter().map(|m| m.class).collect();
                @let titles: Vec<&str> = covering.iter().map(|m| m.title.as_str()).collect();
                mark class=(classes.into_iter().collect::<Vec<_>>().join(" ")) title=(titles.join("\n")) tabindex="0" { (piece) }
            }
        }
    }
}

/// Common page frame.
pub fn page(title: &str, reviewer: Option<&str>, csrf: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · scamwatch review" }
                link rel="stylesheet" href="/static/review.css";
                script src="/static/review.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "scamwatch review" }
                    @if let Some(reviewer) = reviewer {
                        nav {
                            a href="/" accesskey="q" { "Queue" }
                            a href="/stats" { "Stats" }
                            span.who { "Signed in as " strong { (reviewer) } }
                            @if let Some(csrf) = csrf {
                                form method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn login(error: Option<&str>) -> Markup {
    page(
        "Sign in",
        None,
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.login method="post" action="/login" {
                label { "Reviewer " input name="name" autocomplete="username" required autofocus; }
                label { "Password " input name="password" type="password" autocomplete="current-password" required; }
                button type="submit" { "Sign in" }
            }
        },
    )
}

fn age(now_ms: i64, then_ms: i64) -> String {
    let secs = (now_ms - then_ms).max(0) / 1000;
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

pub struct QueuePage<'a> {
    pub reviewer: &'a str,
    pub csrf: &'a str,
    pub filter: &'a QueueFilter,
    pub rows: &'a [QueueRow],
    pub counts: &'a [(String, String, i64)],
    pub facets: &'a (Vec<String>, Vec<String>, Vec<String>),
    pub now_ms: i64,
    pub notice: Option<&'a str>,
}

fn select(name: &str, label: &str, options: &[String], chosen: &Option<String>) -> Markup {
    html! {
        label {
            (label) " "
            select name=(name) {
                option value="" { "any" }
                @for o in options {
                    option value=(o) selected[chosen.as_deref() == Some(o.as_str())] { (o) }
                }
            }
        }
    }
}

pub fn queue(p: QueuePage<'_>) -> Markup {
    let (languages, platforms, rules) = p.facets;
    let statuses: Vec<String> = ["open", "escalated", "fraud", "not_fraud"]
        .map(String::from)
        .to_vec();
    let actions: Vec<String> = ["review", "block"].map(String::from).to_vec();
    let hidden = |name: &str, v: &Option<String>| {
        html! { @if let Some(v) = v { input type="hidden" name=(name) value=(v); } }
    };
    page(
        "Queue",
        Some(p.reviewer),
        Some(p.csrf),
        html! {
            h1 { "Queue" }
            @if let Some(notice) = p.notice { p.notice role="status" { (notice) } }
            p.counts {
                @for (status, action, n) in p.counts {
                    span.count { (status) " · " (action) ": " strong { (n) } }
                }
            }
            form.filters method="get" action="/" {
                (select("status", "Status", &statuses, &p.filter.status))
                (select("action", "Action", &actions, &p.filter.action))
                (select("language", "Language", languages, &p.filter.language))
                (select("rule", "Rule", rules, &p.filter.rule))
                (select("platform", "Platform", platforms, &p.filter.platform))
                button type="submit" { "Filter" }
            }
            form id="next-form" method="post" action="/next" {
                input type="hidden" name="csrf" value=(p.csrf);
                (hidden("status", &p.filter.status))
                (hidden("action", &p.filter.action))
                (hidden("language", &p.filter.language))
                (hidden("rule", &p.filter.rule))
                (hidden("platform", &p.filter.platform))
                button id="next" type="submit" { "Review next (j)" }
            }
            @if p.rows.is_empty() {
                p { "Nothing waiting here." }
            } @else {
                table.queue {
                    thead { tr { th { "#" } th { "Age" } th { "Action" } th { "Score" } th { "Lang" } th { "Platform" } th { "Rules" } th { "Status" } } }
                    tbody {
                        @for r in p.rows {
                            tr {
                                td { a href=(format!("/items/{}", r.id)) { (r.id) " · " (r.post_id) } }
                                td { (age(p.now_ms, r.received_at)) }
                                td { span class=(format!("action {}", r.action)) { (r.action) } }
                                td { (format!("{:.2}", r.score)) }
                                td { (r.language.as_deref().unwrap_or("?")) }
                                td { (r.platform.as_deref().unwrap_or("")) }
                                td.rules { (r.rules.join(", ")) }
                                td {
                                    (r.status)
                                    @if let (Some(by), Some(until)) = (&r.claimed_by, r.claim_expires_at) {
                                        @if until >= p.now_ms { " · claimed by " (by) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub struct ItemPage<'a> {
    pub reviewer: &'a str,
    pub csrf: &'a str,
    pub item: &'a Item,
    pub audit: &'a [AuditEntry],
    pub shared: &'a [SharedContact],
    pub now_ms: i64,
    pub notice: Option<&'a str>,
}

pub fn item(p: ItemPage<'_>) -> Markup {
    let row = &p.item.row;
    let v = &p.item.verdict;
    let e = &v.explanation;
    let status = Status::parse(&row.status).unwrap_or(Status::Open);
    let claim_live = row.claim_expires_at.is_some_and(|t| t >= p.now_ms);
    let mine = claim_live && row.claimed_by.as_deref() == Some(p.reviewer);
    let text = v.post.as_ref().map(|post| post.full_text());
    page(
        &format!("Item {}", row.id),
        Some(p.reviewer),
        Some(p.csrf),
        html! {
            h1 { "Post " code { (row.post_id) } }
            @if let Some(notice) = p.notice { p.notice role="status" { (notice) } }
            p.verdict {
                span class=(format!("action {}", row.action)) { (row.action) }
                " score " strong { (format!("{:.3}", v.score)) }
                " · status " strong id="status" { (row.status) }
                @if mine { " · claimed by you" }
                @if let Some(post) = &v.post {
                    @if let Some(platform) = &post.platform { " · " (platform) }
                    @if let Some(url) = &post.url { " · " span.url { (url) } }
                }
            }
            p.summary { (e.summary) }
            section.post {
                h2 { "Text " small { "(hover or focus a highlight to see why)" } }
                p.legend {
                    mark.rule { "rule evidence" } " " mark.contact { "contact" } " "
                    mark.salary { "salary" } " " mark.place { "place" } " " mark.model { "model evidence" }
                }
                @if let Some(text) = &text {
                    div.text dir="auto" { (highlighted(text, &marks(v))) }
                } @else {
                    p { "This verdict does not carry the post text." }
                }
            }
            section.decide {
                @if !status.is_pending() {
                    p { "Decided: " strong { (row.status) } " by " (p.item.decided_by.as_deref().unwrap_or("?")) }
                } @else if mine {
                    form id="decision" method="post" action=(format!("/items/{}/decision", row.id)) {
                        input type="hidden" name="csrf" value=(p.csrf);
                        label { "Note " textarea name="note" rows="2" maxlength="2000" {} }
                        label { "Labels (comma-separated) " input name="labels" maxlength="500"; }
                        div.buttons {
                            button id="decide-fraud" type="submit" name="decision" value="fraud" { "Fraud (f)" }
                            button id="decide-not-fraud" type="submit" name="decision" value="not_fraud" { "Not fraud (n)" }
                            button id="decide-escalate" type="submit" name="decision" value="escalate" { "Escalate (e)" }
                        }
                    }
                    form method="post" action=(format!("/items/{}/release", row.id)) {
                        input type="hidden" name="csrf" value=(p.csrf);
                        button type="submit" { "Release claim" }
                    }
                } @else if claim_live {
                    p.claimed { "Claimed by " strong { (row.claimed_by.as_deref().unwrap_or("?")) } "; you cannot decide it until they do or the claim expires." }
                } @else {
                    form method="post" action=(format!("/items/{}/claim", row.id)) {
                        input type="hidden" name="csrf" value=(p.csrf);
                        button id="claim" type="submit" { "Claim to review (c)" }
                    }
                }
            }
            section.signals {
                h2 { "Signals" }
                dl {
                    dt { "Language" } dd { (e.language.as_deref().unwrap_or("unknown")) }
                    dt { "Model" }
                    dd {
                        @match e.model_score {
                            Some(s) => { (format!("{s:.3}")) " (" (v.versions.model.as_deref().unwrap_or("?")) ")" }
                            None => { "not used (rules only)" }
                        }
                    }
                    dt { "Rule pack" } dd { (v.versions.rule_pack) }
                }
                @if !e.signals.contacts.is_empty() {
                    h3 { "Contacts" }
                    ul {
                        @for c in &e.signals.contacts {
                            li {
                                (c.kind.as_str()) " " code { (c.value) }
                                @if let Some(cc) = &c.country { " · " (cc) }
                                @if let Some(d) = &c.registered_domain { " · " (d) }
                            }
                        }
                    }
                }
                @if !e.signals.salaries.is_empty() {
                    h3 { "Salaries" }
                    ul {
                        @for s in &e.signals.salaries {
                            li {
                                (s.evidence.text)
                                @if let Some(usd) = s.usd_per_month { " ≈ " strong { (format!("USD {usd:.0}/month")) } }
                            }
                        }
                    }
                }
                @if !e.signals.places.is_empty() {
                    h3 { "Places" }
                    ul { @for pl in &e.signals.places { li { (pl.name) " (" (pl.country) ", " (pl.kind) ")" } } }
                }
            }
            section.rules {
                h2 { "Rules" }
                @if e.rule_hits.is_empty() { p { "No rule fired." } }
                table {
                    @for hit in &e.rule_hits {
                        tr {
                            td { code { (hit.rule_id) } }
                            td { (format!("+{:.2}", hit.weight)) }
                            td { (hit.reason) }
                            td { (hit.evidence.iter().map(|ev| ev.text.as_str()).collect::<Vec<_>>().join(" · ")) }
                        }
                    }
                }
                @if !e.model_evidence.is_empty() {
                    h3 { "Model evidence" }
                    ul { @for m in &e.model_evidence { li { (format!("{:+.2} ", m.delta)) q { (m.text) } } } }
                }
            }
            section.notes {
                h2 { "Notes" }
                ul {
                    @if let Some(r) = &e.repost_of {
                        li { "Repost of " code { (r.post_id) } (format!(" (similarity {:.2})", r.similarity)) }
                    }
                    @if e.rule_hits.iter().any(|h| h.rule_id == "memory.flagged_contact") {
                        li { "A contact in this post was on earlier blocked or confirmed-fraud posts." }
                    }
                    @for s in p.shared {
                        li { "Shares " code { (s.contact) } " with queued " a href=(format!("/items/{}", s.item_id)) { (s.post_id) } }
                    }
                }
            }
            section.audit {
                h2 { "Audit trail" }
                @if p.audit.is_empty() { p { "No decisions yet." } }
                table {
                    @for a in p.audit {
                        tr {
                            td { (chrono::DateTime::from_timestamp_millis(a.decided_at).map(|t| t.to_rfc3339()).unwrap_or_default()) }
                            td { (a.reviewer) }
                            td { (a.previous_status) " → " strong { (a.decision) } }
                            td { (a.note.as_deref().unwrap_or("")) }
                            td { (a.labels.join(", ")) }
                        }
                    }
                }
            }
        },
    )
}

pub fn stats(reviewer: &str, csrf: &str, s: &ReviewStats) -> Markup {
    let table = |title: &str, rows: &[super::stats::Precision]| {
        html! {
            h2 { (title) }
            table {
                thead { tr { th { "" } th { "fraud" } th { "not fraud" } th { "precision" } } }
                tbody {
                    @for p in rows {
                        tr { td { code { (p.key) } } td { (p.fraud) } td { (p.not_fraud) } td { (format!("{:.2}", p.value())) } }
                    }
                }
            }
        }
    };
    page(
        "Stats",
        Some(reviewer),
        Some(csrf),
        html! {
            h1 { "Review statistics" }
            p {
                "Waiting: " strong id="pending" { (s.pending) }
                " · oldest waiting: " (s.oldest_pending_age_secs.map(|a| format!("{a} s")).unwrap_or_else(|| "none".into()))
            }
            (table("Precision per rule (reviewer-confirmed)", &s.by_rule))
            (table("Precision per language", &s.by_language))
            h2 { "Decisions per hour (last 24 h, UTC)" }
            table {
                @for (hour, n) in &s.decisions_per_hour {
                    @if *n > 0 {
                        tr {
                            td { (chrono::DateTime::from_timestamp_millis(*hour).map(|t| t.format("%Y-%m-%d %H:00").to_string()).unwrap_or_default()) }
                            td { (n) }
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(start: usize, end: usize, title: &str) -> Mark {
        Mark {
            start,
            end,
            class: "rule",
            title: title.into(),
        }
    }

    #[test]
    fn marks_highlight_in_place_and_escape_the_text() {
        let html =
            highlighted("<b>Salary $1500</b> telegram", &[mark(3, 15, "r: why")]).into_string();
        assert_eq!(
            html,
            "&lt;b&gt;<mark class=\"rule\" title=\"r: why\" tabindex=\"0\">Salary $1500</mark>&lt;/b&gt; telegram"
        );
    }

    #[test]
    fn overlapping_marks_split_and_carry_both_titles() {
        let html = highlighted("abcdef", &[mark(0, 4, "one"), mark(2, 6, "two")]).into_string();
        assert_eq!(
            html,
            "<mark class=\"rule\" title=\"one\" tabindex=\"0\">ab</mark>\
             <mark class=\"rule\" title=\"one\ntwo\" tabindex=\"0\">cd</mark>\
             <mark class=\"rule\" title=\"two\" tabindex=\"0\">ef</mark>"
        );
    }

    #[test]
    fn offsets_count_chars_and_bad_spans_are_clamped_or_dropped() {
        let html = highlighted(
            "柬埔寨高薪",
            &[
                mark(0, 3, "place"),
                mark(4, 99, "tail"),
                mark(3, 3, "empty"),
            ],
        )
        .into_string();
        assert!(html.starts_with(
            "<mark class=\"rule\" title=\"place\" tabindex=\"0\">柬埔寨</mark>高<mark"
        ));
        assert!(html.ends_with(">薪</mark>"));
        assert!(!html.contains("empty"));
    }

    #[test]
    fn script_in_a_title_attribute_is_escaped() {
        let html = highlighted("x", &[mark(0, 1, "\"><script>alert(1)</script>")]).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
    }
}
