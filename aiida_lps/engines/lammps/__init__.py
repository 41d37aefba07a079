"""LAMMPS adapter: MD input scripts, data files, log/dump readers and error detection (no AiiDA import)."""
