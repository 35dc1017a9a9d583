//! Normalise: the one place text is folded before matching. NFKC, case folding, confusable
//! folding (decancer: small caps, fullwidth, Cyrillic/Greek look-alikes, styled letters),
//! leetspeak digits inside words, separators inside spaced-out words ("T e l e g r a m",
//! "W.A"), and emoji removal. Every normalised byte remembers the original char it came from, so
//! a match in normalised text maps back to an [`Evidence`] span of the ORIGINAL text.

use unicode_normalization::UnicodeNormalization;

use crate::message::Evidence;

/// Normalised text plus the way back to the original.
#[derive(Debug, Clone)]
pub struct NormalizedText<'a> {
    original: &'a str,
    /// The folded text that rules match against.
    pub text: String,
    /// For each byte of `text`: byte range in `original` of the char it came from.
    origin: Vec<(u32, u32)>,
}

/// A char of the output with the original byte range that produced it.
#[derive(Clone, Copy)]
struct Piece {
    ch: char,
    start: u32,
    end: u32,
}

/// Scripts written without case or look-alike problems: kept exactly as NFKC gives them
/// (decancer would strip Thai/Khmer/Lao/Burmese vowel signs as "diacritics").
fn keep_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF     // Thai, Lao
        | 0x1000..=0x109F   // Myanmar
        | 0xAA60..=0xAA7F   // Myanmar Extended-A
        | 0x1780..=0x17FF   // Khmer
        | 0x19E0..=0x19FF   // Khmer symbols
        | 0x1100..=0x11FF   // Hangul Jamo
        | 0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3130..=0x318F   // Hangul compatibility Jamo
        | 0x3400..=0x4DBF   // CJK Ext A
        | 0x4E00..=0x9FFF   // CJK
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0x3000..=0x303F   // CJK punctuation
        | 0xFF00..=0xFFEF   // half/fullwidth forms (NFKC has already folded the letters)
    )
}

fn is_emoji_or_symbol(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE00..=0xFE0F | 0x200D | 0x20E3 | 0xE0020..=0xE007F
    )
}

/// Fold one already-NFKC'd char into `out`.
fn fold_char(c: char, start: u32, end: u32, out: &mut Vec<Piece>) {
    if c.is_ascii() {
        out.push(Piece {
            ch: c.to_ascii_lowercase(),
            start,
            end,
        });
        return;
    }
    if keep_script(c) {
        out.push(Piece { ch: c, start, end });
        return;
    }
    if c.is_whitespace() {
        out.push(Piece {
            ch: ' ',
            start,
            end,
        });
        return;
    }
    if is_emoji_or_symbol(c) {
        return;
    }
    let cured = decancer::cure_char(c, decancer::Options::default());
    match cured {
        decancer::Translation::Character(ch) => out.push(Piece { ch, start, end }),
        decancer::Translation::String(s) => {
            for ch in s.chars() {
                out.push(Piece { ch, start, end });
            }
        }
        decancer::Translation::None => {}
    }
}

/// Digits that stand for letters when written inside a word ("te1egram", "wh4tsapp").
fn leet_letter(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'l',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        _ => return None,
    })
}

fn is_word_letter(c: char) -> bool {
    c.is_ascii_lowercase()
}

/// Replace leet digits that sit between two letters.
fn fold_leetspeak(pieces: &mut [Piece]) {
    for i in 1..pieces.len().saturating_sub(1) {
        if is_word_letter(pieces[i - 1].ch)
            && is_word_letter(pieces[i + 1].ch)
            && let Some(l) = leet_letter(pieces[i].ch)
        {
            pieces[i].ch = l;
        }
    }
}

fn is_inword_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '.' | '-' | '_' | '*' | '·' | '|' | '/' | '\'' | '~' | '+'
    )
}

/// Join spaced-out words: runs of single letters separated by 1-2 separator chars
/// ("t e l e g r a m", "w.a", "t-e-l-e"). Runs of two letters need a non-space separator so
/// ordinary text such as "a b" is left alone.
fn join_spaced_letters(pieces: Vec<Piece>) -> Vec<Piece> {
    let n = pieces.len();
    let isolated = |i: usize| {
        is_word_letter(pieces[i].ch)
            && (i == 0 || !pieces[i - 1].ch.is_alphanumeric())
            && (i + 1 >= n || !pieces[i + 1].ch.is_alphanumeric())
    };
    let mut drop = vec![false; n];
    let mut i = 0;
    while i < n {
        if !isolated(i) {
            i += 1;
            continue;
        }
        // Collect the run of isolated letters starting at i.
        let mut letters = vec![i];
        let mut j = i + 1;
        let mut only_spaces = true;
        loop {
            let mut k = j;
            while k < n && k - j < 2 && is_inword_separator(pieces[k].ch) {
                k += 1;
            }
            if k == j || k >= n || !isolated(k) {
                break;
            }
            only_spaces &= pieces[j..k].iter().all(|p| p.ch == ' ');
            letters.push(k);
            j = k + 1;
        }
        let long_enough = letters.len() >= 3 || (letters.len() == 2 && !only_spaces);
        if long_enough {
            for w in letters.windows(2) {
                for d in drop.iter_mut().take(w[1]).skip(w[0] + 1) {
                    *d = true;
                }
            }
        }
        i = letters.last().copied().unwrap_or(i) + 1;
    }
    pieces
        .into_iter()
        .zip(drop)
        .filter_map(|(p, d)| (!d).then_some(p))
        .collect()
}

