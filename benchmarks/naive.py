"""The pipeline users write first, the reference every benchmark compares with:
``TfidfVectorizer(tokenizer=jieba.lcut)`` + ``LinearSVC``.

Also runnable on its own as a whole-process tagger, for the throughput comparison:
    python benchmarks/naive.py predict MODEL.joblib IN.jsonl OUT.jsonl
"""
from __future__ import annotations

import json
import sys

import jieba


def tokenize(text: str) -> list[str]:
    return jieba.lcut(text)


def make_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline as mk
    from sklearn.svm import LinearSVC

    return mk(TfidfVectorizer(tokenizer=tokenize, token_pattern=None), LinearSVC())


def predict_file(model_path: str, src: str, dst: str) -> None:
    import joblib

    model = joblib.load(model_path)  # the naive way: a pickle (jianfu never loads one)
    with open(src, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    labels = model.predict([r["text"] for r in rows])
    with open(dst, "w", encoding="utf-8") as f:
        for r, label in zip(rows, labels):
            r["label"] = str(label)
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "predict":
        predict_file(*sys.argv[2:])
    else:
        sys.exit(__doc__)
