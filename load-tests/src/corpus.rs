//! Corpus: deterministic synthetic traffic. Scam-compound ads and honest posts in several
//! languages, exact reposts, and malformed messages of many kinds, each tagged with what the
//! service should do with it, so a test or load run can check every output.

/// What the service should produce for a generated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// A valid post: a verdict with this post id. `scam` says which template family made it.
    Verdict {
        id: String,
        scam: bool,
        lang: &'static str,
    },
    /// A malformed message: a dead-letter record with this reason.
    DeadLetter { reason: &'static str },
}

/// One message to produce.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Message key (unique per message; dead letters carry it back).
    pub key: String,
    /// `None` = empty (tombstone) payload.
    pub payload: Option<Vec<u8>>,
    pub expected: Expected,
}

/// Traffic mix.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// Fraction of messages that are malformed.
    pub malformed: f64,
    /// Fraction of valid posts that are scam-compound ads.
    pub scam: f64,
    /// Fraction of valid posts that repeat an earlier text (reposts).
    pub repost: f64,
    /// Multiply post length (long-post scenario).
    pub length_factor: usize,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            malformed: 0.05,
            scam: 0.3,
            repost: 0.1,
            length_factor: 1,
        }
    }
}

/// SplitMix64: tiny, deterministic, good enough to pick templates.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// (lang, template) with slots {salary} {place} {contact} {role} {n}.
const SCAM: &[(&str, &str)] = &[
    (
        "en",
        "URGENT HIRING!! {role} needed in {place}. Salary {salary}/month + bonus. Free food, free accommodation, free flight ticket. No experience needed, age 18-35, English speaking. Contact Telegram {contact} now! Ref {n}",
    ),
    (
        "en",
        "We are hiring {role} for a big company in {place}. {salary} monthly, visa provided, 6 month contract. Fly to Bangkok then transfer. WhatsApp {contact} (ref {n})",
    ),
    (
        "en",
        "Looking for bilingual staff 🇰🇭 {place} 💰 {salary} per month 🏠 free housing ✈️ free ticket 📲 T e l e g r a m {contact} #{n}",
    ),
    (
        "zh",
        "高薪诚聘{role}，工作地点{place}，月薪{salary}，包吃包住，包机票，无需经验，年龄18-35岁。联系飞机：{contact} 编号{n}",
    ),
    (
        "zh",
        "急招！{place}大公司招聘客服，底薪{salary}，会中文即可，马上出发，微信：{contact}（{n}）",
    ),
    (
        "th",
        "รับสมัครด่วน! งาน{role}ที่{place} เงินเดือน {salary} ฟรีที่พัก อาหารฟรี ตั๋วเครื่องบินฟรี ไม่ต้องมีประสบการณ์ ติดต่อไลน์ {contact} รหัส {n}",
    ),
    (
        "vi",
        "Tuyển gấp nhân viên {role} tại {place}, lương {salary}/tháng, bao ăn ở, bao vé máy bay, không cần kinh nghiệm. Liên hệ Telegram {contact} mã {n}",
    ),
    (
        "id",
        "Lowongan kerja {role} di {place}! Gaji {salary} per bulan, makan tinggal gratis, tiket pesawat ditanggung, tanpa pengalaman. Hubungi WA {contact} kode {n}",
    ),
];

const HONEST: &[(&str, &str)] = &[
    (
        "en",
        "Brightway Logistics Co., Ltd. (registration no. 0105551234) is hiring a warehouse supervisor in Rayong. Salary THB 25,000 per month, social security, 5-day week. Apply at careers@brightway-logistics.example with your CV. Ref {n}",
    ),
    (
        "en",
        "Our bakery on Main Street needs a part-time cashier. Weekend shifts, $15 an hour, training provided. Drop by with your resume or call the store. Posting {n}",
    ),
    (
        "en",
        "Beware of fake job offers: ads promising $1,500 a month for typing work in Cambodia with free flights and contact only via Telegram are scams used by trafficking gangs. Do not trust them. Notice {n}",
    ),
    (
        "en",
        "Had a great weekend hiking with friends, the view from the top was worth every step. Photo dump coming soon! Post {n}",
    ),
    (
        "zh",
        "谨防诈骗！近期有人以高薪招聘客服为名，诱骗求职者前往柬埔寨西港，包吃包住包机票，联系方式只有飞机号。千万不要相信。提醒{n}",
    ),
    (
        "zh",
        "上海某贸易有限公司招聘会计一名，统一社会信用代码91310000MA1FL0000X，月薪8000-10000元，五险一金，请投递简历至hr@trade.example。{n}",
    ),
    (
        "th",
        "ระวัง! มิจฉาชีพประกาศรับสมัครงานแอดมินที่กัมพูชา เงินเดือนสูง ที่พักฟรี ติดต่อทางไลน์เท่านั้น อย่าหลงเชื่อ เตือนภัย {n}",
    ),
    (
        "vi",
        "Cảnh báo lừa đảo: các tin tuyển dụng việc nhẹ lương cao ở Campuchia, bao vé máy bay, liên hệ qua Telegram là bẫy buôn người. Đừng tin! Bài {n}",
    ),
    (
        "id",
        "Waspada penipuan lowongan kerja ke Kamboja dengan gaji tinggi dan tiket gratis. KBRI mengimbau masyarakat untuk tidak percaya. Info {n}",
    ),
    (
        "id",
        "PT Maju Bersama Tbk membuka lowongan staf akuntansi di Jakarta. Gaji sesuai UMR, BPJS, kirim lamaran ke rekrutmen@majubersama.example. Kode {n}",
    ),
];

