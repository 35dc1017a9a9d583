//! Signals: structured facts pulled from a post before the rules run: contact handles, links
//! and phone numbers; salary amounts normalised to USD per month with the rule pack's dated rate
//! table; destination places from the pack's gazetteer; and the post's language.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};
use serde::Deserialize;

use crate::message::{Contact, ContactKind, Place, Salary, SalaryPeriod, Signals};
use crate::normalize::{NormalizedText, evidence_from_bytes, normalize_term};

/// One gazetteer entry of the rule pack.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceEntry {
    pub name: String,
    pub country: String,
    pub kind: String,
    /// Spellings in every script and romanisation, matched after normalisation.
    pub aliases: Vec<String>,
}

/// Dated exchange rates used to compare salaries across currencies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrencyRates {
    /// Date the rates were taken (reported so reviewers know how stale they are).
    pub as_of: String,
    /// USD per one unit of each ISO 4217 currency code.
    pub usd_per_unit: BTreeMap<String, f64>,
}

/// Compiled gazetteer.
#[derive(Debug)]
pub struct Gazetteer {
    entries: Vec<PlaceEntry>,
    matcher: Option<AhoCorasick>,
    pattern_entry: Vec<usize>,
}

impl Gazetteer {
    pub fn new(entries: Vec<PlaceEntry>) -> Result<Self, aho_corasick::BuildError> {
        let mut patterns = Vec::new();
        let mut pattern_entry = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            for alias in e.aliases.iter().chain(std::iter::once(&e.name)) {
                let term = normalize_term(alias);
                if !term.trim().is_empty() {
                    patterns.push(term);
                    pattern_entry.push(i);
                }
            }
        }
        let matcher = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .build(&patterns)?,
            )
        };
        Ok(Self {
            entries,
            matcher,
            pattern_entry,
        })
    }

    fn find(&self, norm: &NormalizedText<'_>) -> Vec<Place> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        let bytes = norm.text.as_bytes();
        let mut places = Vec::new();
        for m in matcher.find_iter(&norm.text) {
            // Latin names need word boundaries ("lao" must not match inside "laos" twice,
            // "bavet" must not match inside another word).
            let before = norm.text[..m.start()].chars().next_back();
            let after = norm.text[m.end()..].chars().next();
            let latin_edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
            if (bytes[m.start()].is_ascii_alphanumeric() && latin_edge(before))
                || (bytes[m.end() - 1].is_ascii_alphanumeric() && latin_edge(after))
            {
                continue;
            }
            let entry = &self.entries[self.pattern_entry[m.pattern().as_usize()]];
            places.push(Place {
                name: entry.name.clone(),
                country: entry.country.clone(),
                kind: entry.kind.clone(),
                evidence: norm.evidence(m.start(), m.end()),
            });
        }
        places
    }
}

static CONTACT_PATTERNS: LazyLock<Vec<(ContactKind, Regex)>> = LazyLock::new(|| {
    // ASCII word boundaries: the handles are ASCII, and Unicode \b would force the slow engine.
    let p = |kind, re: &str| (kind, Regex::new(re).expect("contact pattern compiles"));
    vec![
        p(
            ContactKind::Telegram,
            r"(?i)(?-u:\b)(?:https?://)?(?:t|telegram)\.me/(?:joinchat/|\+)?([a-z0-9_]{3,64})",
        ),
        p(
            ContactKind::Whatsapp,
            r"(?i)(?-u:\b)(?:https?://)?wa\.me/\+?(\d{6,15})",
        ),
        p(
            ContactKind::Whatsapp,
            r"(?i)(?-u:\b)api\.whatsapp\.com/send/?\?phone=\+?(\d{6,15})",
        ),
        p(
            ContactKind::Line,
            r"(?i)(?-u:\b)line\.me/(?:ti/p/|R/ti/p/)?~?@?([a-z0-9._-]{3,32})",
        ),
        p(
            ContactKind::Line,
            r"(?i)(?:(?-u:\b)line(?:\s*id)?|ไลน์|ไอดีไลน์)\s*[:：]\s*@?([a-z0-9._-]{3,32})",
        ),
        p(
            ContactKind::Wechat,
            r"(?i)(?:(?-u:\b)wechat|(?-u:\b)weixin|微信|(?-u:\b)vx|v信|(?-u:\b)wx)(?:\s*id)?\s*[:：]?\s*([a-z][-_a-z0-9]{5,19})",
        ),
        p(
            ContactKind::Skype,
            r"(?i)(?-u:\b)skype(?:\s*id)?\s*[:：]\s*([a-z][a-z0-9.,_-]{5,31})",
        ),
        p(
            ContactKind::Email,
            r"(?i)(?-u:\b)([a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24})(?-u:\b)",
        ),
        p(
            ContactKind::Url,
            r"(?i)(?-u:\b)(?:https?://|www\.)([a-z0-9-]+(?:\.[a-z0-9-]+)+)(?:[/?#][^\s<>()]*)?",
        ),
        p(
            ContactKind::Phone,
            r"(?:\+|(?-u:\b)00)\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}(?-u:\b)",
        ),
        // A bare @handle not preceded by an email local part: the dominant channel for these
        // ads is Telegram, so bare handles are reported as Telegram.
        p(
            ContactKind::Telegram,
            r"(?:^|[^a-zA-Z0-9._%+-])@([A-Za-z][A-Za-z0-9_]{3,31})(?-u:\b)",
        ),
    ]
});

