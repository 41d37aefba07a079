"""Reference systems with published results, for validation, examples and benchmarks."""
