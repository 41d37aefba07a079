"""Try the mistakes a new user makes (builder inputs, overrides, data types, CLI options, science calls) and classify
what each costs: ``clear`` (an early ValueError/TypeError/validation message naming the problem), ``cryptic`` (an
error that does not name it) or ``bad`` (accepted: nonsense goes through; or a crash). Nothing expensive runs: only
validation and small NumPy calls.

Usage: ``export AIIDA_PATH=$PWD/.aiida; verdi presto --profile-name probe --non-interactive`` once, then
``python benchmarks/probe_bad_input.py``.
"""

from __future__ import annotations

import collections

import numpy as np
from aiida import load_profile, orm
from click.testing import CliRunner

load_profile()

from aiida.engine.utils import instantiate_process  # noqa: E402
from aiida.manage import get_manager  # noqa: E402

from aiida_lps.cli import cli  # noqa: E402
from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_lammps_executable  # noqa: E402
from aiida_lps.data.potential import InteratomicPotentialData  # noqa: E402
from aiida_lps.reference import lennard_jones  # noqa: E402
from aiida_lps.science import arrhenius, xas  # noqa: E402
from aiida_lps.science.diffusion import region_diffusion  # noqa: E402
from aiida_lps.science.phase_diagram import convex_hull  # noqa: E402
from aiida_lps.structures.reference import load_structure  # noqa: E402
from aiida_lps.workflows.active_learning import ActiveLearningWorkChain  # noqa: E402
from aiida_lps.workflows.diffusion import DiffusionWorkChain  # noqa: E402
from aiida_lps.workflows.genetic import GeneticSamplingWorkChain  # noqa: E402
from aiida_lps.workflows.xas import XasWorkChain  # noqa: E402

CASES: list[tuple[str, object, str]] = []  # (description, callable, fragment the message must contain)


def case(description: str, fragment: str):
    def register(function):
        CASES.append((description, function, fragment))
        return function

    return register


computer, _ = ensure_localhost("localhost")
CODE, _ = ensure_code("lmp", find_lammps_executable(), computer)
ARGON = orm.StructureData(ase=lennard_jones.argon_fcc(1))
POTENTIAL = InteratomicPotentialData(**lennard_jones.potential_arguments())
LI2S = orm.StructureData(pymatgen=load_structure("Li2S"))


def validate(builder) -> None:
    """Instantiate the process (its input validation); a valid builder passes silently."""
    instantiate_process(get_manager().get_runner(), builder)


def diffusion(temperatures=(300.0, 600.0), structure=None, species="Ar", **overrides):
    builder = DiffusionWorkChain.get_builder_from_protocol(
        CODE,
        structure or ARGON,
        protocol="fast",
        overrides=overrides,
        potential=POTENTIAL,
        temperatures=temperatures,
        species=species,
    )
    validate(builder)


# ---------------------------------------------------------------------------------------------- lps.diffusion
for temps, frag in [
    ([], "empty"), ([-300], "positive"), ([0], "positive"), ([True, 600], "positive"), ([1e9, 600], "at most"),
    ([1e6, 600], "at most"), ([700, 700.001], "too close"), ([600, 600.0], "duplicates"), (["600"], "positive"),
    ([None], "positive"), ([float("nan")], "positive"), ([float("inf")], "positive"), ([[600]], "positive"),
    ([600, -1], "positive"), ([2e4], "at most"),
]:  # fmt: skip
    case(f"diffusion temperatures={temps}", frag)(lambda t=temps: diffusion(t))

md_bad = {
    "timestep_fs": [-1.0, 0.0, True, float("nan"), "2"], "production_steps": [0, 2.5, -10, True],
    "dump_interval": [0, 0.5, 3.5], "equilibration_steps": [-1, 1.5], "seed": [0, -5, 1.5, 2**40, True],
    "ensemble": ["nve", "NVT", None], "npt_coupling": ["xyz"], "thermostat_damping": [0.0, -1.0],
    "pressure_bar": [float("nan")], "initial_temperature": [-1.0, 1e9, True], "temperature": [700.0],
    "timestep": [1.0], "thermo_intervall": [100],
}  # fmt: skip
for key, values in md_bad.items():
    for value in values:
        fragment = (
            "temperature" if key == "temperature" else ("unknown" if key in ("timestep", "thermo_intervall") else key)
        )
        case(f"diffusion parameters.{key}={value!r}", fragment)(lambda k=key, v=value: diffusion(parameters={k: v}))