const ROLES: &[&str] = &[
    "typing",
    "customer service",
    "game promoter",
    "online sales",
    "crypto trader",
    "data entry",
];
const PLACES: &[&str] = &[
    "Sihanoukville",
    "Cambodia",
    "KK Park",
    "Myawaddy",
    "Golden Triangle",
    "Poipet",
    "Bavet",
    "西港",
    "柬埔寨",
    "กัมพูชา",
    "Campuchia",
    "Kamboja",
];
const SALARIES: &[&str] = &[
    "USD 1,500",
    "$1200",
    "1500 USD",
    "2000美金",
    "$2,000",
    "1,800 USD",
    "15k USDT",
];
const CONTACTS: &[&str] = &[
    "@hr_kh88",
    "t.me/jobs_asia",
    "wa.me/85512345678",
    "@recruit_sea",
    "+855 96 555 1234",
    "@bigboss_hr",
];

/// Malformed kinds and the dead-letter reason each must get.
pub const MALFORMED_KINDS: &[(&str, &str)] = &[
    ("not_json", "not_json"),
    ("not_utf8", "not_utf8"),
    ("missing_id", "schema_violation"),
    ("wrong_type", "schema_violation"),
    ("unknown_field", "schema_violation"),
    ("duplicate_keys", "schema_violation"),
    ("empty_text", "empty_text"),
    ("wrong_schema_version", "unsupported_schema_version"),
    ("too_large", "payload_too_large"),
    ("empty_payload", "empty_payload"),
    ("deep_nesting", "not_json"),
    ("text_too_long", "text_too_long"),
];

fn malformed(kind: &str, n: u64) -> Option<Vec<u8>> {
    let b = |s: String| Some(s.into_bytes());
    match kind {
        "not_json" => b(format!("this is not json {n}")),
        "not_utf8" => {
            let mut v = format!("{{\"id\":\"bad-{n}\",\"text\":\"").into_bytes();
            v.extend_from_slice(&[0xff, 0xfe, 0xc3]);
            v.extend_from_slice(b"\"}");
            Some(v)
        }
        "missing_id" => b(format!("{{\"text\":\"no id here {n}\"}}")),
        "wrong_type" => b(format!("{{\"id\":{n},\"text\":\"id is a number\"}}")),
        "unknown_field" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"x\",\"surprise\":true}}"
        )),
        "duplicate_keys" => b(format!(
            "{{\"id\":\"bad-{n}\",\"id\":\"bad2-{n}\",\"text\":\"x\"}}"
        )),
        "empty_text" => b(format!("{{\"id\":\"bad-{n}\",\"text\":\"   \"}}")),
        "wrong_schema_version" => b(format!(
            "{{\"schema\":\"scamwatch.post.v0\",\"id\":\"bad-{n}\",\"text\":\"x\"}}"
        )),
        "too_large" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"{}\"}}",
            "A".repeat(300 * 1024)
        )),
        "empty_payload" => None,
        "deep_nesting" => b(format!("{}{}", "[".repeat(5000), "]".repeat(5000))),
        "text_too_long" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"{}\"}}",
            "long ".repeat(12_000)
        )),
        _ => unreachable!("unknown malformed kind {kind}"),
    }
}

fn fill(template: &str, rng: &mut Rng, n: u64) -> String {
    template
        .replace("{role}", rng.pick(ROLES))
        .replace("{place}", rng.pick(PLACES))
        .replace("{salary}", rng.pick(SALARIES))
        .replace("{contact}", rng.pick(CONTACTS))
        .replace("{n}", &n.to_string())
}

/// Generate message `i` of a run (deterministic in `seed`, `i` and `mix`).
pub fn generate(seed: u64, i: u64, mix: Mix) -> Generated {
    let mut rng = Rng::new(seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let key = format!("m-{seed}-{i}");
    if rng.unit() < mix.malformed {
        let (kind, reason) = rng.pick(MALFORMED_KINDS);
        return Generated {
            key,
            payload: malformed(kind, i),
            expected: Expected::DeadLetter { reason },
        };
    }
    let scam = rng.unit() < mix.scam;
    let (lang, template) = rng.pick(if scam { SCAM } else { HONEST });
    // Reposts reuse the text of an earlier message number.
    let n = if rng.unit() < mix.repost && i > 10 {
        i / 10
    } else {
        i
    };
    let mut text = fill(template, &mut rng, n);
    if mix.length_factor > 1 {
        text = std::iter::repeat_n(text.as_str(), mix.length_factor)
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    let id = format!("post-{seed}-{i}");
    let post = serde_json::json!({
        "id": id,
        "text": text,
        "platform": if i.is_multiple_of(3) { "jobboard" } else { "social" },
        "author_id": format!("acct-{}", rng.next_u64() % 5000),
        "created_at": "2026-11-25T00:00:00Z",
    });
    Generated {
        key,
        payload: Some(serde_json::to_vec(&post).expect("json")),
        expected: Expected::Verdict { id, scam, lang },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_mixed() {
        let mix = Mix::default();
        let a: Vec<_> = (0..2000).map(|i| generate(7, i, mix)).collect();
        let b: Vec<_> = (0..2000).map(|i| generate(7, i, mix)).collect();
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.payload == y.payload && x.expected == y.expected)
        );
        let bad = a
            .iter()
            .filter(|g| matches!(g.expected, Expected::DeadLetter { .. }))
            .count();
        assert!((50..150).contains(&bad), "about 5% malformed, got {bad}");
        let kinds: std::collections::HashSet<_> = a
            .iter()
            .filter_map(|g| match &g.expected {
                Expected::DeadLetter { reason } => Some(*reason),
                _ => None,
            })
            .collect();
        assert!(kinds.len() >= 8, "{kinds:?}");
    }
}
