"""Ingest: read files (loaders), normalise, chunk and index them incrementally."""