analysis_bad = {
    "window": [[0.5, 0.1], [0.1], [-0.1, 0.5], [0.1, 1.5], "0.1-0.5", [True, 0.5]], "n_blocks": [1, 0, 2.5, True, "5"],
    "trajectory_stride": [-1, 2.5, "10"], "drift": ["centre", ["Li"], []], "species": ["Li", [], ["Xx"], 3],
    "charges": [{"Ar": float("nan")}, {"Ar": "1"}, 5], "subdiffusive_threshold": [0.0, 1.5, float("nan")],
    "regions": [{"axis": 3, "boundaries": [[0, 0.5]]}, {"axis": 2, "boundaries": [[0, 0.6], [0.5, 1.0]]},
                {"axis": 2, "boundaries": [[0.5, 0.2]]}, {"axis": 2}, {"axis": 2, "boundaries": []}],
    "windw": [[0.1, 0.5]],
}  # fmt: skip
for key, values in analysis_bad.items():
    for value in values:
        frag = {"windw": "unknown", "regions": "region", "charges": "charge", "species": "species"}.get(key, key)
        if key == "drift" and value == ["Li"]:
            frag = "drift"
        case(f"diffusion analysis.{key}={value!r}", frag)(lambda k=key, v=value: diffusion(analysis={k: v}))

for name, value, frag in [
    ("target_temperature", -300.0, "target_temperature"), ("target_temperature", 1e7, "target_temperature"),
    ("target_temperature", float("nan"), "target_temperature"), ("supercell_min_width", -5.0, "supercell_min_width"),
    ("supercell_min_width", 300.0, "guard"), ("supercell_min_width", 0.0, "supercell_min_width"),
]:  # fmt: skip

    def set_port(n=name, v=value):
        builder = DiffusionWorkChain.get_builder_from_protocol(
            CODE, ARGON, protocol="fast", potential=POTENTIAL, temperatures=[300, 600], species="Ar"
        )
        setattr(builder, n, orm.Float(v))
        validate(builder)

    case(f"diffusion {name}={value}", frag)(set_port)

for target in (-300.0, 0.0, float("nan"), 1e7, True, "300"):
    case(f"diffusion overrides target_temperature={target!r}", "target_temperature")(
        lambda t=target: diffusion(target_temperature=t)
    )
for width in (True, -5.0):
    case(f"diffusion overrides supercell_min_width={width!r}", "supercell_min_width")(
        lambda w=width: diffusion(supercell_min_width=w)
    )
case("diffusion too few frames", "frames")(lambda: diffusion(parameters={"production_steps": 200, "dump_interval": 10}))
case("diffusion pbc (T, T, F)", "pbc")(lambda: diffusion(structure=_slab(ARGON)))
case("diffusion species absent", "not in the structure")(lambda: diffusion(species="Li"))
case("diffusion code=None", "code")(
    lambda: validate(
        DiffusionWorkChain.get_builder_from_protocol(
            None, ARGON, protocol="fast", potential=POTENTIAL, temperatures=[300, 600], species="Ar"
        )
    )
)
case("diffusion unknown protocol", "protocol")(
    lambda: DiffusionWorkChain.get_builder_from_protocol(
        CODE, ARGON, protocol="ultra", potential=POTENTIAL, temperatures=[300]
    )
)


def _slab(structure):
    slab = structure.clone()
    slab.pbc = (True, True, False)
    return slab


# ---------------------------------------------------------------------------------------------- lps.xas
def xas_port(name: str, node) -> None:
    error = XasWorkChain.spec().inputs[name].validate(node)
    if error is not None:
        raise ValueError(error.message)


for name, value, frag in [
    ("symprec", -0.01, "symprec"), ("symprec", 0.0, "symprec"), ("symprec", float("nan"), "symprec"),
    ("symprec", 5.0, "symprec"), ("angle_tolerance", -5.0, "angle_tolerance"), ("angle_tolerance", 720.0, "angle"),
    ("supercell_min_width", -10.0, "supercell_min_width"), ("supercell_min_width", 1e4, "supercell_min_width"),
    ("calibration_shift", float("inf"), "calibration_shift"), ("calibration_shift", float("nan"), "calibration"),
]:  # fmt: skip
    case(f"xas {name}={value}", frag)(lambda n=name, v=value: xas_port(n, orm.Float(v)))
for grid, frag in [
    ({"step": 0.0}, "step"), ({"step": -0.1}, "step"), ({"step": 1e-6}, "step"), ({"stepsize": 0.1}, "unknown"),
    ({"above": -5}, "above"), ({"below": float("nan")}, "below"), ({"step": True}, "step"), ({"step": "0.1"}, "step"),
]:  # fmt: skip
    case(f"xas grid={grid}", frag)(lambda g=grid: xas_port("grid", orm.Dict(g)))
