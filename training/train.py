"""``make model``: train the attribution model from the corpora, seeded, printing its time and scores.

1. The parser: spaCy's ``spacy train`` on UD English EWT (``training/parser.cfg``: tagger and
   dependency parser on a small CNN, seed 0), with spaCy's lookup lemmatizer
   (``spacy-lookups-data``) and its punctuation sentencizer added; about 20 minutes on two cores.
2. The cue lexicon: how often each lemma is (part of) a cue in PolNeAR's training articles.
3. The tagger: a CRF (``python-crfsuite``, L-BFGS, deterministic) labelling each token of a
   paragraph as source, cue or content (BIO), trained on PolNeAR's training articles parsed by (1).

``--holdout`` trains (3) on nine tenths of the training articles and scores the rest: the number
to tune against, so PolNeAR's dev articles stay unseen until ``make eval-extract``.

``--leave-out training/gold_train`` trains (3) without the articles a gold folder annotates, into
``<out>/without-gold_train``: a tagger that has not seen them, to score the chain rules on them as on
unseen text (``score_chains(model_dir, files)``); the shipped tagger has learnt them.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pycrfsuite
import spacy

from service.extraction import MODEL_DIR
from service.extraction.features import CueLexicon, lemma, paragraph_features
from service.extraction.text import Paragraph
from training import corpus
from training.labels import char_labels, token_labels
from training.parsed import parse_batch

EWT = corpus.DATA / "ud-english-ewt"
CONFIG = Path(__file__).with_name("parser.cfg")
CRF_PARAMS = {"c1": 0.1, "c2": 0.01, "max_iterations": 200, "feature.possible_transitions": True}
SEED = 15


def train_parser(out: Path) -> None:
    """spaCy's own training on EWT, then the lookup lemmatizer added; the pipeline lands in ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for split in ("train", "dev"):
            subprocess.run(
                [sys.executable, "-m", "spacy", "convert", str(EWT / f"en_ewt-ud-{split}.conllu"), tmp,
                 "--converter", "conllu", "-n", "10"],
                check=True,
            )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "spacy", "train", str(CONFIG), "--output", str(work / "out"),
             "--paths.train", str(work / "en_ewt-ud-train.spacy"), "--paths.dev", str(work / "en_ewt-ud-dev.spacy")],
            check=True,
        )  # fmt: skip
        nlp = spacy.load(work / "out" / "model-best")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"}).initialize()
    # Sentences end at their punctuation, not where the parser guesses (it cut "..., Hina reports, citing
    # Reuters." off its sentence); the parser keeps boundaries set before it.
    nlp.add_pipe("sentencizer", before="parser")
    nlp.add_pipe("opening_quotes_open_sentences", after="sentencizer")
    shutil.rmtree(out, ignore_errors=True)
    nlp.to_disk(out)


def lexicon_of(items: list[corpus.Article], parsed: list[list[Paragraph]]) -> CueLexicon:
    """The cue lexicon of the given articles."""
    cue: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for item, paragraphs in zip(items, parsed, strict=True):
        chars = char_labels(len(item.text), item.attributions)
        for paragraph in paragraphs:
            for token in paragraph.doc:
                key = lemma(token)
                total[key] += 1
                label = chars[paragraph.start + token.idx]
                if label is not None and label[0] == "CUE":
                    cue[key] += 1
    return CueLexicon.from_counts(cue, total)


def train_tagger(
    items: list[corpus.Article],
    parsed: list[list[Paragraph]],
    lexicon: CueLexicon,
    path: Path,
    params: dict[str, object] | None = None,
) -> int:
    """Train the CRF on the given articles; returns the number of token sequences it saw."""
    trainer = pycrfsuite.Trainer(verbose=False)
    sequences = 0
    for item, paragraphs in zip(items, parsed, strict=True):
        chars = char_labels(len(item.text), item.attributions)
        for paragraph in paragraphs:
            if len(paragraph.doc):
                trainer.append(
                    paragraph_features(list(paragraph.doc.sents), lexicon),
                    token_labels(paragraph.doc, paragraph.start, chars),
                )
                sequences += 1
    trainer.set_params({**CRF_PARAMS, **(params or {})})
    trainer.train(str(path))
    return sequences


VERSION = "1.1.0"


