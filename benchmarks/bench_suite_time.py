#!/usr/bin/env python
"""Test-suite time against the baseline of issue 9: the tests that existed then, timed now.

The suite at commit c6e74c1 (before the architecture consolidation) had the 241 tests listed in
``benchmarks/data/suite/tests_c6e74c1.txt`` and ran in 243 s on an idle machine (``bash scripts/run-tests.sh``).
Since then later issues added tests, so the whole suite's time says nothing about whether the consolidation made
the existing tests slower. This script reads the JUnit XML of a run of today's suite and prints

- the time of the baseline tests that still exist under the same node ID (and how many of the 241 that is),
- the time of the rest (tests added since, or renamed),
- the total and the slowest baseline tests.

    bash scripts/run-tests.sh --junitxml=/tmp/suite.xml        # or: bash .ci/run --junitxml=/tmp/suite.xml
    python benchmarks/bench_suite_time.py /tmp/suite.xml
"""

from __future__ import annotations

import argparse
import pathlib
import xml.etree.ElementTree as ET

BASELINE = pathlib.Path(__file__).resolve().parent / "data" / "suite" / "tests_c6e74c1.txt"
BASELINE_SECONDS = 243.0  # the whole baseline suite on an idle machine (closing note of stop 15)


def node_id(case: ET.Element) -> str:
    """``tests/dir/test_x.py::test_name[param]`` from a JUnit ``testcase`` (classname ``tests.dir.test_x``)."""
    module, _, klass = case.get("classname", "").partition("::")
    parts = module.split(".")
    # pytest writes classname as dotted module path (+ .Class for methods); find where the file name ends
    for cut in range(len(parts), 0, -1):
        candidate = pathlib.Path(*parts[:cut]).with_suffix(".py")
        if candidate.name.startswith("test_") or cut == 1:
            rest = parts[cut:]
            return "::".join([candidate.as_posix(), *rest, case.get("name", "")])
    return case.get("name", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("junit", type=pathlib.Path, help="JUnit XML of a suite run (pytest --junitxml)")
    args = parser.parse_args()
    baseline = {line.strip() for line in BASELINE.read_text().splitlines() if line.strip()}
    times = {}
    for case in ET.parse(args.junit).getroot().iter("testcase"):
        times[node_id(case)] = float(case.get("time", 0.0))
    common = {k: v for k, v in times.items() if k in baseline}
    rest = {k: v for k, v in times.items() if k not in baseline}
    print(f"suite run: {len(times)} tests, {sum(times.values()):.0f} s of test time (setup + call + teardown)")
    print(
        f"baseline tests still present under the same ID: {len(common)} of {len(baseline)}, "
        f"{sum(common.values()):.0f} s now (the whole baseline suite: {BASELINE_SECONDS:.0f} s for {len(baseline)})"
    )
    print(f"tests added or renamed since: {len(rest)}, {sum(rest.values()):.0f} s")
    print("slowest baseline tests now:")
    for name, seconds in sorted(common.items(), key=lambda item: -item[1])[:10]:
        print(f"  {seconds:7.1f} s  {name}")


if __name__ == "__main__":
    main()
