"""Bulk import of claims: NDJSON lines, one ``POST /claims`` body each, stored in batches and reported
line by line, by the same rules as ``POST /claims`` (``service.domain.rules``).

- ``lines``: a line parsed (or refused with the problem ``POST /claims`` would give), the report.
- ``resolve``: a batch's lines resolved by the rules over facts held in memory (``Batch``), and
  what a batch must read of the stored data beforehand.
- ``store``: the facts read in a few set-based queries, and the rows written with COPY.
- ``pipeline``: batches in transactions, one after another, the next read ahead; retries, a batch
  refused whole stored line by line, the initial load and its phase timings; the file front end.
- ``worker``: the initial load's second process, resolving and encoding batches on the other core.
"""
