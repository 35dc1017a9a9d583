"""Batch-invariant int8: per-post activation scales instead of per-call ones.

quantize_dynamic emits DynamicQuantizeLinear, which picks one uint8 scale and zero point from the
min/max of the whole activation tensor [batch, seq, hidden]. At batch 1 that is the post's own
range; in a padded batch it is the range of every post in the call and of the padding, so a post's
score depended on its batch-mates (max |logit diff| 0.445 on a batch of 8 reference texts).

`rewrite` replaces each DynamicQuantizeLinear with the same arithmetic done per post over its real
tokens only:
    min_b = min(0, min over unmasked x[b]),  max_b = max(0, max over unmasked x[b])
    scale_b = (max_b - min_b) / 255  (1 when max_b == min_b),  zp_b = round_half_even(clip(-min_b / scale_b, 0, 255))
    xq = QuantizeLinear(x, scale, zp, axis=0)
ORT's MatMulInteger takes only a scalar input zero point, so the product is computed with zero point 0
and corrected in int32: sum_k (xq - zp_b) w = sum_k xq w - zp_b * colsum(w) (exact). The weight
scale multiply downstream broadcasts over the per-post scale [batch, 1, 1].

At batch 1 without padding every step is the arithmetic of DynamicQuantizeLinear, so run unfused
(ONNX Runtime's "basic" level, common.GRAPH_OPTIMIZATION) the graph's outputs are bit-identical to
the per-call graph's; in a padded batch a post's logit equals its batch-1 logit up to float summation
order (quantize.py and package.py check both). Row ops in the rest of the graph (LayerNorm, masked
softmax, masked mean pool) already ignore the other rows and the padding. The "extended"/"all"
levels fuse the quantized MatMuls of the per-call graph into DynamicQuantizeMatMul, whose rounding
differs (embeddings move by up to 0.012), so scores are defined at the "basic" level.
"""
from __future__ import annotations

import collections

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MASK_INPUT = "attention_mask"


def rewrite(model: onnx.ModelProto) -> int:
    """Rewrites `model` in place; returns the number of DynamicQuantizeLinear nodes replaced."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consumers = collections.defaultdict(list)
    for n in g.node:
        for i in n.input:
            consumers[i].append(n)

    new_nodes, new_inits = [], []
    const = {}

    def scalar(name, value, dtype):
        if name not in const:
            t = numpy_helper.from_array(np.array(value, dtype=dtype), name)
            new_inits.append(t)
            const[name] = name
        return name

    f0 = scalar("rowq.zero_f", 0.0, np.float32)
    f1 = scalar("rowq.one_f", 1.0, np.float32)
    f255 = scalar("rowq.qrange", 255.0, np.float32)
    u0 = scalar("rowq.zero_u8", 0, np.uint8)
    axes2 = numpy_helper.from_array(np.array([2], dtype=np.int64), "rowq.axes2")
    new_inits.append(axes2)
    mask = "rowq.mask"
    head = [
        helper.make_node("Cast", [MASK_INPUT], ["rowq.mask_bool"], to=TensorProto.BOOL, name="rowq.mask_cast"),
        helper.make_node("Unsqueeze", ["rowq.mask_bool", "rowq.axes2"], [mask], name="rowq.mask_unsqueeze"),
    ]

    replaced = 0
    out = []
    tails = {}  # MatMulInteger name -> the int32 zero-point correction emitted right after it
    for n in g.node:
        if n.op_type != "DynamicQuantizeLinear":
            out.append(n)
            continue
        x = n.input[0]
        xq, scale, zp = n.output
        p = "rowq.%d." % replaced
        out += [
            # padding must not widen a post's range: masked positions count as 0, and 0 is always in range
            helper.make_node("Where", [mask, x, f0], [p + "xm"], name=p + "where"),
            helper.make_node("ReduceMin", [p + "xm"], [p + "mn0"], axes=[1, 2], keepdims=1, name=p + "min"),
            helper.make_node("ReduceMax", [p + "xm"], [p + "mx0"], axes=[1, 2], keepdims=1, name=p + "max"),
            helper.make_node("Min", [p + "mn0", f0], [p + "mn"], name=p + "min0"),
            helper.make_node("Max", [p + "mx0", f0], [p + "mx"], name=p + "max0"),
            helper.make_node("Sub", [p + "mx", p + "mn"], [p + "range"], name=p + "range"),
            helper.make_node("Div", [p + "range", f255], [p + "s0"], name=p + "s0"),
            helper.make_node("Equal", [p + "mx", p + "mn"], [p + "flat"], name=p + "flat"),
            helper.make_node("Where", [p + "flat", f1, p + "s0"], [scale], name=p + "scale"),  # [B,1,1]
            helper.make_node("Div", [p + "mn", scale], [p + "mn_s"], name=p + "mn_s"),
            helper.make_node("Sub", [f0, p + "mn_s"], [p + "zp0"], name=p + "zp0"),
            helper.make_node("Clip", [p + "zp0", f0, f255], [p + "zp1"], name=p + "zp1"),
            helper.make_node("Round", [p + "zp1"], [p + "zp2"], name=p + "zp2"),
            helper.make_node("Cast", [p + "zp2"], [zp], to=TensorProto.UINT8, name=p + "zp"),  # [B,1,1]
            helper.make_node("Flatten", [scale], [p + "scale_b"], axis=0, name=p + "scale_flat"),
            helper.make_node("Flatten", [zp], [p + "zp_b"], axis=0, name=p + "zp_flat"),
            helper.make_node("Squeeze", [p + "scale_b"], [p + "scale_v"], name=p + "scale_v"),
            helper.make_node("Squeeze", [p + "zp_b"], [p + "zp_v"], name=p + "zp_v"),
            helper.make_node("QuantizeLinear", [x, p + "scale_v", p + "zp_v"], [xq], axis=0, name=p + "quantize"),
        ]
        # the consumers: MatMulInteger(xq, w, zp, wzp) -> Cast -> ...; the scale feeds a Mul with the weight scale
        for mm in consumers[zp]:
            assert mm.op_type == "MatMulInteger", mm.op_type
            w = numpy_helper.to_array(inits[mm.input[1]]).astype(np.int32)
            wzp = numpy_helper.to_array(inits[mm.input[3]]).astype(np.int32) if len(mm.input) > 3 else 0
            colsum = numpy_helper.from_array((w - wzp).sum(axis=0).astype(np.int32), mm.name + ".rowq_colsum")
            new_inits.append(colsum)
            raw = mm.output[0] + ".rowq_raw"
            q = mm.name + ".rowq."
            mm.input[2] = u0
            orig_out = mm.output[0]
            mm.output[0] = raw
            out_tail = [
                helper.make_node("Cast", [zp], [q + "zp_i32"], to=TensorProto.INT32, name=q + "zp_i32"),
                helper.make_node("Mul", [q + "zp_i32", colsum.name], [q + "corr"], name=q + "corr"),
                helper.make_node("Sub", [raw, q + "corr"], [orig_out], name=q + "sub"),
            ]
            tails[mm.name] = out_tail
        replaced += 1

    final = []
    for n in out:
        final.append(n)
        final += tails.get(n.name, [])
    del g.node[:]
    g.node.extend(head + final)
    g.initializer.extend(new_inits)
    return replaced


def rewrite_file(src: str, dst: str) -> int:
    m = onnx.load(src)
    n = rewrite(m)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return n