/// Country of an international number (digits only, with calling code), if it is valid.
fn phone_country(digits: &str) -> Option<String> {
    let number = phonenumber::parse(None, format!("+{digits}")).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    number.country().id().map(|id| id.as_ref().to_string())
}

fn canonical_contact(kind: ContactKind, raw: &str) -> String {
    match kind {
        ContactKind::Phone | ContactKind::Whatsapp => {
            raw.chars().filter(char::is_ascii_digit).collect()
        }
        _ => raw.trim_start_matches("www.").to_lowercase(),
    }
}

/// One pass over the text to learn which contact patterns can match at all.
static CONTACT_PREFILTER: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(CONTACT_PATTERNS.iter().map(|(_, re)| re.as_str()))
        .expect("contact patterns compile")
});

fn find_contacts(text: &str) -> Vec<Contact> {
    let mut contacts: Vec<Contact> = Vec::new();
    let mut covered: Vec<(usize, usize)> = Vec::new();
    let candidates = CONTACT_PREFILTER.matches(text);
    for (kind, re) in candidates.iter().map(|i| &CONTACT_PATTERNS[i]) {
        for caps in re.captures_iter(text) {
            let whole = caps.get(0).expect("group 0 always matches");
            let value_match = if *kind == ContactKind::Phone {
                whole
            } else {
                caps.get(1).unwrap_or(whole)
            };
            // A later, more generic pattern must not re-report what an earlier one found
            // (the number inside a wa.me link, the host of a t.me link).
            if covered
                .iter()
                .any(|&(s, e)| value_match.start() < e && s < value_match.end())
            {
                continue;
            }
            let value = canonical_contact(*kind, value_match.as_str());
            let country = match kind {
                ContactKind::Phone | ContactKind::Whatsapp => phone_country(&value),
                _ => None,
            };
            // A number that no numbering plan accepts is not a phone (registration numbers,
            // order ids).
            if *kind == ContactKind::Phone && country.is_none() {
                continue;
            }
            let registered_domain = match kind {
                ContactKind::Url => psl::domain_str(&value).map(str::to_string),
                ContactKind::Email => value
                    .rsplit_once('@')
                    .and_then(|(_, host)| psl::domain_str(host))
                    .map(str::to_string),
                _ => None,
            };
            covered.push((whole.start(), whole.end()));
            let start = if *kind == ContactKind::Telegram
                && whole
                    .as_str()
                    .starts_with(|c: char| c != '@' && !c.is_ascii_alphanumeric())
            {
                whole.start() + whole.as_str().chars().next().map_or(0, char::len_utf8)
            } else {
                whole.start()
            };
            contacts.push(Contact {
                kind: *kind,
                value,
                country,
                registered_domain,
                evidence: evidence_from_bytes(text, start, whole.end()),
            });
        }
    }
    contacts.sort_by_key(|c| c.evidence.start);
    contacts
}

