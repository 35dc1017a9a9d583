"""Python baseline: the consumer a team would write first, to compare scamwatch against.

confluent-kafka consumer on the input topic; for each post: the same classifier as scamwatch
(models/classifier/model.int8.onnx with tokenizer.json, "query: " prefix, head+tail truncation to
128 tokens, Platt calibration from model.json), a keyword check, a verdict JSON produced to the
verdict topic, the offset committed. One message at a time, batch 1,
ONNX Runtime's default session options. `--model none` leaves the classifier out (keywords only).

Prints one JSON line of figures when --count verdicts are delivered (or --idle-secs pass with
nothing to read).
"""

import argparse
import json
import math
import re
import sys
import time

import numpy as np
import onnxruntime as ort
from confluent_kafka import Consumer, Producer
from tokenizers import Tokenizer

KEYWORDS = re.compile(
    r"telegram|whatsapp|wa\.me|t\.me|free (?:food|accommodation|housing|flight|ticket)|"
    r"no experience|visa provided|cambodia|sihanoukville|myawaddy|kk park|golden triangle|poipet|"
    r"bavet|包吃包住|飞机|西港|柬埔寨|กัมพูชา|ไลน์|campuchia|kamboja|usdt",
    re.IGNORECASE,
)


def load_model(model_dir):
    card = json.load(open(f"{model_dir}/model.json"))
    tok = Tokenizer.from_file(f"{model_dir}/{card['tokenizer']['file']}")
    options = ort.SessionOptions()
    # the level the model's scores were recorded at (the higher levels fuse kernels that round differently)
    level = card["onnx"].get("graph_optimization", "all")
    options.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    session = ort.InferenceSession(f"{model_dir}/{card['onnx']['file']}", options)
    return card, tok, session


def score(card, tok, session, text):
    t = card["tokenizer"]
    ids = tok.encode(t["prefix"] + text, add_special_tokens=True).ids
    presence = np.array([ids[: t["presence_max_tokens"]]], dtype=np.int64)
    if len(ids) > t["max_len"]:
        content = ids[1:-1]
        head, tail = t["truncation"]["head_tokens"], t["truncation"]["tail_tokens"]
        ids = [ids[0]] + content[:head] + content[-tail:] + [ids[-1]]
    input_ids = np.array([ids], dtype=np.int64)
    feed = {
        "input_ids": input_ids,
        "attention_mask": np.ones_like(input_ids),
        "presence_ids": presence,
        "presence_mask": np.ones_like(presence),
    }
    logit = session.run(["logit"], feed)[0][0]
    c = card["calibration"]
    return 1.0 / (1.0 + math.exp(-(c["a"] * float(logit) + c["b"])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", default="127.0.0.1:19092")
    ap.add_argument("--input-topic", default="posts")
    ap.add_argument("--verdict-topic", default="verdicts-baseline")
    ap.add_argument("--group-id", default="baseline")
    ap.add_argument("--model", default="models/classifier", help="classifier directory, or none (keywords only)")
    ap.add_argument("--count", type=int, default=0, help="stop after this many verdicts (0 = run until idle)")
    ap.add_argument("--idle-secs", type=float, default=30)
    args = ap.parse_args()

    started = time.time()
    card, tok, session = load_model(args.model) if args.model != "none" else (None, None, None)
    threshold = card["thresholds"]["flag"] if card else 1.0
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group_id,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 5})
    consumer.subscribe([args.input_topic])

    done = skipped = 0
    first = None
    last_msg = time.time()
    while args.count == 0 or done < args.count:
        msg = consumer.poll(0.5)
        if msg is None:
            if time.time() - last_msg > args.idle_secs:
                break
            continue
        if msg.error():
            print(f"consumer error: {msg.error()}", file=sys.stderr)
            continue
        last_msg = time.time()
        if first is None:
            first = time.time()
        try:
            post = json.loads(msg.value())
            title = (post.get("title") or "").strip()
            text = f"{title}\n{post['text'].strip()}" if title else post["text"].strip()
        except (TypeError, ValueError, KeyError, AttributeError):
            skipped += 1
            consumer.commit(message=msg, asynchronous=True)
            continue
        p = score(card, tok, session, text) if card else 0.0
        keywords = sorted({m.group(0).lower() for m in KEYWORDS.finditer(text)})
        flagged = p >= threshold or len(keywords) >= 3
        verdict = {
            "post_id": post["id"],
            "score": round(p, 6),
            "action": "review" if flagged else "allow",
            "keywords": keywords,
            "model": card["version"] if card else None,
        }
        producer.produce(args.verdict_topic, key=str(post["id"]).encode(), value=json.dumps(verdict).encode(),
                         headers=msg.headers() or [])
        producer.poll(0)
        consumer.commit(message=msg, asynchronous=True)
        done += 1
    producer.flush(30)
    end = time.time()
    consumer.close()
    hwm_kb = next((int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")), 0)
    secs = end - (first or end)
    print(json.dumps({
        "baseline": "python", "verdicts": done, "skipped": skipped,
        "seconds": round(secs, 2), "posts_per_sec": round(done / secs, 1) if secs else 0,
        "startup_seconds": round((first or end) - started, 2),
        "peak_rss_mb": round(hwm_kb / 1024, 1),
        "onnxruntime": ort.__version__,
    }))


if __name__ == "__main__":
    main()
