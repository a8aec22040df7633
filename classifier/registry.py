"""The models directory: which model is current, and finding a model by name or path."""
from __future__ import annotations

from pathlib import Path

from classifier import config
from classifier.errors import ModelFileError

CURRENT_FILE = "CURRENT"


def current_name(root: Path | None = None) -> str:
    """Name of the current model: the one line of ``models/CURRENT``, else ``default``."""
    root = root or config.models_dir()
    pointer = root / CURRENT_FILE
    if pointer.is_file():
        name = pointer.read_text(encoding="utf-8").strip()
        if name:
            return name
    return config.DEFAULT_MODEL_NAME


def resolve(model: str | Path | None = None) -> Path:
    """The directory of ``model``: a path to a model directory, a name in the registry, or the
    current model when ``None``."""
    if model is None:
        root = config.models_dir()
        path = root / current_name(root)
        if not path.is_dir() and root != config.SHIPPED_MODELS_DIR:
            path = config.SHIPPED_MODELS_DIR / config.DEFAULT_MODEL_NAME
        return path
    p = Path(model)
    if p.is_dir():
        return p
    candidate = config.models_dir() / str(model)
    if candidate.is_dir():
        return candidate
    raise ModelFileError(f"no model '{model}': give a model directory or a name from 'jianfu models list'")
