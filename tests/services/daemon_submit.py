"""Submit lps.diffusion to a running daemon of the current profile and wait for it (run by test_daemon_path.py).

Prints one JSON line with the work chain's state and results.
"""

from __future__ import annotations

import json
import sys
import time

from aiida import load_profile, orm
from aiida.engine import submit

from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_lammps_executable
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.reference import lennard_jones
from aiida_lps.workflows.diffusion import DiffusionWorkChain

load_profile()
computer, _ = ensure_localhost()
code, _ = ensure_code("lmp", find_lammps_executable(), computer)
builder = DiffusionWorkChain.get_builder_from_protocol(
    code,
    orm.StructureData(ase=lennard_jones.argon_fcc(3)),
    potential=InteratomicPotentialData(**lennard_jones.potential_arguments()),
    temperatures=[94.4, 120.0],
    protocol="fast",
    overrides={
        "parameters": {
            "timestep_fs": 5.0,
            "equilibration_steps": 1000,
            "production_steps": 2000,
            "dump_interval": 20,
            "initial_temperature": 400.0,
        },
    },
    species="Ar",
    charge=0.0,
)
node = submit(builder)
deadline = time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 300)
while not node.is_terminated and time.monotonic() < deadline:
    time.sleep(1.0)
result = {
    "pk": node.pk,
    "state": node.process_state.value if node.process_state else None,
    "exit_status": node.exit_status,
    "storage": node.backend.__class__.__name__,
    "calcjobs": len([n for n in node.called_descendants if n.node_type.startswith("process.calculation.calcjob")]),
}
if node.is_finished_ok:
    result["D"] = node.outputs.runs.T94p4K.results["species"]["Ar"]["D"]
    result["Ea"] = node.outputs.arrhenius["diffusivity"]["activation_energy"]
print(json.dumps(result))
