"""Answerers: extractive (default, no LLM) and LLM (when configured), with citation checking."""
