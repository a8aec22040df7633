"""Batch tagging of files (first version: whole-file, in-process; see issue 5 for streaming)."""
from __future__ import annotations

import json
from pathlib import Path

from classifier.errors import JianfuError


def _read(path: Path, text_column: str):
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    if suffix == ".csv":
        from classifier.io.encoding import detect_encoding

        return pd.read_csv(path, dtype=object, keep_default_na=False, encoding=detect_encoding(path))
    if suffix == ".xlsx":
        return pd.read_excel(path, dtype=object)
    raise JianfuError(f"{path}: unsupported input format '{suffix}'; use .jsonl, .csv or .xlsx")


def tag_file(model, input_path, output_path, text_column: str = "text", id_column: str | None = None,
             force: bool = False) -> dict:
    """Tag every row of ``input_path`` and write it with ``labels`` and scores to ``output_path``."""
    input_path, output_path = Path(input_path), Path(output_path)
    if not input_path.exists():
        raise JianfuError(f"input file not found: {input_path}")
    if output_path.exists() and not force:
        raise JianfuError(f"{output_path} exists; use --force to overwrite it")
    df = _read(input_path, text_column)
    if text_column not in df.columns:
        raise JianfuError(f"{input_path}: no '{text_column}' column (found: {', '.join(map(str, df.columns))}); "
                          f"name it with --text-column")
    texts = ["" if v is None or v != v else str(v) for v in df[text_column].tolist()]
    preds = model.predict(texts)
    suffix = output_path.suffix.lower()
    records = df.to_dict("records")
    if suffix == ".jsonl":
        with open(output_path, "w", encoding="utf-8") as f:
            for rec, p in zip(records, preds):
                rec = {k: (None if v != v else v) if isinstance(v, float) else v for k, v in rec.items()}
                rec.update(labels=p.labels, scores=p.scores)
                f.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    elif suffix in (".csv", ".xlsx"):
        out = df.copy()
        out["labels"] = [";".join(p.labels) for p in preds]
        for code in model.labels:
            out[f"score_{code}"] = [p.scores[code] for p in preds]
        if suffix == ".csv":
            out.to_csv(output_path, index=False, encoding="utf-8-sig")
        else:
            out.to_excel(output_path, index=False)
    else:
        raise JianfuError(f"{output_path}: unsupported output format '{suffix}'; use .jsonl, .csv or .xlsx")
    return {"rows": len(records), "tagged": len(records), "failed": 0}
