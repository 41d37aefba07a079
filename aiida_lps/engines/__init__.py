"""Engine adapters: input generation and output reading for each simulation code (no AiiDA import)."""
