"""Provenance: news claims with their attribution chains, traced back to their original speakers."""

__version__ = "0.1.0"