for broadening, frag in [
    ({"gaussian_fwhm": -0.5}, "non-negative"), ({"gaussian": 0.5}, "unknown"), ({"lorentzian_fwhm": "0.5"}, "non-"),
    ({"lorentzian_slope": float("nan")}, "non-negative"),
]:  # fmt: skip
    case(f"xas broadening={broadening}", frag)(lambda b=broadening: xas_port("broadening", orm.Dict(b)))
for sites, frag in [([], "empty"), ([-1], "indices"), (["S1"], "indices"), ([1.5], "indices")]:
    case(f"xas sites={sites}", frag)(lambda s=sites: xas_port("sites", orm.List(s)))
case("xas engine=castep", "engine")(lambda: xas_port("engine", orm.Str("castep")))
case("xas ground_state_cell=primitive", "supercell")(lambda: xas_port("ground_state_cell", orm.Str("primitive")))


def xas_inputs(**inputs):
    message = XasWorkChain.spec().inputs.validator({"structure": LI2S, **inputs}, None)
    if message:
        raise ValueError(message)


case("xas pbc (T, T, F)", "pbc")(lambda: XasWorkChain.spec().inputs.validator({"structure": _slab(LI2S)}, None) and
                                 (_ for _ in ()).throw(ValueError(XasWorkChain.spec().inputs.validator(
                                     {"structure": _slab(LI2S)}, None))))  # fmt: skip
case("xas grid of 2e6 points", "points")(
    lambda: (
        xas_inputs(grid=orm.Dict({"step": 0.001, "below": 1000.0, "above": 1000.0}))
        or xas_port("grid", orm.Dict({"step": 0.001, "below": 1000.0, "above": 1000.0}))
    )
)
case("xas absorber absent", "no P atom")(lambda: xas_inputs(absorber=orm.Str("P")))
case("xas sites index past the structure", "atoms")(lambda: xas_inputs(sites=orm.List([99])))
case("xas sites index of a Li atom", "not a S atom")(
    lambda: xas_inputs(sites=orm.List([[s.specie.symbol for s in load_structure("Li2S")].index("Li")]))
)
case("xas sites multiplicity 0", "multiplicity")(lambda: xas_port("sites", orm.List([[0, 0]])))
case("xas 60 Å supercell (size guard)", "guard")(lambda: xas_inputs(supercell_min_width=orm.Float(60.0)))
case("xas engine unknown protocol", "protocol")(
    lambda: XasWorkChain.get_builder_from_protocol(CODE, LI2S, protocol="ultra", engine="gpaw")
)
case("xas engine without protocol settings", "engine")(
    lambda: XasWorkChain.get_builder_from_protocol(CODE, LI2S, engine="castep")
)

# ---------------------------------------------------------------------------------------------- lps.potential
BASE = {
    "pair_style": "snap", "pair_coeff": ["* * p.snapcoeff p.snapparam {elements}"], "elements": ["Li", "P", "S"],
    "cutoff": 5.0, "files": {"p.snapcoeff": b"# c\n", "p.snapparam": "rcutfac 4.5\n"},
}  # fmt: skip
for change, frag in [
    ({"files": {"p.snapcoeff": "/some/path/p.snapcoeff", "p.snapparam": "rcutfac 4.5\n"}}, "pathlib.Path"),
    ({"elements": "LiPS"}, "list of strings"), ({"elements": ["Li", "Xx", "S"]}, "element symbols"),
    ({"elements": ["Li", "Li", "S"]}, "distinct"), ({"elements": []}, "non-empty"),
    ({"pair_coeff": "* * p.snapcoeff p.snapparam {elements}"}, "list of strings"), ({"pair_coeff": []}, "pair_coeff"),
    ({"files": {}}, "not in `files`"), ({"files": {"p.snapcoeff": b"", "../p.snapparam": "x\n"}}, "plain file name"),
    ({"cutoff": True}, "cutoff"), ({"cutoff": -1.0}, "cutoff"), ({"cutoff": float("nan")}, "cutoff"),
    ({"cutoff": "5"}, "cutoff"), ({"pair_style": ""}, "pair_style"), ({"pair_style": None}, "pair_style"),
    ({"pair_coeff": ["{Xe} {Xe} 1 1"]}, "Xe"), ({"files": {"p.snapcoeff": 5, "p.snapparam": "x\n"}}, "content"),
]:  # fmt: skip
    case(f"potential {change}", frag)(lambda c=change: InteratomicPotentialData(**{**BASE, **c}))

