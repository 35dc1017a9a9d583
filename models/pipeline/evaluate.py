"""Step 8: evaluate the shipped model on held-out rows only (data.py split == "test": 20% of every
shared file by content hash, plus team_written meta.split == "heldout"), measure throughput, and write
~/.cache/scamwatch/pipeline/metrics.json and models/MODEL_CARD.md.

Scores are computed from the cached batch-1 int8 embeddings + the fp32 head in numpy, which equals the
ONNX `logit` output to ~1e-6 (package.py checks this on the reference texts).
"""
from __future__ import annotations

import collections
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import data  # noqa: E402
from embed import EmbeddingCache  # noqa: E402
from metrics import average_precision, best_f1, ece, f1_ci95, prf, roc_auc  # noqa: E402

R = lambda v, n=4: None if v is None or (isinstance(v, float) and np.isnan(v)) else round(float(v), n)  # noqa: E731


def scores(rows, head, hw):
    cache = EmbeddingCache()
    E = cache.get([r.text for r in rows]).astype(np.float64)
    tok = common.load_tokenizer()
    ids = common.encode_texts(tok, [r.text for r in rows])
    w_emb, w_tok, b = hw["w_emb"], hw["w_tok"].astype(np.float64), float(hw["b"][0])
    pres = common.presence_ids(tok, [r.text for r in rows])
    z = E @ w_emb + np.array([w_tok[sorted(set(x))].sum() / np.sqrt(len(set(x))) for x in pres]) + b
    a, c = head["platt"]["a"], head["platt"]["b"]
    return z, 1 / (1 + np.exp(-(a * z + c))), ids


def binary_block(y, p, th):
    y = np.asarray(y)
    out = {"n": int(len(y)), "pos": int(y.sum())}
    for name, t in th.items():
        pr, rc, f, tp, fp, fn = prf(y, p >= t)
        out[name] = {"threshold": t, "precision": R(pr), "recall": R(rc), "f1": R(f), "tp": tp, "fp": fp, "fn": fn,
                     "fp_rate": R(fp / max(1, int((y == 0).sum()))), "f1_ci95": [R(v) for v in f1_ci95(y, p >= t)]}
    out["pr_auc"] = R(average_precision(y, p))
    out["roc_auc"] = R(roc_auc(y, p))
    out["ece"] = R(ece(y, p))
    bf, bt = best_f1(y, p)
    out["oracle_best_f1"] = {"f1": R(bf), "threshold": R(bt, 3)}
    return out


def team_block(scored: list, th: dict) -> dict:
    """Held-out team-written rows [(row, p)]: overall, per language, per kind and the errors at flag."""
    tw = [r for r, _ in scored]
    pt = np.array([pp for _, pp in scored])
    yt = np.array([r.label for r in tw])
    out = {"all": binary_block(yt, pt, th)}
    per_lang = {}
    for lang in sorted({r.lang for r in tw}):
        mm = np.array([r.lang == lang for r in tw])
        e = {"n": int(mm.sum()), "pos": int(yt[mm].sum())}
        for k, t in th.items():
            pos, neg = pt[mm][yt[mm] == 1], pt[mm][yt[mm] == 0]
            e[k] = {"recall": R((pos >= t).mean()) if len(pos) else None,
                    "fp_rate": R((neg >= t).mean()) if len(neg) else None,
                    "caught": "%d/%d" % ((pos >= t).sum(), len(pos)),
                    "false_flags": "%d/%d" % ((neg >= t).sum(), len(neg))}
        e["roc_auc"] = R(roc_auc(yt[mm], pt[mm]))
        per_lang[lang] = e
    out["per_language"] = per_lang
    per_kind = {}
    for kind in sorted({r.kind for r in tw}):
        mm = np.array([r.kind == kind for r in tw])
        lab = int(yt[mm][0])
        e = {"n": int(mm.sum()), "label": lab}
        for k, t in th.items():
            e[k + ("_recall" if lab else "_fp_rate")] = R((pt[mm] >= t).mean())
        per_kind[kind] = e
    out["per_kind"] = per_kind
    out["errors_at_flag"] = [
        {"id": r.uid, "lang": r.lang, "kind": r.kind, "label": r.label, "p": R(pp, 3), "text": r.text[:160]}
        for r, pp in scored if (pp >= th["flag"]) != bool(r.label)]
    return out


