"""Label codes and their Chinese names.

The burden-reduction taxonomy lives in ``data/taxonomy.json`` (following the project's labeling
guide); any other label set works too, its codes simply have no Chinese names unless a taxonomy
file gives them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from classifier.errors import DataError


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    description: str = ""


@dataclass
class Taxonomy:
    """An ordered set of categories, looked up by code."""

    categories: list[Category] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> "Taxonomy":
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"taxonomy file not found: {path}") from None
        except json.JSONDecodeError as e:
            raise DataError(f"taxonomy file {path} is not valid JSON: {e}") from None
        items = raw["categories"] if isinstance(raw, dict) else raw
        cats = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("code"):
                raise DataError(f"{path}: entry {i + 1} needs a 'code' (and a 'name')")
            cats.append(Category(item["code"], item.get("name", item["code"]), item.get("description", "")))
        codes = [c.code for c in cats]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise DataError(f"{path}: duplicate codes {', '.join(dupes)}")
        return cls(cats)

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.categories]

    def name(self, code: str) -> str:
        """The Chinese name of ``code``, or the code itself when the taxonomy does not know it."""
        for c in self.categories:
            if c.code == code:
                return c.name
        return code

    def names(self) -> dict[str, str]:
        return {c.code: c.name for c in self.categories}

    def __contains__(self, code: str) -> bool:
        return code in self.codes
