"""Building the project's corpus from its writing batches, and checking it against its targets.

``data/batches/tr*.jsonl`` (training briefs) and ``te*.jsonl`` (test briefs, written separately)
are the raw corpus and are never edited. ``data/annotations/corrections.jsonl`` holds label
decisions made after the second labeling pass. :func:`build` derives ``data/train.jsonl`` and
``data/test.jsonl`` from them; :func:`check` prints every figure the corpus is held to and lists
the structural targets it misses.
"""
from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier import config

LABELS = ("task_overload", "information_asymmetry", "resource_shortage", "formalism")

#: The labeling guide's typical words per category (used to measure how many labeled texts
#: express their category without them).
TYPICAL_WORDS = {
    "task_overload": "任务繁重 疲于应付 加班加点 层层加码 属地管理 责任下移 一票否决 考核过多 事务性工作 分身乏术 超负荷 压力大 包保 兜底",
    "information_asymmetry": "信息不畅 沟通不畅 信息孤岛 数据壁垒 重复填报 多头报送 政策解读 脱离实际 缺乏调研 上情下达 下情上达 信息滞后 口径不一 不了解基层",
    "resource_shortage": "人手紧缺 编制不足 经费短缺 保障不足 待遇偏低 留不住人 设施简陋 条件艰苦 缺人缺钱 资金缺口 专业人才匮乏 资源配置不均",
    "formalism": "文山会海 留痕 台账 打卡 拍照 材料 迎检 督查检查 表格 工作群 app 走过场 花架子 表面文章 层层开会 形式主义 官僚主义",
}
TYPICAL_WORDS = {k: v.split() for k, v in TYPICAL_WORDS.items()}

#: Words that tempt a classifier towards a label; a none text containing one is a hard negative.
TEMPTING_WORDS = sorted({w for ws in TYPICAL_WORDS.values() for w in ws} | set(
    "会议 开会 检查 考核 表格 填表 报表 经费 资金 系统 平台 任务 人员 人手 编制 加班 督查 调研 通知 文件 台账 "
    "数据 信息 政策 形式主义 官僚主义 减负 工作群 打卡 压力 待遇 工资 "
    "例会 晨会 汇报 周报 日报 月报 指标 排名 暗访 考勤 kpi".split()))

TARGETS = {
    "texts": 4000, "test_texts": 600, "per_label": 700, "multi": 700, "none": 700,
    "hard_negative_share_of_none": 0.5, "genres": 8, "max_genre_share": 0.30,
    "over_300_share": 0.10, "over_1000_share": 0.02, "no_typical_words_share": 0.30,
    "max_opening_share": 0.02, "max_near_duplicate_share": 0.01, "test_train_near_duplicates": 0,
}
NEAR_DUPLICATE_JACCARD = 0.6


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


# -- near duplicates ---------------------------------------------------------------------------
def _shingles(text: str, n: int = 8) -> set[int]:
    text = re.sub(r"\s+", "", text)
    if len(text) < n:
        return {zlib.crc32(text.encode())} if text else set()
    return {zlib.crc32(text[i:i + n].encode()) for i in range(len(text) - n + 1)}