/// Currency words and symbols as written, and their ISO code.
const CURRENCY_TOKENS: &[(&str, &str)] = &[
    ("usdt", "USD"),
    ("usd", "USD"),
    ("us$", "USD"),
    ("u$", "USD"),
    ("$", "USD"),
    ("dollars", "USD"),
    ("dollar", "USD"),
    ("美元", "USD"),
    ("美金", "USD"),
    ("ดอลลาร์", "USD"),
    ("đô", "USD"),
    ("do la", "USD"),
    ("rmb", "CNY"),
    ("cny", "CNY"),
    ("元", "CNY"),
    ("人民币", "CNY"),
    ("块", "CNY"),
    ("฿", "THB"),
    ("บาท", "THB"),
    ("baht", "THB"),
    ("thb", "THB"),
    ("vnd", "VND"),
    ("vnđ", "VND"),
    ("dong", "VND"),
    ("đ", "VND"),
    ("d", "VND"),
    ("rp", "IDR"),
    ("idr", "IDR"),
    ("rupiah", "IDR"),
    ("rm", "MYR"),
    ("myr", "MYR"),
    ("ringgit", "MYR"),
    ("₱", "PHP"),
    ("php", "PHP"),
    ("peso", "PHP"),
    ("pesos", "PHP"),
    ("kyat", "MMK"),
    ("ကျပ်", "MMK"),
    ("mmk", "MMK"),
    ("riel", "KHR"),
    ("khr", "KHR"),
    ("៛", "KHR"),
    ("kip", "LAK"),
    ("ກີບ", "LAK"),
    ("lak", "LAK"),
    ("원", "KRW"),
    ("krw", "KRW"),
    ("₩", "KRW"),
    ("円", "JPY"),
    ("jpy", "JPY"),
    ("yen", "JPY"),
    ("¥", "JPY"),
    ("엔", "JPY"),
    ("ドル", "USD"),
    ("달러", "USD"),
    ("美刀", "USD"),
    ("dolar", "USD"),
    ("u", "USD"),
    ("aed", "AED"),
    ("dirham", "AED"),
    ("sgd", "SGD"),
    ("s$", "SGD"),
    ("hkd", "HKD"),
    ("hk$", "HKD"),
    ("eur", "EUR"),
    ("€", "EUR"),
    ("gbp", "GBP"),
    ("£", "GBP"),
    ("ໂດລາ", "USD"),
    ("ဒေါ်လာ", "USD"),
    ("ដុល្លារ", "USD"),
    ("ບາດ", "THB"),
    ("ဘတ်", "THB"),
    ("ယွမ်", "CNY"),
];

/// Currency tokens as they appear in normalised text ("₱" folds to "p", "vnđ" to "vnd"),
/// longest first so the regex prefers "usdt" over "usd" over "u".
static NORMALIZED_CURRENCY_TOKENS: LazyLock<Vec<(String, &'static str)>> = LazyLock::new(|| {
    let mut tokens: Vec<(String, &'static str)> = Vec::new();
    for (raw, code) in CURRENCY_TOKENS {
        let norm = normalize_term(raw);
        if !norm.trim().is_empty() && !tokens.iter().any(|(t, _)| *t == norm) {
            tokens.push((norm, code));
        }
    }
    tokens.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
    tokens
});

static SALARY_RE: LazyLock<Regex> = LazyLock::new(|| {
    let cur = NORMALIZED_CURRENCY_TOKENS
        .iter()
        .map(|(t, _)| regex::escape(t))
        .collect::<Vec<_>>()
        .join("|");
    let num = r"\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?";
    let mult = r"k|juta|jt|trieu|tr|万|萬|千|만|천|lakh|ribu|rb|nghin|ngan";
    let amount = format!(r"(?:{num})\s?(?:{mult})?(?:\s?\d{{1,3}})?");
    Regex::new(&format!(
        r"(?x)(?P<pre>{cur})?\s?(?P<a>{amount})(?:\s?(?:-|~|–|to|至|到|đến|hingga|sampai|ถึง)\s?(?P<pre2>{cur})?\s?(?P<b>{amount}))?\s?(?P<post>{cur})?"
    ))
    .expect("salary pattern compiles")
});

