"""Metric helpers (numpy only)."""
from __future__ import annotations

import numpy as np


def prf(y, pred):
    y, pred = np.asarray(y).astype(bool), np.asarray(pred).astype(bool)
    tp, fp, fn = int((y & pred).sum()), int((~y & pred).sum()), int((y & ~pred).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f, tp, fp, fn


def average_precision(y, s):
    y, s = np.asarray(y).astype(bool), np.asarray(s, dtype=np.float64)
    if y.sum() == 0:
        return float("nan")
    o = np.argsort(-s, kind="mergesort")
    y = y[o]
    tp = np.cumsum(y)
    prec = tp / np.arange(1, len(y) + 1)
    return float((prec * y).sum() / y.sum())


def roc_auc(y, s):
    y, s = np.asarray(y).astype(bool), np.asarray(s, dtype=np.float64)
    npos, nneg = int(y.sum()), int((~y).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def ece(y, p, bins: int = 10):
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    e = 0.0
    for k in range(bins):
        lo, hi = k / bins, (k + 1) / bins
        m = (p >= lo) & ((p < hi) if k < bins - 1 else (p <= hi))
        if m.any():
            e += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(e)


def best_f1(y, s):
    y = np.asarray(y).astype(bool)
    best = (0.0, None)
    for t in np.unique(s):
        f = prf(y, s >= t)[2]
        if f > best[0]:
            best = (f, float(t))
    return best


def f1_ci95(y, pred, resamples: int = 2000, seed: int = 0):
    """Percentile-bootstrap 95% interval of F1 (rows resampled with replacement, fixed seed): how far a held-out
    F1 from a few hundred rows can move by chance alone."""
    y, pred = np.asarray(y).astype(bool), np.asarray(pred).astype(bool)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(resamples, len(y)))
    yy, pp = y[idx], pred[idx]
    tp = (yy & pp).sum(1)
    denom = yy.sum(1) + pp.sum(1)      # 2TP + FP + FN
    f = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    lo, hi = np.percentile(f, [2.5, 97.5])
    return float(lo), float(hi)