def near_duplicate_pairs(texts_a: list[str], texts_b: list[str] | None = None,
                         threshold: float = NEAR_DUPLICATE_JACCARD) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, jaccard)`` of texts whose character 8-gram sets overlap at least ``threshold``.

    Within ``texts_a`` when ``texts_b`` is None (``i < j``), else between the two lists. The
    intersection sizes come from one sparse matrix product over hashed 8-grams.
    """
    from scipy import sparse

    def matrix(texts):
        rows, cols = [], []
        for i, t in enumerate(texts):
            s = _shingles(t)
            rows.extend([i] * len(s))
            cols.extend(s)
        cols = np.array(cols, dtype=np.int64) % (1 << 24)
        m = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), 1 << 24))
        m.data[:] = 1  # duplicates after the modulo sum to >1; sets are binary
        m.sum_duplicates()
        m.data[:] = 1
        return m

    A = matrix(texts_a)
    B = A if texts_b is None else matrix(texts_b)
    inter = (A @ B.T).tocoo()
    size_a = np.asarray(A.sum(axis=1)).ravel()
    size_b = np.asarray(B.sum(axis=1)).ravel()
    out = []
    for i, j, v in zip(inter.row, inter.col, inter.data):
        if texts_b is None and i >= j:
            continue
        jac = v / (size_a[i] + size_b[j] - v)
        if jac >= threshold:
            out.append((int(i), int(j), float(jac)))
    return out


# -- building ----------------------------------------------------------------------------------
def build(data_dir: Path = config.DATA_DIR) -> dict:
    """Derive ``train.jsonl`` and ``test.jsonl`` from the batches and the corrections.

    Test texts that near-duplicate a training text are moved out of the test set (and reported),
    so the test set never rewards memorized phrasing.
    """
    batches = sorted((data_dir / "batches").glob("*.jsonl"))
    corrections = {}
    corr_path = data_dir / "annotations" / "corrections.jsonl"
    if corr_path.exists():
        corrections = {r["id"]: r for r in read_jsonl(corr_path)}
    train, test = [], []
    for path in batches:
        for r in read_jsonl(path):
            row = {"id": r["id"], "text": r["text"], "labels": list(r["labels"]),
                   "genre": r.get("genre"), "batch": r.get("batch", path.stem)}
            if r["id"] in corrections:
                row["labels"] = list(corrections[r["id"]]["labels"])
            if r.get("note"):
                row["note"] = r["note"]
            (test if path.stem.startswith("te") else train).append(row)
    dropped = []
    for i, j, jac in near_duplicate_pairs([r["text"] for r in test], [r["text"] for r in train]):
        dropped.append((test[i]["id"], train[j]["id"], round(jac, 3)))
    drop_ids = {d[0] for d in dropped}
    test = [r for r in test if r["id"] not in drop_ids]
    write_jsonl(data_dir / "train.jsonl", train)
    write_jsonl(data_dir / "test.jsonl", test)
    return {"train": len(train), "test": len(test), "corrections": len(corrections),
            "test_dropped_as_near_duplicates": dropped}


# -- checking ----------------------------------------------------------------------------------
def cohen_kappa(a: list[bool], b: list[bool]) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    po = float(np.mean(a == b))
    pe = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


@dataclass
class CheckResult:
    figures: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def agreement(data_dir: Path = config.DATA_DIR) -> dict | None:
    """Per-label Cohen's kappa between the first labels and the blind second pass."""
    path = data_dir / "annotations" / "second_pass.jsonl"
    if not path.exists():
        return None
    rows = read_jsonl(path)
    out = {"texts": len(rows)}
    for lab in LABELS:
        out[lab] = round(cohen_kappa([lab in r["first_labels"] for r in rows],
                                     [lab in r["second_labels"] for r in rows]), 3)
    out["exact_agreement"] = round(float(np.mean([set(r["first_labels"]) == set(r["second_labels"]) for r in rows])), 3)
    return out