/// Period words after an amount, per period, written naturally and normalised at start-up
/// (so Vietnamese "tháng" matches its folded form "thang").
const PERIOD_TERMS: &[(&str, &[&str])] = &[
    (
        "month",
        &[
            "/month",
            "/mo",
            "/m",
            "/月",
            "/tháng",
            "/bulan",
            "/เดือน",
            "/ខែ",
            "/ເດືອນ",
            "/달",
            "/월",
            "per month",
            "a month",
            "monthly",
            "每月",
            "一个月",
            "/个月",
            "một tháng",
            "mỗi tháng",
            "sebulan",
            "per bulan",
            "ต่อเดือน",
            "ក្នុងមួយខែ",
            "ต่อ เดือน",
            "ເດືອນ",
            "tháng",
            "月",
            "bulan",
            "เดือน",
            "월",
            "ヶ月",
            "か月",
            "kada buwan",
            "isang buwan",
            "/buwan",
            "sebulan",
            "ខែ",
            "လစာ",
            "တစ်လ",
            "/လ",
        ],
    ),
    (
        "day",
        &[
            "/day",
            "/天",
            "/日",
            "/ngày",
            "/hari",
            "/วัน",
            "per day",
            "a day",
            "daily",
            "每天",
            "mỗi ngày",
            "sehari",
            "ต่อวัน",
            "日",
            "天",
            "ngày",
        ],
    ),
    (
        "hour",
        &[
            "/h", "/hr", "/hour", "/小时", "/giờ", "/jam", "per hour", "an hour", "时薪",
        ],
    ),
    (
        "year",
        &[
            "/year", "/yr", "/年", "/năm", "/tahun", "/ปี", "per year", "a year", "annually", "年薪",
        ],
    ),
];

static PERIOD_RE: LazyLock<Regex> = LazyLock::new(|| {
    let groups: Vec<String> = PERIOD_TERMS
        .iter()
        .map(|(name, terms)| {
            let mut norm: Vec<String> = terms
                .iter()
                .map(|t| regex::escape(&normalize_term(t)))
                .collect();
            norm.sort_by_key(|t| std::cmp::Reverse(t.len()));
            format!("(?P<{name}>{})", norm.join("|"))
        })
        .collect();
    Regex::new(&format!(r"^\s?/?\s?(?:{})", groups.join("|"))).expect("period pattern compiles")
});

/// Parse "1,500", "1.500", "1,5", "15k", "1万5", "3 juta" into a number.
fn parse_amount(raw: &str) -> Option<f64> {
    let s = raw.trim();
    let mult_words: &[(&str, f64)] = &[
        ("juta", 1e6),
        ("jt", 1e6),
        ("triệu", 1e6),
        ("trieu", 1e6),
        ("tr", 1e6),
        ("万", 1e4),
        ("萬", 1e4),
        ("千", 1e3),
        ("만", 1e4),
        ("천", 1e3),
        ("lakh", 1e5),
        ("ribu", 1e3),
        ("rb", 1e3),
        ("nghin", 1e3),
        ("nghìn", 1e3),
        ("ngan", 1e3),
        ("k", 1e3),
    ];
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | ' ')))
        .unwrap_or(s.len());
    let (num_part, rest) = s.split_at(digits_end);
    let rest = rest.trim();
    let (mult, tail) = mult_words
        .iter()
        .find_map(|(w, m)| rest.strip_prefix(w).map(|t| (*m, t.trim())))
        .unwrap_or((1.0, rest));
    let base = parse_number(num_part.trim())?;
    // "1万5" = 15,000: a trailing digit after a multiplier is the next lower unit.
    let tail_value = if mult > 1.0 && !tail.is_empty() {
        tail.parse::<f64>()
            .ok()
            .map(|d| d * mult / 10f64.powi(tail.len() as i32))
            .unwrap_or(0.0)
    } else {
        0.0
    };
    Some(base * mult + tail_value)
}

fn parse_number(s: &str) -> Option<f64> {
    let s: String = s.chars().filter(|c| *c != ' ').collect();
    let groups: Vec<&str> = s.split(['.', ',']).collect();
    let separators: HashSet<char> = s.chars().filter(|c| matches!(c, '.' | ',')).collect();
    let cleaned = if groups.len() == 1 {
        s.clone()
    } else if separators.len() == 1 && groups[1..].iter().all(|g| g.len() == 3) {
        // "1,500", "1.500", "1,234,567": thousands separators only.
        groups.concat()
    } else {
        // "1,5", "2.5", "1,500.50": the last separator is the decimal point.
        let (int, frac) = groups.split_at(groups.len() - 1);
        format!("{}.{}", int.concat(), frac[0])
    };
    cleaned.parse().ok()
}

fn currency_code(token: &str) -> Option<&'static str> {
    NORMALIZED_CURRENCY_TOKENS
        .iter()
        .find(|(t, _)| t == token)
        .map(|(_, c)| *c)
}

