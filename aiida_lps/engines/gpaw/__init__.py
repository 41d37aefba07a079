"""GPAW adapter: calculation parameters from protocols and the stand-alone runner script (no AiiDA import)."""