def check(data_dir: Path = config.DATA_DIR) -> CheckResult:
    """Every figure of the corpus targets, and the list of targets missed."""
    res = CheckResult()
    f, fail = res.figures, res.failures
    train = read_jsonl(data_dir / "train.jsonl") if (data_dir / "train.jsonl").exists() else []
    test = read_jsonl(data_dir / "test.jsonl") if (data_dir / "test.jsonl").exists() else []
    rows = train + test
    n = len(rows)
    f["texts"], f["train_texts"], f["test_texts"] = n, len(train), len(test)
    if n < TARGETS["texts"]:
        fail.append(f"{n} texts, target {TARGETS['texts']}")
    if len(test) < TARGETS["test_texts"]:
        fail.append(f"{len(test)} test texts, target {TARGETS['test_texts']}")
    if not n:
        return res
    ids = Counter(r["id"] for r in rows)
    dup_ids = [i for i, c in ids.items() if c > 1]
    if dup_ids:
        fail.append(f"duplicate ids: {dup_ids[:5]}")
    bad = sorted({l for r in rows for l in r["labels"]} - set(LABELS))
    if bad:
        fail.append(f"unknown label codes: {bad}")
    per_label = Counter(l for r in rows for l in r["labels"])
    f["per_label"] = {l: per_label[l] for l in LABELS}
    for l in LABELS:
        if per_label[l] < TARGETS["per_label"]:
            fail.append(f"label {l} on {per_label[l]} texts, target {TARGETS['per_label']}")
    multi = sum(len(r["labels"]) >= 2 for r in rows)
    none_rows = [r for r in rows if not r["labels"]]
    f["multi"], f["none"] = multi, len(none_rows)
    if multi < TARGETS["multi"]:
        fail.append(f"{multi} multi-label texts, target {TARGETS['multi']}")
    if len(none_rows) < TARGETS["none"]:
        fail.append(f"{len(none_rows)} none texts, target {TARGETS['none']}")
    hard = sum(any(w in r["text"].lower() for w in TEMPTING_WORDS) for r in none_rows)
    f["hard_negatives"] = hard
    if hard < TARGETS["hard_negative_share_of_none"] * len(none_rows):
        fail.append(f"{hard} hard negatives of {len(none_rows)} none texts, target half")
    genres = Counter(r.get("genre") for r in rows)
    f["genres"] = dict(genres.most_common())
    if len(genres) < TARGETS["genres"]:
        fail.append(f"{len(genres)} genres, target {TARGETS['genres']}")
    top_genre, top_count = genres.most_common(1)[0]
    if top_count > TARGETS["max_genre_share"] * n:
        fail.append(f"genre {top_genre} is {top_count / n:.1%} of the corpus, max {TARGETS['max_genre_share']:.0%}")
    lengths = np.array([len(r["text"]) for r in rows])
    f["length"] = {"min": int(lengths.min()), "median": int(np.median(lengths)), "max": int(lengths.max()),
                   "over_300": int((lengths > 300).sum()), "over_1000": int((lengths > 1000).sum())}
    if (lengths > 300).mean() < TARGETS["over_300_share"]:
        fail.append(f"{(lengths > 300).mean():.1%} of texts over 300 characters, target {TARGETS['over_300_share']:.0%}")
    if (lengths > 1000).mean() < TARGETS["over_1000_share"]:
        fail.append(f"{(lengths > 1000).mean():.1%} of texts over 1,000 characters, target {TARGETS['over_1000_share']:.0%}")
    labeled = [r for r in rows if r["labels"]]
    plain = sum(not any(w in r["text"].lower() for l in r["labels"] for w in TYPICAL_WORDS[l]) for r in labeled)
    f["labeled_without_typical_words"] = plain
    f["labeled_without_typical_words_share"] = round(plain / max(len(labeled), 1), 3)
    if plain < TARGETS["no_typical_words_share"] * len(labeled):
        fail.append(f"{plain / len(labeled):.1%} of labeled texts avoid the typical words, target {TARGETS['no_typical_words_share']:.0%}")
    openings = Counter(r["text"][:6] for r in rows)
    opening, count = openings.most_common(1)[0]
    f["most_common_opening"] = {"opening": opening, "texts": count, "share": round(count / n, 4)}
    if count > TARGETS["max_opening_share"] * n:
        fail.append(f"opening '{opening}' starts {count} texts, max {TARGETS['max_opening_share']:.0%}")
    pairs = near_duplicate_pairs([r["text"] for r in rows])
    in_pairs = {i for p in pairs for i in p[:2]}
    f["near_duplicate_pairs"] = len(pairs)
    f["texts_in_near_duplicate_pairs"] = len(in_pairs)
    f["near_duplicate_examples"] = [(rows[i]["id"], rows[j]["id"], round(s, 2)) for i, j, s in pairs[:10]]
    if len(in_pairs) > TARGETS["max_near_duplicate_share"] * n:
        fail.append(f"{len(in_pairs)} texts in near-duplicate pairs, max {TARGETS['max_near_duplicate_share']:.0%}")
    cross = near_duplicate_pairs([r["text"] for r in test], [r["text"] for r in train]) if test and train else []
    f["test_train_near_duplicates"] = len(cross)
    if cross:
        fail.append(f"{len(cross)} test texts near-duplicate a training text, e.g. "
                    f"{test[cross[0][0]]['id']} ~ {train[cross[0][1]]['id']}")
    f["agreement"] = agreement(data_dir)
    return res


def format_check(res: CheckResult) -> str:
    lines = [json.dumps(res.figures, ensure_ascii=False, indent=2)]
    lines += [f"MISSED: {m}" for m in res.failures] or ["all corpus targets met"]
    return "\n".join(lines)