/// A Latin-letter token must stand alone: the "d" of "AED" is not dong, the "k" of
/// "kada" is not a thousand.
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let latin = |c: char| c.is_ascii_alphabetic();
    let first_latin = text[start..end].chars().next().is_some_and(latin);
    let last_latin = text[start..end].chars().next_back().is_some_and(latin);
    let glued_before = first_latin && text[..start].chars().next_back().is_some_and(latin);
    let glued_after = last_latin && text[end..].chars().next().is_some_and(latin);
    !(glued_before || glued_after)
}

fn find_salaries(norm: &NormalizedText<'_>, rates: &CurrencyRates) -> Vec<Salary> {
    let text = &norm.text;
    let mut out = Vec::new();
    for caps in SALARY_RE.captures_iter(text) {
        let whole = caps.get(0).expect("group 0");
        let alone = |m: &regex::Match<'_>| stands_alone(text, m.start(), m.end());
        let token = ["pre", "post", "pre2"]
            .iter()
            .filter_map(|g| caps.name(g))
            .find(alone)
            .map(|m| m.as_str());
        let Some(code) = token.and_then(currency_code) else {
            continue;
        };
        let a = caps.name("a").expect("amount");
        // "2,500 k" of "2,500 kada": the glued letters are the next word, not a multiplier.
        let a_text = if alone(&a) {
            a.as_str()
        } else {
            a.as_str()
                .trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .trim_end()
        };
        let a_end = a.start() + a_text.len();
        let Some(amount) = parse_amount(a_text) else {
            continue;
        };
        let amount_max = caps.name("b").and_then(|b| parse_amount(b.as_str()));
        if amount <= 0.0 || (code == "VND" && amount < 1000.0) {
            continue;
        }
        // The match ends at the last part that counts: a "p" glued to "per" is not a peso.
        let end = ["b", "pre2", "post"]
            .iter()
            .filter_map(|g| caps.name(g))
            .filter(|m| alone(m))
            .map(|m| m.end())
            .fold(a_end, usize::max);
        let start = ["pre", "a"]
            .iter()
            .filter_map(|g| caps.name(g))
            .find(|m| alone(m))
            .map_or(whole.start(), |m| m.start());
        let after = &text[end..];
        let period = PERIOD_RE
            .captures(after)
            .map_or(SalaryPeriod::Unspecified, |p| {
                if p.name("month").is_some() {
                    SalaryPeriod::Month
                } else if p.name("day").is_some() {
                    SalaryPeriod::Day
                } else if p.name("hour").is_some() {
                    SalaryPeriod::Hour
                } else {
                    SalaryPeriod::Year
                }
            });
        let per_month = match period {
            SalaryPeriod::Hour => 8.0 * 26.0,
            SalaryPeriod::Day => 26.0,
            SalaryPeriod::Week => 4.33,
            SalaryPeriod::Month | SalaryPeriod::Unspecified => 1.0,
            SalaryPeriod::Year => 1.0 / 12.0,
        };
        let usd_per_month = rates.usd_per_unit.get(code).map(|r| {
            let v = amount_max.unwrap_or(amount).max(amount) * r * per_month;
            (v * 100.0).round() / 100.0
        });
        // Trim surrounding spaces the pattern may have taken.
        let (mut s, mut e) = (start, end);
        while s < e && text.as_bytes()[s] == b' ' {
            s += 1;
        }
        while e > s && text.as_bytes()[e - 1] == b' ' {
            e -= 1;
        }
        out.push(Salary {
            amount,
            amount_max,
            currency: code.to_string(),
            period,
            usd_per_month,
            evidence: norm.evidence(s, e),
        });
    }
    out
}

/// The languages whatlang may answer with: the target languages of the ads plus the major
/// languages of the platforms' other traffic. A short list keeps detection fast and stops
/// rare look-alike languages winning on short posts.
static LANGUAGE_DETECTOR: LazyLock<whatlang::Detector> = LazyLock::new(|| {
    use whatlang::Lang::*;
    whatlang::Detector::with_allowlist(vec![
        Eng, Cmn, Tha, Vie, Ind, Tgl, Kor, Jpn, Khm, Mya, Spa, Por, Fra, Deu, Ita, Nld, Tur, Pol,
        Rus, Ukr, Ara, Hin, Ben, Urd,
    ])
});

