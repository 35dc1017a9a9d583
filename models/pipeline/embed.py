"""Step 4: frozen embeddings of every training/evaluation text with the shipped int8 encoder
(batch 1, exactly the service's input convention: "query: " + text, head+tail truncation to 128).

Cache: ~/.cache/scamwatch/pipeline/embeddings.sqlite, key = sha256(encoder sha256, full tokenizer sha256,
max_len config, input text), so reruns only embed new texts.
"""
from __future__ import annotations

import os
import sqlite3
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

DB = os.path.join(common.CACHE, "embeddings.sqlite")


class EmbeddingCache:
    def __init__(self, encoder_path: str = common.INT8_ENCODER):
        self.encoder_path = encoder_path
        self.tag = "%s|%s|%s|%d/%d/%d" % (common.sha256_file(encoder_path), common.sha256_file(common.full_tokenizer_path()),
                                         common.PREFIX, common.MAX_LEN, common.HEAD_TOKENS, common.TAIL_TOKENS)
        self.db = sqlite3.connect(DB)
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (k TEXT PRIMARY KEY, v BLOB)")
        self.sess = None
        self.tok = None

    def key(self, text: str) -> str:
        return common.sha256_text(self.tag + "\0" + text)

    def _session(self):
        if self.sess is None:
            self.sess = common.ort_session(self.encoder_path)
            self.tok = common.load_tokenizer()
        return self.sess

    def get(self, texts: list[str], verbose: bool = True) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        have = {}
        uniq = list(dict.fromkeys(keys))
        for i in range(0, len(uniq), 500):
            chunk = uniq[i:i + 500]
            q = "SELECT k, v FROM emb WHERE k IN (%s)" % ",".join("?" * len(chunk))
            for k, v in self.db.execute(q, chunk):
                have[k] = np.frombuffer(v, np.float32)
        todo = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in have]
        if todo:
            sess = self._session()
            ids = common.encode_texts(self.tok, [t for _, t in todo])
            order = np.argsort([len(x) for x in ids])
            t0, done, ntok = time.time(), 0, 0
            for j in order:
                k = todo[j][0]
                a = np.array([ids[j]], np.int64)
                e = sess.run(["embedding"], {"input_ids": a, "attention_mask": np.ones_like(a)})[0][0]
                have[k] = e.astype(np.float32)
                self.db.execute("INSERT OR REPLACE INTO emb VALUES (?, ?)", (k, have[k].tobytes()))
                done += 1
                ntok += len(ids[j])
                if done % 500 == 0:
                    self.db.commit()
                    if verbose:
                        dt = time.time() - t0
                        print("    embedded %d/%d (%.1f texts/s, mean %.0f tokens)" % (done, len(todo), done / dt,
                                                                                   ntok / done), flush=True)
            self.db.commit()
            if verbose:
                dt = time.time() - t0
                print("  embedded %d new texts in %.0fs (%.1f texts/s)" % (len(todo), dt, len(todo) / max(dt, 1e-9)))
        return np.stack([have[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


def main():
    import data
    rows = data.load_all()
    print("embedding %d rows (%d team-written)" % (len(rows), sum(r.dataset == "team_written" for r in rows)))
    cache = EmbeddingCache()
    X = cache.get([r.text for r in rows])
    print("  embeddings:", X.shape)


if __name__ == "__main__":
    main()
