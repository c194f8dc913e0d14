"""Reading attribution chains out of article text at run time: the committed model (parser, CRF, cue
lexicon) and the rules that build nested chains and claims from its spans. No HTTP, no SQL."""

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "attribution-en"
"""The committed model: spaCy's parser, the CRF tagger and the cue lexicon, with its card."""