def main():
    t0 = time.time()
    with open(common.HEAD_JSON) as f:
        head = json.load(f)
    hw = np.load(common.HEAD_NPZ)
    th = {k: head["thresholds"][k] for k in ("flag", "high_precision")}
    rows = [r for r in data.load_all() if r.split == "test"]
    z, p, ids = scores(rows, head, hw)
    y = np.array([r.label for r in rows])
    ds = np.array([r.dataset for r in rows])
    res = {"thresholds": th, "datasets": {}, "team_written": {}}

    for name in ("emscad_balanced", "orfd_balanced", "orfd_sheets"):
        m = ds == name
        res["datasets"][name] = binary_block(y[m], p[m], th)
    m = ds == "emscad_raw_fraud"
    res["datasets"]["emscad_raw_fraud"] = {"n": int(m.sum()), "note": "positives only",
                                           **{k: {"threshold": t, "recall": R((p[m] >= t).mean())} for k, t in th.items()}}
    for name, key in (("id_sms", "spam"), ("zh_telecom", "fraud_type")):
        m = ds == name
        e = {"n": int(m.sum()), "note": "not recruitment fraud: every flag is a false positive"}
        for k, t in th.items():
            e[k] = {"threshold": t, "fp_rate": R((p[m] >= t).mean())}
        sub = collections.defaultdict(list)
        for r, pp in zip([r for r in rows if r.dataset == name], p[m]):
            v = r.meta.get(key)
            sub["%s=%s" % (key, bool(v) if key == "spam" else ("0 (normal)" if not v else ">0 (other fraud)"))].append(pp)
        e["by_subset_fp_rate_at_flag"] = {k: {"n": len(v), "fp_rate": R((np.array(v) >= th["flag"]).mean())}
                                          for k, v in sorted(sub.items())}
        e["ece"] = R(ece(np.zeros(int(m.sum())), p[m]))
        res["datasets"][name] = e

    # team written, per language and per kind: the held-out third of team_written.jsonl, and each
    # evaluation-only batch of team_written_eval.jsonl on its own
    tw_all = [(r, pp) for r, pp in zip(rows, p) if r.dataset == "team_written"]
    main_rows = [(r, pp) for r, pp in tw_all if not r.meta.get("eval_only")]
    if main_rows:
        res["team_written"] = team_block(main_rows, th)
    by_batch = collections.defaultdict(list)
    for r, pp in tw_all:
        if r.meta.get("eval_only"):
            by_batch[r.meta["batch"]].append((r, pp))
    res["team_written_eval_batches"] = {str(b): team_block(by_batch[b], th) for b in sorted(by_batch)}

    # speed of the shipped ONNX
    from bench import bench
    res["speed"] = bench(common.INT8_ONNX)
    res["speed"]["setup"] = "onnxruntime 1.31.1 CPUExecutionProvider, intra_op_num_threads=2, random ids, full-length rows"
    with open(common.METRICS_JSON, "w") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
    print(json.dumps({k: v for k, v in res.items() if not k.startswith("team_written")}, indent=1,
                     ensure_ascii=False)[:6000])
    blocks = [("team_written", res.get("team_written"))] + [
        ("team_written batch " + b, blk) for b, blk in res["team_written_eval_batches"].items()]
    for name, blk in blocks:
        if blk:
            print(name, json.dumps(blk["per_language"], ensure_ascii=False))
            print(name, json.dumps(blk["per_kind"], ensure_ascii=False))
    import card
    card.write(res, head)
    print("wrote %s and %s in %.0fs" % (common.METRICS_JSON, common.MODEL_CARD, time.time() - t0))


if __name__ == "__main__":
    main()
