"""Reading and writing the files analysts use, for batch tagging.

- :mod:`~classifier.io.readers`: CSV/TSV, XLSX, JSONL, Parquet, TXT and folders, one row at a time;
- :mod:`~classifier.io.documents`: text of .txt, .md, .docx and .pdf files;
- :mod:`~classifier.io.encoding`: UTF-8 / GBK / GB18030 / UTF-16 detection;
- :mod:`~classifier.io.chunks`: rows into chunks for the model, results into output rows;
- :mod:`~classifier.io.writers`: JSONL, CSV, XLSX and Parquet output, a chunk at a time;
- :mod:`~classifier.io.spool`: the partial output that makes runs atomic and resumable.
"""
