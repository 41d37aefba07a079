"""``aiida-lps`` command line: set-up of computers and codes, in the style of ``verdi``."""

from __future__ import annotations

import click
from aiida.cmdline.groups.verdi import VerdiCommandGroup
from aiida.cmdline.params import options, types

from aiida_lps.cli.export import export
from aiida_lps.cli.setup import setup
from aiida_lps.cli.structures import structures

__all__ = ("cli",)


@click.group("aiida-lps", cls=VerdiCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@options.PROFILE(type=types.ProfileParamType(load_profile=True), expose_value=False)
def cli():
    """Command line interface of aiida-lps (uses the default AiiDA profile unless -p is given)."""


cli.add_command(export)
cli.add_command(setup)
cli.add_command(structures)
