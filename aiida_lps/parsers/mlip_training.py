"""Parser of ``lps.mlip.train``: the fitted potential, metrics, MaxVol active set and parity arrays."""

from __future__ import annotations

import io
import json

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from aiida_lps.common.serialize import json_safe
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.mlip import fit, models

__all__ = ("MlipTrainingParser",)


class MlipTrainingParser(Parser):
    """Turn the fit's files into a potential node, a metrics Dict, the active set and parity arrays."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse ``results.json`` and the potential files."""
        names = self.retrieved.base.repository.list_object_names()
        if fit.RESULTS not in names:
            stderr = (self.node.get_scheduler_stderr() or "").strip()[-500:]
            return self.exit_codes.ERROR_RESULTS_MISSING.format(detail=stderr or "no stderr")
        results = json.loads(self.retrieved.base.repository.get_object_content(fit.RESULTS))
        if results.get("error") == "underdetermined":
            return self.exit_codes.ERROR_UNDERDETERMINED.format(detail=results["message"])
        if "error" in results:
            return self.exit_codes.ERROR_FIT_FAILED.format(detail=results["message"])
        model = results.get("model", "snap")
        hyper = results["hyperparameters"]
        settings = models.model_settings(model, hyper, drop_unknown=True)
        potential_files = models.potential_filenames(model)
        pair = models.pair_arguments(model, settings)
        description = models.description(model, settings)
        missing = [n for n in (*potential_files, fit.ACTIVE_SET) if n not in names]
        if missing:
            return self.exit_codes.ERROR_FILES_MISSING.format(detail=", ".join(missing))
        files = {name: self.retrieved.base.repository.get_object_content(name, mode="rb") for name in potential_files}
        metadata = {
            "model": description,
            "hyperparameters": settings.to_dict(),
            "n_training": results["n_training"],
            "training_metrics": results["training_metrics"],
            "test_metrics": results["test_metrics"],
            "units": "LAMMPS metal",
        }
        potential = InteratomicPotentialData(
            **pair,
            elements=settings.elements,
            cutoff=settings.cutoff,
            files=files,
            metadata=json_safe(metadata),
        )
        self.out("potential", potential)
        self.out("metrics", orm.Dict(json_safe(results)))

        active = orm.ArrayData()
        content = self.retrieved.base.repository.get_object_content(fit.ACTIVE_SET, mode="rb")
        with np.load(io.BytesIO(content)) as data:
            for key in data.files:
                active.set_array(key, data[key])
        active.base.attributes.set("model", model)
        active.base.attributes.set(f"{model}_settings", settings.to_dict())
        active.base.attributes.set("summary", json_safe(results.get("active_set", {})))
        self.out("active_set", active)

        parity = orm.ArrayData()
        if fit.PARITY in names:
            content = self.retrieved.base.repository.get_object_content(fit.PARITY, mode="rb")
            with np.load(io.BytesIO(content), allow_pickle=False) as data:
                for key in data.files:
                    array = data[key]
                    parity.set_array(key, array.astype(str) if array.dtype.kind in "OU" else array)
        parity.base.attributes.set("units", {"energy": "eV/atom", "force": "eV/Å"})
        self.out("parity", parity)
        if results["fit"].get("regularised"):
            self.logger.warning(results["fit"]["message"])
        attractive = results.get("short_range", {}).get("attractive")
        if attractive:
            self.logger.warning(
                f"the potential turns attractive below the training data's shortest {', '.join(attractive)} "
                "contacts: label closer contacts of these pairs before relaxations or hot MD trust it"
            )
        return None
