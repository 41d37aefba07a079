"""LAMMPS adapter: MD input scripts, data files, log/dump readers, error detection and the linear MLIPs (no AiiDA)."""
