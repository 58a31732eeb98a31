"""厚木市DX推進計画 assistant: the core library (store, retrieval, answers, alignment, drafting)."""

__version__ = "0.1.0"
