"""Reading attribution chains out of article text at run time: the committed model (parser, CRF, cue
lexicon) and the rules that build nested chains and claims from its spans. No HTTP, no SQL."""
