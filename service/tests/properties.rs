//! Property tests: normalisation never panics on arbitrary Unicode, and every evidence span the
//! rules and signals report slices the ORIGINAL text exactly, on char boundaries. (Linear time
//! is structural: rule patterns compile with the `regex` crate, whose automata never backtrack,
//! and keywords run through one Aho-Corasick automaton.)

mod common;

use std::sync::LazyLock;

use proptest::prelude::*;
use scamwatch::message::Evidence;
use scamwatch::normalize::NormalizedText;
use scamwatch::rules::RulePack;
use scamwatch::signals;

static PACK: LazyLock<RulePack> =
    LazyLock::new(|| RulePack::load(&common::repo_root().join("models/rules/pack.toml")).unwrap());

fn slices_original(text: &str, ev: &Evidence) -> bool {
    let chars: Vec<char> = text.chars().collect();
    ev.start <= ev.end
        && ev.end <= chars.len()
        && chars[ev.start..ev.end].iter().collect::<String>() == ev.text
}

/// Text mixing the scripts, disguises and symbols the ads use.
fn adlike() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "Telegram",
        "T e l e g r a m",
        "ᴛᴇʟᴇɢʀᴀᴍ",
        "Te1egram",
        "W.A",
        "@hr_kh88",
        "wa.me/85512345678",
        "+855 12 345 678",
        "USD 1,500/month",
        "1.500 đô",
        "月薪3000-5000元/月",
        "฿45,000",
        "Rp 15 juta",
        "西港",
        "Sihanoukville",
        "กัมพูชา",
        "ជ្រើសរើស",
        "ຮັບສະໝັກ",
        "မြဝတီ",
        "텔레그램",
        "テレグラム",
        "📲",
        "👉",
        "\u{200d}",
        "\u{202e}",
        "e\u{301}",
        " ",
        "\n",
        "beware",
        "free food",
        "包吃包住",
        "typing",
        "ＦＵＬＬＷＩＤＴＨ",
        "ß",
        "İ",
        "ﬁ",
    ]);
    prop::collection::vec(
        prop_oneof![pieces.prop_map(str::to_string), any::<String>()],
        0..24,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn normalisation_never_panics_and_maps_back(text in any::<String>()) {
        let n = NormalizedText::new(&text);
        for (start, _) in n.text.char_indices() {
            let end = start + n.text[start..].chars().next().unwrap().len_utf8();
            let ev = n.evidence(start, end);
            prop_assert!(slices_original(&text, &ev));
        }
    }

    #[test]
    fn every_reported_span_slices_the_original(text in adlike()) {
        let norm = NormalizedText::new(&text);
        let sig = signals::extract(&norm, &PACK.gazetteer, &PACK.rates);
        let outcome = PACK.evaluate(&norm, &sig, None);
        for hit in &outcome.hits {
            for ev in &hit.evidence {
                prop_assert!(slices_original(&text, ev), "rule {} span {:?}", hit.rule_id, ev);
            }
        }
        let spans = sig.contacts.iter().map(|c| &c.evidence)
            .chain(sig.salaries.iter().map(|s| &s.evidence))
            .chain(sig.places.iter().map(|p| &p.evidence));
        for ev in spans {
            prop_assert!(slices_original(&text, ev), "signal span {:?}", ev);
        }
    }
}