impl<'a> NormalizedText<'a> {
    pub fn new(original: &'a str) -> Self {
        let mut pieces = Vec::with_capacity(original.len());
        let mut buf = [0u8; 4];
        for (start, c) in original.char_indices() {
            let end = (start + c.len_utf8()) as u32;
            let start = start as u32;
            if c.is_ascii() {
                fold_char(c, start, end, &mut pieces);
                continue;
            }
            for n in c.encode_utf8(&mut buf).nfkc() {
                fold_char(n, start, end, &mut pieces);
            }
        }
        fold_leetspeak(&mut pieces);
        let pieces = join_spaced_letters(pieces);
        let mut text = String::with_capacity(pieces.len());
        let mut origin = Vec::with_capacity(pieces.len());
        for p in pieces {
            text.push(p.ch);
            origin.extend(std::iter::repeat_n((p.start, p.end), p.ch.len_utf8()));
        }
        Self {
            original,
            text,
            origin,
        }
    }

    pub fn original(&self) -> &'a str {
        self.original
    }

    /// Byte range in the original text covered by normalised bytes `[start, end)`.
    pub fn original_bytes(&self, start: usize, end: usize) -> (usize, usize) {
        if start >= end || end > self.origin.len() {
            return (0, 0);
        }
        (
            self.origin[start].0 as usize,
            self.origin[end - 1].1 as usize,
        )
    }

    /// Evidence for normalised bytes `[start, end)`: char offsets and text of the original.
    pub fn evidence(&self, start: usize, end: usize) -> Evidence {
        let (bs, be) = self.original_bytes(start, end);
        evidence_from_bytes(self.original, bs, be)
    }
}

/// Evidence for a byte range of `text` (both ends on char boundaries).
pub fn evidence_from_bytes(text: &str, start: usize, end: usize) -> Evidence {
    let start_char = text[..start].chars().count();
    let len = text[start..end].chars().count();
    Evidence {
        start: start_char,
        end: start_char + len,
        text: text[start..end].to_string(),
    }
}

/// Normalise a keyword or pattern source the same way as the text it will meet.
pub fn normalize_term(term: &str) -> String {
    NormalizedText::new(term).text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        NormalizedText::new(s).text
    }

    #[test]
    fn folds_disguises_scammers_use() {
        assert_eq!(norm("T e l e g r a m"), "telegram");
        assert_eq!(norm("ᴛᴇʟᴇɢʀᴀᴍ"), "telegram");
        assert_eq!(norm("Te1egram"), "telegram");
        assert_eq!(norm("wh4tsapp"), "whatsapp");
        assert_eq!(norm("ＴＥＬＥＧＲＡＭ"), "telegram");
        assert_eq!(norm("W.A"), "wa");
        assert_eq!(norm("Tele📱gram"), "telegram");
        assert_eq!(norm("Тelegram"), "telegram", "Cyrillic Т");
    }

    #[test]
    fn leaves_ordinary_text_and_native_scripts_alone() {
        assert_eq!(
            norm("a b c"),
            "abc",
            "three isolated letters are a spaced word"
        );
        assert_eq!(norm("I am a b"), "i am a b");
        assert_eq!(norm("USD 1500"), "usd 1500");
        assert_eq!(norm("ระวังงานออนไลน์"), "ระวังงานออนไลน์");
        assert_eq!(norm("招聘客服"), "招聘客服");
        assert_eq!(norm("ជ្រើសរើសបុគ្គលិក"), "ជ្រើសរើសបុគ្គលិក");
        assert_eq!(norm("tuyển dụng"), "tuyen dung");
    }

    #[test]
    fn evidence_points_into_the_original() {
        let original = "Liên hệ 👉 T e l e g r a m @job88 lương 1500$";
        let n = NormalizedText::new(original);
        let at = n.text.find("telegram").unwrap();
        let ev = n.evidence(at, at + "telegram".len());
        assert_eq!(ev.text, "T e l e g r a m");
        let chars: Vec<char> = original.chars().collect();
        assert_eq!(chars[ev.start..ev.end].iter().collect::<String>(), ev.text);
    }
}
