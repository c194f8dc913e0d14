"""PolNeAR articles parsed by the model's own parser, paragraph by paragraph, cached on disk between runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, DocBin

from service.extraction.text import Paragraph, paragraphs
from training.corpus import Article

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "extraction"


def _fingerprint(parser_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(parser_dir.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def parse_batch(nlp: Language, parser_dir: Path, label: str, items: list[Article]) -> list[list[Paragraph]]:
    """Each article's parsed paragraphs; read from the cache when this parser parsed them before."""
    path = CACHE / f"{label}-{_fingerprint(parser_dir)}.spacy"
    if path.exists():
        bin_ = DocBin().from_disk(path)
        docs = list(bin_.get_docs(nlp.vocab))
        starts = [int(s) for s in (path.with_suffix(".starts").read_text().split())]
        counts = [int(c) for c in (path.with_suffix(".counts").read_text().split())]
        result: list[list[Paragraph]] = []
        index = 0
        for count in counts:
            result.append([Paragraph(starts[index + k], docs[index + k]) for k in range(count)])
            index += count
        return result
    result = [list(paragraphs(nlp, item.text)) for item in items]
    CACHE.mkdir(parents=True, exist_ok=True)
    docs_out: list[Doc] = [p.doc for article in result for p in article]
    DocBin(attrs=["ORTH", "TAG", "HEAD", "DEP", "LEMMA", "SENT_START", "SPACY"], docs=docs_out).to_disk(path)
    path.with_suffix(".starts").write_text(" ".join(str(p.start) for article in result for p in article))
    path.with_suffix(".counts").write_text(" ".join(str(len(article)) for article in result))
    return result
