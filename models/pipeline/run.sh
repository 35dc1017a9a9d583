#!/usr/bin/env bash
# One command to rebuild every model artifact:
#   models/classifier/{model.int8.onnx,tokenizer.json,model.json,reference_scores.jsonl}, models/MODEL_CARD.md
# Usage: bash models/pipeline/run.sh [step ...]   (steps: tokenizer convert quantize embed train package trim_vocab evaluate;
#   "card" alone rewrites MODEL_CARD.md from the last evaluation; "finetune", after quantize, is the opt-in
#   top-layer fine-tuning that was measured and not shipped: see MODEL_CARD.md)
#   package writes the full-vocabulary model; trim_vocab trims the vocabulary of the shipped tokenizer.json and
#   model.int8.onnx (full copies stay in the cache), checks identical tokenization and scores, and rewrites
#   reference_scores.jsonl with the trimmed ids
# Env:   SCAMWATCH_DATA (default <repo>/../shared/data), SCAMWATCH_PIPELINE_CACHE (default ~/.cache/scamwatch/pipeline),
#        SCAMWATCH_VENV (default ~/.cache/scamwatch/pipeline-venv), SCAMWATCH_THREADS (default 2)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${SCAMWATCH_VENV:-$HOME/.cache/scamwatch/pipeline-venv}"
PY="$VENV/bin/python"
cd "$REPO"

# --- venv (idempotent: reinstalls only when requirements.txt changes)
if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV"
fi
STAMP="$VENV/.scamwatch-requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet -r "$HERE/requirements.txt"
  echo "$WANT" > "$STAMP"
fi

export OMP_NUM_THREADS="${SCAMWATCH_THREADS:-2}"
STEPS=("$@")
if [ ${#STEPS[@]} -eq 0 ]; then
  STEPS=(tokenizer convert quantize embed train package trim_vocab evaluate)
fi
for step in "${STEPS[@]}"; do
  echo "=== $step"
  start=$(date +%s)
  nice -n 10 "$PY" "$HERE/$step.py"
  echo "=== $step done in $(( $(date +%s) - start ))s"
done
ls -l "$REPO/models/classifier"
