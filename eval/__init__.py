"""Evaluation: suites, metrics, runner, reports and benchmarks that drive the real pipeline."""