/// Detection reads at most this many chars: enough for a stable answer, bounded cost.
const LANGUAGE_SAMPLE_CHARS: usize = 300;

/// The language of a post, and whether the detector is sure enough to pick rules by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedLanguage {
    /// ISO 639-1 for the target languages, whatlang's ISO 639-3 code otherwise.
    pub code: String,
    pub reliable: bool,
}

/// Language of the text: script shares for Lao, Khmer and Burmese (whatlang has no Lao and is
/// unreliable on short posts in the other two), whatlang otherwise.
pub fn detect(text: &str) -> Option<DetectedLanguage> {
    let sample = match text.char_indices().nth(LANGUAGE_SAMPLE_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    };
    let (mut letters, mut lao, mut khmer, mut burmese) = (0usize, 0usize, 0usize, 0usize);
    for c in sample.chars() {
        match c as u32 {
            0x0E80..=0x0EFF => lao += 1,
            0x1780..=0x17FF => khmer += 1,
            0x1000..=0x109F => burmese += 1,
            _ if c.is_alphabetic() => {}
            _ => continue,
        }
        letters += 1;
    }
    let share = |n: usize| n * 10 > letters.max(1) * 3;
    let by_script = |code: &str| {
        Some(DetectedLanguage {
            code: code.into(),
            reliable: true,
        })
    };
    if share(lao) {
        return by_script("lo");
    }
    if share(khmer) {
        return by_script("km");
    }
    if share(burmese) {
        return by_script("my");
    }
    let info = LANGUAGE_DETECTOR.detect(sample)?;
    let code = match info.lang() {
        whatlang::Lang::Eng => "en",
        whatlang::Lang::Cmn => "zh",
        whatlang::Lang::Tha => "th",
        whatlang::Lang::Vie => "vi",
        whatlang::Lang::Ind => "id",
        whatlang::Lang::Tgl => "tl",
        whatlang::Lang::Kor => "ko",
        whatlang::Lang::Jpn => "ja",
        whatlang::Lang::Khm => "km",
        whatlang::Lang::Mya => "my",
        other => other.code(),
    };
    Some(DetectedLanguage {
        code: code.to_string(),
        reliable: info.is_reliable(),
    })
}