def write_meta(out: Path, articles: int, paragraphs: int, parser_seconds: float | None, tagger_seconds: float) -> None:
    """The model's card in machine form: name, version, what it was trained on and under which terms.

    ``parser_seconds`` None: the parser was kept (``--reuse-parser``), and so is the time it took.
    """
    path = out / "meta.json"
    earlier = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    parser_meta = json.loads((out / "parser" / "meta.json").read_text(encoding="utf-8"))
    seconds = {"parser": earlier.get("seconds", {}).get("parser"), "tagger": round(tagger_seconds)}
    if parser_seconds is not None:
        seconds["parser"] = round(parser_seconds)
    meta = {
        "name": "attribution-en",
        "version": VERSION,
        "language": "en",
        "pipeline": [
            "spaCy tagger (UD English EWT)",
            "sentencizer (punctuation), opening quotation marks opening sentences",
            "spaCy dependency parser (UD English EWT)",
            "lookup lemmatizer",
            "CRF tagger (PolNeAR)",
        ],
        "parser": {
            "config": "training/parser.cfg",
            "seed": 0,
            "ewt_dev": {k: round(parser_meta["performance"][k], 4) for k in ("tag_acc", "dep_uas", "dep_las")},
        },
        "tagger": {"crf": CRF_PARAMS, "articles": articles, "paragraphs": paragraphs},
        "data": {
            "UD_English-EWT": "commit 15d613d, CC BY-SA 4.0 (the parser is shared alike)",
            "PolNeAR": "1.0.0, commit c3eee83, train compartment; its authors state no data licence",
        },
        "seconds": seconds,
    }
    path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def left_out(items: list[corpus.Article], gold: Path) -> list[int]:
    """The indices of the training articles a gold folder annotates (its files' ``article``)."""
    names = {Path(json.loads(path.read_text(encoding="utf-8"))["article"]).stem for path in gold.glob("*.json")}
    return [i for i, item in enumerate(items) if Path(item.name).stem in names]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--reuse-parser", action="store_true", help="keep the parser already in --out")
    parser.add_argument("--holdout", action="store_true", help="train on 9/10 of train, score the last tenth")
    parser.add_argument("--leave-out", type=Path, help="train without the articles this gold folder annotates")
    parser.add_argument(
        "--crf", type=json.loads, default={}, help='CRF parameters over the defaults (JSON: {"c1": 0.1})'
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.reuse_parser:
        train_parser(args.out / "parser")
    parser_seconds = time.monotonic() - started
    nlp = spacy.load(args.out / "parser")
    items = corpus.articles("train")
    parsed = parse_batch(nlp, args.out / "parser", "train", items)
    held: list[int] = []
    if args.holdout:
        held = sorted(random.Random(SEED).sample(range(len(items)), len(items) // 10))
    if args.leave_out:
        held = left_out(items, args.leave_out)
    keep = [i for i in range(len(items)) if i not in set(held)]
    train_items = [items[i] for i in keep]
    train_parsed = [parsed[i] for i in keep]
    lexicon = lexicon_of(train_items, train_parsed)
    target = args.out if not args.holdout else args.out / f"holdout{abs(hash(json.dumps(args.crf))) % 1000}"
    if args.leave_out:
        target = args.out / f"without-{args.leave_out.name}"
    target.mkdir(exist_ok=True)
    if args.holdout or args.leave_out:
        shutil.rmtree(target / "parser", ignore_errors=True)
        shutil.copytree(args.out / "parser", target / "parser")
    lexicon.save(target / "cues.json")
    tagger_started = time.monotonic()
    sequences = train_tagger(train_items, train_parsed, lexicon, target / "attribution.crfsuite", args.crf)
    seconds = time.monotonic() - started
    tagger_seconds = time.monotonic() - tagger_started
    print(
        f"parser {parser_seconds:.0f} s; tagger on {len(train_items)} articles ({sequences} paragraphs) "
        f"{tagger_seconds:.0f} s; {seconds:.0f} s in all"
    )
    if args.leave_out:
        print(f"tagger without {len(held)} articles in {target}")
        return
    if not args.holdout:
        kept = None if args.reuse_parser else parser_seconds
        write_meta(args.out, len(train_items), sequences, kept, tagger_seconds)
    if args.holdout:
        from training.evaluate import score_polnear

        scores = score_polnear(target, [items[i] for i in held], [parsed[i] for i in held])
        print(json.dumps(scores, indent=1))


if __name__ == "__main__":
    main()
