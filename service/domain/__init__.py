"""The model and its rules: names, chains, tracing, statement matching. No HTTP, no SQL."""
