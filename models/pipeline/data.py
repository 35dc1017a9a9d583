"""Loading and splitting of the training/evaluation data.

Shared data (read-only, never copied into the repo): $SCAMWATCH_DATA or <repo>/../shared/data.
Team-written data: models/data/team_written.jsonl (its own meta.split: "train" / "heldout").

Splits are deterministic and content-based: every shared row gets a group key (lowercased text with
digits, whitespace and punctuation removed, so the ORFD sheets/balanced overlap and templated
near-duplicates fall together); EMSCAD raw fraud ads are linked to their preprocessed twin in
emscad_balanced (word-Jaccard match) and share its group. sha256(group) % 100 < 20 -> "test".
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field

import common

SHARED_FILES = {
    "emscad_balanced_train.jsonl": "emscad_balanced",
    "emscad_raw_fraud_train.jsonl": "emscad_raw_fraud",
    "orfd_balanced_train.jsonl": "orfd_balanced",
    "orfd_sheets_train.jsonl": "orfd_sheets",
    "id_sms_other_train.jsonl": "id_sms",
    "zh_telecom_other_train.jsonl": "zh_telecom",
}
TEST_PERCENT = 20


@dataclass
class Row:
    uid: str            # dataset:id
    dataset: str        # emscad_balanced, ..., team_written
    lang: str
    label: int
    text: str           # model input text (title + "\n" + text), prefix NOT included
    split: str          # train / test
    kind: str = ""      # team_written meta.kind, else ""
    meta: dict = field(default_factory=dict)


def model_text(title: str | None, text: str | None) -> str:
    """What the service must feed the model: title, newline, body (title omitted when empty)."""
    title = (title or "").strip()
    text = (text or "").strip()
    return (title + "\n" + text) if title else text


def _group_key(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower()
    s = "".join(ch for ch in s if not (ch.isdigit() or ch.isspace() or unicodedata.category(ch)[0] in "PSZ"))
    s = s.replace("x", "")   # templated SMS use x for masked digits
    return s


def _bucket(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100


def _words(s: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", s.lower()))


def _read_jsonl(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def load_shared() -> list[Row]:
    out: list[Row] = []
    raw = {}
    for fname, ds in SHARED_FILES.items():
        path = os.path.join(common.DATA_DIR, fname)
        if not os.path.exists(path):
            raise FileNotFoundError("%s missing (set SCAMWATCH_DATA)" % path)
        raw[ds] = _read_jsonl(path)
    # EMSCAD raw fraud -> preprocessed twin in emscad_balanced (same group => same split)
    bal_pos = [(r, _words(r.get("text") or "")) for r in raw["emscad_balanced"] if int(r["label"]) == 1]
    twin = {}
    for r in raw["emscad_raw_fraud"]:
        w = _words((r.get("title") or "") + " " + (r.get("text") or ""))
        best, bj = None, 0.0
        for b, bw in bal_pos:
            j = len(w & bw) / max(1, len(w | bw))
            if j > bj:
                best, bj = b, j
        if best is not None and bj >= 0.35:
            twin[r["id"]] = _group_key(model_text(best.get("title"), best.get("text")))
    for ds, rows in raw.items():
        for r in rows:
            text = model_text(r.get("title"), r.get("text"))
            if not text:
                continue
            key = twin.get(r["id"]) if ds == "emscad_raw_fraud" else None
            key = key or _group_key(text) or r["id"]
            split = "test" if _bucket(key) < TEST_PERCENT else "train"
            out.append(Row(uid="%s:%s" % (ds, r["id"]), dataset=ds, lang=r.get("lang") or "",
                           label=int(r.get("label") or 0), text=text, split=split,
                           meta=dict(r.get("meta") or {})))
    return out


def team_lines() -> int:
    if not os.path.exists(common.TEAM_DATA):
        return 0
    with open(common.TEAM_DATA, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def load_team() -> list[Row]:
    """team_written.jsonl (meta.split decides train/heldout) and team_written_eval.jsonl (always held out,
    marked meta.eval_only; meta.batch says which evaluation-only batch, 3 when missing)."""
    out = []
    for path, eval_only in ((common.TEAM_DATA, False), (common.TEAM_EVAL_DATA, True)):
        if os.path.exists(path):
            out += _team_rows(path, eval_only)
    return out


def _team_rows(path: str, eval_only: bool) -> list[Row]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                print("  %s line %d: invalid JSON, skipped" % (os.path.basename(path), n + 1))
                continue
            meta = dict(r.get("meta") or {})
            text = model_text(r.get("title"), r.get("text"))
            if not text or r.get("label") is None:
                continue
            if eval_only:
                meta.update(split="heldout", eval_only=True)
                meta.setdefault("batch", 3)
            split = "test" if meta.get("split") == "heldout" else "train"
            out.append(Row(uid="team_written:%s" % r.get("id", n), dataset="team_written",
                           lang=r.get("lang") or "", label=int(r["label"]), text=text, split=split,
                           kind=str(meta.get("kind") or ""), meta=meta))
    return out


def load_all() -> list[Row]:
    return load_shared() + load_team()


if __name__ == "__main__":
    import collections
    rows = load_all()
    c = collections.Counter((r.dataset, r.split, r.label) for r in rows)
    for k in sorted(c):
        print(k, c[k])
