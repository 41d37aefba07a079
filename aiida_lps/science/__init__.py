"""Pure science core (NumPy), no AiiDA import."""