# ---------------------------------------------------------------------------------------------- science calls
for args, frag in [
    (([700, 700.0000001], [1e-5, 2e-5], [1e-6, 1e-6]), "too close"), (([700, 800], [1e-5, -2e-5], None), "positive"),
    (([700, 800], [1e-5], None), "differ"), (([700], [1e-5], None), "2 points"),
    (([700, 800, 900], [1, 2, 3], [1]), "errors"),
    (([700, 800], [1e-5, 2e-5], None), "3 points"), (([True, 800, 900], [1, 2, 3], None), "numbers"),
    ((["a", 800], [1, 2], None), "numbers"), (([700, float("nan")], [1, 2], None), "finite"),
    (([1e9, 1.1e9], [1e-5, 2e-5], [1e-6, 1e-6]), "overflow|ill-conditioned"),
]:  # fmt: skip

    def fit_and_extrapolate(a=args):
        arrhenius.extrapolate(arrhenius.fit_arrhenius(*a), 300.0)

    case(f"arrhenius {args}", frag)(fit_and_extrapolate)
for target, frag in [(-300.0, "temperature"), (0.0, "temperature"), (float("nan"), "temperature")]:
    case(f"arrhenius extrapolate to {target}", frag)(
        lambda t=target: arrhenius.extrapolate(arrhenius.fit_arrhenius([600, 700, 800], [1e-6, 2e-6, 4e-6]), t)
    )
GRID = np.linspace(0, 10, 101)
for args, frag in [
    ((np.linspace(0, 1, 5), [0, np.nan, 1, 1, 0]), "NaN"), ((np.linspace(0, 1, 5), [0, 1, 1]), "length"),
    (([], []), "length"), ((np.linspace(0, 1, 5), np.ones(5), GRID[:1]), "two points"),
    ((np.linspace(0, 1, 5), np.ones(5), np.array([0, 1, 3.0])), "uniform"),
]:  # fmt: skip
    case(f"xas.broaden {len(args[0])} points", frag)(
        lambda a=args: xas.broaden(
            *a, **({} if len(a) == 3 else {"grid": GRID}), gaussian_fwhm=0.3, lorentzian_fwhm0=0.59
        )
    )
case("xas.broaden negative fwhm", "gaussian_fwhm")(
    lambda: xas.broaden([0, 1], [1, 1], GRID, gaussian_fwhm=-1, lorentzian_fwhm0=0.59)
)
case("xas.weighted_average NaN", "NaN")(lambda: xas.weighted_average([np.array([np.nan, 1.0])], [1]))
case("xas.weighted_average m=0", "multiplicities")(lambda: xas.weighted_average([np.ones(2)], [0]))
for args, frag in [(([0.0], 0.0), "positive"), (([0.0], 1e-7), "points"), (([], 0.05), "no onsets"),
                   (([np.nan], 0.05), "finite"), (([1e16], 1.0), "K edge")]:  # fmt: skip
    case(f"xas.common_grid {args}", frag)(lambda a=args: xas.common_grid(a[0], a[1], 5.0, 35.0))
for symprec, angle in [(-0.01, 5.0), (0.0, 5.0), (0.01, -1.0), (True, 5.0), (float("nan"), 5.0)]:
    case(f"xas.inequivalent_sites symprec={symprec} angle={angle}", "symprec|angle")(
        lambda s=symprec, a=angle: xas.inequivalent_sites(load_structure("Li2S"), "S", s, a)
    )
POS = np.cumsum(np.random.default_rng(0).normal(size=(60, 4, 3)) * 0.1, axis=0)
for bounds, frag in [([(0, 0.6), (0.5, 1.0)], "overlap"), ([(0.9, 0.1), (0.0, 0.5)], "overlap"),
                     ([(0.2, 0.2)], "distinct"), ([(0, 1.5)], "fractional"), ([("a", 1)], "pair")]:  # fmt: skip
    case(f"region_diffusion {bounds}", frag)(
        lambda b=bounds: region_diffusion(POS, np.eye(3) * 10, 0.01, ["Li"] * 4, [6.94] * 4, "Li", 2, b)
    )
for args, frag in [(([0.5, 1.5], [-0.1, 0.0]), "0, 1|fraction"), (([0.5], [np.nan]), "NaN|finite"),
                   (([0.5, 0.6], [0.1]), "but 1"), (([0.5], [0.1], None, -1.0), "tolerance")]:  # fmt: skip
    case(f"convex_hull {args}", frag)(lambda a=args: convex_hull(*a))


# ---------------------------------------------------------------------------------------------- AL, GA ports
def port(chain, path: str, node) -> None:
    ports = chain.spec().inputs
    for part in path.split("."):
        ports = ports[part]
    error = ports.validate(node)
    if error is not None:
        raise ValueError(error.message)


