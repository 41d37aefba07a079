"""Every ```python and ```bash block of README.md and docs/ runs as written (at the tiny sizes the pages use).

A block preceded by ``<!-- not-tested: reason -->`` is illustrative only (it needs a cluster, VASP, the whole
set-up or minutes of DFT); those are listed by ``test_untested_blocks_are_few_and_explained`` and must still parse.
Within one page the Python blocks share a namespace (a later block uses what an earlier one defined) and run in
this process; bash blocks run in a subprocess with ``bash -euo pipefail``. Both see the test profile (its
``AIIDA_PATH``) with ``aiida-lps setup`` done, and run in a temporary working directory.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!--\s*not-tested:\s*(?P<reason>.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>\S*)")
MAX_UNTESTED = 23  # each marked block names why it cannot run here; keep the list short


@dataclasses.dataclass
class Block:
    path: pathlib.Path
    line: int
    lang: str
    code: str
    untested: str | None

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[pathlib.Path]:
    pages = [p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts and "api" not in p.parts]
    return [ROOT / "README.md", *sorted(pages)]


def extract(path: pathlib.Path) -> list[Block]:
    """The fenced code blocks of ``path`` with their language and not-tested reason (None when tested)."""
    blocks, lines = [], path.read_text().splitlines()
    previous, index = "", 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            if lines[index].strip():
                previous = lines[index]
            index += 1
            continue
        end = next(j for j in range(index + 1, len(lines)) if lines[j].startswith("```"))
        marker = MARKER.match(previous)
        code = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(Block(path, index + 1, match["lang"], code, marker["reason"] if marker else None))
        previous, index = "", end + 1
    return blocks


def executable(path: pathlib.Path) -> list[Block]:
    return [b for b in extract(path) if b.lang in ("python", "bash") and b.untested is None]


def test_untested_blocks_are_few_and_explained():
    """Markers sit right before a python/bash block, give a reason, are few; every Python block parses."""
    untested = []
    for path in documents():
        text = path.read_text()
        assert text.count("not-tested:") == sum(1 for b in extract(path) if b.untested is not None), (
            f"{path.name}: a not-tested marker that does not directly precede a code block"
        )
        for block in extract(path):
            if block.lang == "python":
                ast.parse(block.code, filename=block.where())
            if block.untested is not None:
                assert block.lang in ("python", "bash"), f"{block.where()}: marker on a {block.lang!r} block"
                assert len(block.untested) > 10, f"{block.where()}: say why the block is not tested"
                untested.append(block.where())
    assert len(untested) <= MAX_UNTESTED, untested
    assert sum(len(executable(p)) for p in documents()) >= 15


@pytest.fixture
def docs_environment(aiida_profile, tmp_path, monkeypatch):
    """The test profile with `aiida-lps setup` done; environment for subprocesses; a scratch working directory."""
    from aiida.manage.configuration import get_config
    from click.testing import CliRunner

    from aiida_lps.cli import cli

    result = CliRunner().invoke(cli, ["setup"])
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ)
    env["AIIDA_PATH"] = str(pathlib.Path(get_config().dirpath).parent)
    env["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    return env


PAGES = [p for p in documents() if executable(p)]


@pytest.mark.lammps
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs_as_written(page, docs_environment):
    namespace: dict = {"__name__": "__docs__"}
    for block in executable(page):
        if block.lang == "python":
            exec(compile(block.code, block.where(), "exec"), namespace)  # noqa: S102 - the documented code
            continue
        process = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.code],
            env=docs_environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert process.returncode == 0, f"{block.where()} failed:\n{process.stdout}\n{process.stderr}"
