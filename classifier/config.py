"""Paths and defaults in one place; the CLI's defaults point here."""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _locate(name: str, marker: str) -> Path:
    """``name/`` of a source checkout (editable install), else the copy a regular install ships
    inside the package as ``classifier/_name/``."""
    repo = _PACKAGE.parent / name
    return repo if (repo / marker).exists() else _PACKAGE / f"_{name}"


#: The project's data directory (taxonomy, domain dictionary, stopwords, corpus).
DATA_DIR = _locate("data", "taxonomy.json")

#: Models shipped with the package (``models/`` in a source checkout).
SHIPPED_MODELS_DIR = _locate("models", "default")


def models_dir() -> Path:
    """Directory of the model registry: ``$JIANFU_MODELS`` if set, else the shipped ``models/``."""
    env = os.environ.get("JIANFU_MODELS")
    return Path(env) if env else SHIPPED_MODELS_DIR


TAXONOMY_FILE = DATA_DIR / "taxonomy.json"
USER_DICT_FILE = DATA_DIR / "userdict.txt"
STOPWORDS_FILE = DATA_DIR / "stopwords.txt"
TRAIN_FILE = DATA_DIR / "train.jsonl"
TEST_FILE = DATA_DIR / "test.jsonl"

#: Name of the model directory that ships with the package and is current by default.
DEFAULT_MODEL_NAME = "default"

#: Training defaults.
RANDOM_STATE = 0
CV_FOLDS = 5
MIN_EXAMPLES_PER_LABEL = 5

#: Batch tagging defaults.
CHUNK_SIZE = 500  # rows per chunk: 1000 was 6% faster but peaked ~80 MiB higher (benchmarks/memory.py)