case("active_learning dft.engine=castep", "castep")(
    lambda: port(ActiveLearningWorkChain, "dft.engine", orm.Str("castep"))
)
case("active_learning dft.engine=GPAW", "GPAW")(lambda: port(ActiveLearningWorkChain, "dft.engine", orm.Str("GPAW")))
case("active_learning empty structures", "structure")(
    lambda: _raise(ActiveLearningWorkChain.spec().inputs.validator({"structures": {}}, None))
)
case("active_learning slab structure", "pbc")(
    lambda: _raise(ActiveLearningWorkChain.spec().inputs.validator({"structures": {"a": _slab(LI2S)}}, None))
)
for path, node, frag in [
    ("sampling", {"initial": {"seed": -5}}, "seed"), ("sampling", {"initial": {"count": 2.5}}, "count"),
    ("sampling", {"initial": {"rattle": -0.1}}, "rattle"), ("sampling", {"inital": {}}, "unknown"),
    ("fitting.parameters", {"elements": ["Li"], "ridge": -1.0}, "ridge"),
    ("fitting.parameters", {"elements": ["Li"], "grid": [{"twojmax": 3}]}, "SNAP"),
    ("fitting.parameters", {"grid": [{"twojmax": 4}]}, "elements"),
]:  # fmt: skip
    case(f"active_learning {path}={node}", frag)(lambda p=path, n=node: port(ActiveLearningWorkChain, p, orm.Dict(n)))
case("genetic dft.engine=castep", "castep")(lambda: port(GeneticSamplingWorkChain, "dft.engine", orm.Str("castep")))
case("genetic dft.overrides unknown key", "calculatr")(
    lambda: _raise(GeneticSamplingWorkChain.spec().inputs.validator({
        "structure": LI2S, "n_li2s": orm.Int(1),
        "dft": {"engine": orm.Str("gpaw"), "code": CODE, "overrides": orm.Dict({"calculatr": {}})}}, None))
)  # fmt: skip
for value, frag in [([2, 2], "three"), ([0, 1, 1], "positive"), ([1.5, 1, 1], "positive"), (["2", 1, 1], "positive")]:
    case(f"genetic supercell={value}", frag)(lambda v=value: port(GeneticSamplingWorkChain, "supercell", orm.List(v)))
case("genetic symprec=-0.1", "symprec")(lambda: port(GeneticSamplingWorkChain, "symprec", orm.Float(-0.1)))
case("genetic slab parent", "pbc")(
    lambda: _raise(GeneticSamplingWorkChain.spec().inputs.validator({"structure": _slab(LI2S)}, None))
)


def _raise(message):
    if message:
        raise ValueError(message)


# ---------------------------------------------------------------------------------------------- CLI
def run_cli(*args):
    result = CliRunner().invoke(cli, list(args))
    if result.exit_code != 0:
        raise ValueError(result.output.strip().splitlines()[-1] if result.output.strip() else repr(result.exception))


case("cli setup --computer typo", "no computer")(lambda: run_cli("setup", "--computer", "lcoalhost"))
case("cli structures import --supercell 40 40 40", "guard")(
    lambda: run_cli("structures", "import", "Li2S", "--supercell", "40", "40", "40")
)
case("cli structures import --supercell 0 1 1", "0")(
    lambda: run_cli("structures", "import", "Li2S", "--supercell", "0", "1", "1")
)
case("cli structures import unknown name", "Li9")(lambda: run_cli("structures", "import", "Li9"))
case("cli structures import --supercell 2 2", "supercell")(
    lambda: run_cli("structures", "import", "Li2S", "--supercell", "2", "2")
)


def main() -> None:
    outcomes = collections.Counter()
    not_clear = []
    for description, function, fragment in CASES:
        try:
            function()
        except (ValueError, TypeError) as exception:
            message = str(exception)
            import re

            kind = "clear" if re.search(fragment, message, re.IGNORECASE) else "cryptic"
        except Exception as exception:  # noqa: BLE001 - everything else is a crash of the probe's subject
            kind, message = "bad", f"{type(exception).__name__}: {exception}"
        else:
            kind, message = "bad", "accepted (no error)"
        outcomes[kind] += 1
        if kind != "clear":
            not_clear.append(f"  [{kind}] {description}: {message[:200]}")
    total = sum(outcomes.values())
    print(f"{total} mistakes: {outcomes['clear']} clear, {outcomes['cryptic']} cryptic "
          f"({100 * outcomes['cryptic'] / total:.1f} %), {outcomes['bad']} bad")  # fmt: skip
    print("\n".join(not_clear) or "every mistake got a clear early error")


if __name__ == "__main__":
    main()
