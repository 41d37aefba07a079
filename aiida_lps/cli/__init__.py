"""``aiida-lps`` command line: set-up of computers and codes, in the style of ``verdi``."""

from __future__ import annotations

import click
from aiida.cmdline.groups.verdi import VerdiCommandGroup
from aiida.cmdline.params import options, types

from aiida_lps.cli.export import export
from aiida_lps.cli.launch import launch
from aiida_lps.cli.plot import plot
from aiida_lps.cli.potential import potential
from aiida_lps.cli.setup import setup
from aiida_lps.cli.show import show
from aiida_lps.cli.structures import structures

__all__ = ("cli",)


@click.group("aiida-lps", cls=VerdiCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@options.PROFILE(type=types.ProfileParamType(load_profile=True), expose_value=False)
def cli():
    """Command line interface of aiida-lps (uses the default AiiDA profile unless -p is given)."""


cli.add_command(export)
cli.add_command(setup)
cli.add_command(structures)
cli.add_command(launch)
cli.add_command(show)
cli.add_command(plot)
cli.add_command(potential, name="potential")
