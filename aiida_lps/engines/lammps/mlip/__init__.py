"""Linear MLIPs (element-resolved SNAP, POD) in LAMMPS; no AiiDA import.

``settings`` (what the models share), ``descriptors`` (fitting rows), ``snap`` and ``pod`` (one model each),
``models`` (the models by name), ``fit`` (the training script of ``lps.mlip.train``) and ``exploration``
(γ-monitored MD of ``lps.mlip.explore``).
"""
