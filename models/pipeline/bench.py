"""Throughput of an ONNX encoder in onnxruntime (CPU, 2 intra-op threads), batch 1 and batch 8."""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def vocab_rows(path: str) -> int:
    """Rows of the word-embedding table (the trimmed model has fewer than the full 250,002 ids)."""
    import onnx
    m = onnx.load(path)
    return min(int(i.dims[0]) for i in m.graph.initializer if i.name in ("word_q4", "word_scale", "head.w_tok"))




def feed_for(sess, ids: np.ndarray) -> dict:
    """Inputs for a timing run; the presence ids of a post no longer than the window are its ids."""
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if "presence_ids" in {i.name for i in sess.get_inputs()}:
        feed.update(presence_ids=ids, presence_mask=np.ones_like(ids))
    return feed


def bench(path: str, seq_lens=(64, 128), batches=(1, 8), threads: int = 2, seconds: float = 1.5,
          rounds: int = 8) -> dict:
    """Best of `rounds` timing windows per setting (the dev machine is shared with Rust builds)."""
    sess = common.ort_session(path, threads)
    high = min(200000, vocab_rows(path))
    rng = np.random.default_rng(0)
    out = {}
    for L in seq_lens:
        for B in batches:
            ids = rng.integers(5, high, size=(B, L)).astype(np.int64)
            ids[:, 0], ids[:, -1] = common.BOS, common.EOS
            feed = feed_for(sess, ids)
            sess.run(None, feed)
            best = None
            for _ in range(rounds):
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < seconds:
                    sess.run(None, feed)
                    n += 1
                dt = (time.perf_counter() - t0) / n
                best = dt if best is None else min(best, dt)
            out["seq%d_batch%d" % (L, B)] = {"posts_per_s": round(B / best, 1), "ms_per_call": round(1000 * best, 1)}
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    out["cpu_ms_per_post_1thread"] = cpu_cost(path, seq_lens)
    return out


def cpu_cost(path: str, seq_lens=(64, 128), calls: int = 30) -> dict:
    """Contention-robust cost: CPU milliseconds per post with ONE intra-op thread (process CPU time, so
    other jobs on the machine do not count). Two idle cores give at most 2000 / this posts/s."""
    sess = common.ort_session(path, 1)
    high = min(200000, vocab_rows(path))
    rng = np.random.default_rng(0)
    out = {}
    for L in seq_lens:
        for B in (1, 8):
            ids = rng.integers(5, high, size=(B, L)).astype(np.int64)
            feed = feed_for(sess, ids)
            sess.run(None, feed)
            n = max(4, calls // B)
            t0 = time.process_time()
            for _ in range(n):
                sess.run(None, feed)
            out["seq%d" % L + ("" if B == 1 else "_batch%d" % B)] = round(1000 * (time.process_time() - t0) / n / B, 1)
    return out


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else common.INT8_ONNX
    print(json.dumps(bench(path), indent=1))
