"""AiiDA-side helpers (nodes in, nodes out) shared by CalcJobs, parsers, calcfunctions and work chains.

AiiDA-free helpers live in :mod:`aiida_lps.common`, which the science and engine layers may import.
"""