/// Everything the rules can ask about a post.
pub fn extract(norm: &NormalizedText<'_>, gazetteer: &Gazetteer, rates: &CurrencyRates) -> Signals {
    let mut contacts = find_contacts(norm.original());
    let mut seen = HashSet::new();
    contacts.retain(|c| seen.insert((c.kind, c.value.clone(), c.evidence.start)));
    Signals {
        contacts,
        salaries: find_salaries(norm, rates),
        places: gazetteer.find(norm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates() -> CurrencyRates {
        CurrencyRates {
            as_of: "2026-11-01".into(),
            usd_per_unit: [
                ("USD", 1.0),
                ("IDR", 0.00006),
                ("CNY", 0.14),
                ("THB", 0.028),
                ("VND", 0.00004),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }

    fn salaries(text: &str) -> Vec<Salary> {
        find_salaries(&NormalizedText::new(text), &rates())
    }

    #[test]
    fn parses_amount_notations() {
        assert_eq!(parse_amount("1,500"), Some(1500.0));
        assert_eq!(parse_amount("1.500"), Some(1500.0));
        assert_eq!(parse_amount("1,5 juta"), Some(1_500_000.0));
        assert_eq!(parse_amount("15k"), Some(15_000.0));
        assert_eq!(parse_amount("1万5"), Some(15_000.0));
        assert_eq!(parse_amount("45,000"), Some(45_000.0));
        assert_eq!(parse_amount("2.5"), Some(2.5));
        assert_eq!(parse_amount("1,234,567"), Some(1_234_567.0));
    }

    #[test]
    fn finds_salaries_in_many_notations() {
        let s = salaries("Salary USD 1,500/month, free food");
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].amount, s[0].currency.as_str(), s[0].period),
            (1500.0, "USD", SalaryPeriod::Month)
        );
        assert_eq!(s[0].usd_per_month, Some(1500.0));
        let s = salaries("月薪3000-5000元/月");
        assert_eq!((s[0].amount, s[0].amount_max), (3000.0, Some(5000.0)));
        assert_eq!(s[0].usd_per_month, Some(700.0));
        let s = salaries("เงินเดือน ฿45,000 ต่อเดือน");
        assert_eq!((s[0].amount, s[0].currency.as_str()), (45_000.0, "THB"));
        let s = salaries("gaji Rp 15 juta per bulan");
        assert_eq!(
            (s[0].amount, s[0].currency.as_str(), s[0].period),
            (15_000_000.0, "IDR", SalaryPeriod::Month)
        );
        assert!(salaries("call me at 5 pm").is_empty());
    }

    #[test]
    fn currency_tokens_must_stand_alone_and_match_normalised_text() {
        let s = salaries("AED 4,500 per month");
        assert_eq!(s[0].currency, "AED", "the d of AED is not dong");
        let s = salaries("$2,500 kada buwan");
        assert_eq!(
            (s[0].amount, s[0].period),
            (2500.0, SalaryPeriod::Month),
            "the k of kada is not a thousand"
        );
        let s = salaries("lương 1.500 đô một tháng");
        assert_eq!((s[0].amount, s[0].currency.as_str()), (1500.0, "USD"));
        let s = salaries("500.000đ/ngày");
        assert_eq!(
            (s[0].amount, s[0].currency.as_str(), s[0].period),
            (500_000.0, "VND", SalaryPeriod::Day)
        );
        let s = salaries("sahod ₱80k");
        assert_eq!((s[0].amount, s[0].currency.as_str()), (80_000.0, "PHP"));
    }

    #[test]
    fn salary_evidence_slices_original() {
        let text = "Lương 💰 1.500 USD/tháng";
        let s = salaries(text);
        let chars: Vec<char> = text.chars().collect();
        let ev = &s[0].evidence;
        assert_eq!(chars[ev.start..ev.end].iter().collect::<String>(), ev.text);
        assert!(ev.text.contains("1.500 USD"), "{}", ev.text);
    }

    #[test]
    fn finds_contacts() {
        let c = find_contacts(
            "Contact t.me/hr_boss88 or wa.me/85512345678, WeChat: kkpark2024 or hr@good.com @recruit_kh",
        );
        let kinds: Vec<(ContactKind, &str)> =
            c.iter().map(|c| (c.kind, c.value.as_str())).collect();
        assert!(
            kinds.contains(&(ContactKind::Telegram, "hr_boss88")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(ContactKind::Whatsapp, "85512345678")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(ContactKind::Wechat, "kkpark2024")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(ContactKind::Email, "hr@good.com")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(ContactKind::Telegram, "recruit_kh")),
            "{kinds:?}"
        );
        assert!(
            !kinds.iter().any(|(k, _)| *k == ContactKind::Phone),
            "wa.me number is not a second contact: {kinds:?}"
        );
        let c = find_contacts("Call +855 12 345 678 now");
        assert_eq!(c[0].kind, ContactKind::Phone);
        assert_eq!(c[0].value, "85512345678");
        assert_eq!(c[0].country.as_deref(), Some("KH"));
        let c = find_contacts(
            "WhatsApp wa.me/66812345678 or see https://jobs.example.co.uk/apply, hr@mail.example.com.kh",
        );
        assert_eq!(
            c.iter()
                .find(|c| c.kind == ContactKind::Whatsapp)
                .unwrap()
                .country
                .as_deref(),
            Some("TH")
        );
        assert_eq!(
            c.iter()
                .find(|c| c.kind == ContactKind::Url)
                .unwrap()
                .registered_domain
                .as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(
            c.iter()
                .find(|c| c.kind == ContactKind::Email)
                .unwrap()
                .registered_domain
                .as_deref(),
            Some("example.com.kh")
        );
        assert!(
            find_contacts("Reg. no. +00 0004 1576 00")
                .iter()
                .all(|c| c.kind != ContactKind::Phone),
            "not a valid number"
        );
    }

    #[test]
    fn detects_languages() {
        assert_eq!(
            detect("We are hiring customer service staff, salary is high")
                .map(|l| l.code)
                .as_deref(),
            Some("en")
        );
        assert_eq!(
            detect("ຮັບສະໝັກພະນັກງານ ເງິນເດືອນສູງ").map(|l| l.code).as_deref(),
            Some("lo")
        );
        assert_eq!(
            detect("招聘客服人员，月薪一万五，包吃包住")
                .map(|l| l.code)
                .as_deref(),
            Some("zh")
        );
    }
}
