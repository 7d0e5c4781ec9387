"""What the command-line modules of ``training`` share: commands and options from parsed arguments."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def add_command(
    subparsers: Any,
    name: str,
    help_text: str,
    func: Callable[[argparse.Namespace], int],
    *parents: argparse.ArgumentParser,
    describe: bool = False,
) -> argparse.ArgumentParser:
    """A subcommand parser that runs ``func``, with the options of ``parents``.

    ``describe`` also shows ``help_text`` at the top of the command's own ``--help``.
    """
    extra = {"description": help_text} if describe else {}
    parser = subparsers.add_parser(name, parents=list(parents), help=help_text, **extra)
    parser.set_defaults(func=func)
    return parser


def from_args(cls: type[T], args: argparse.Namespace, **values: Any) -> T:
    """A dataclass ``cls`` from ``args``, by field name.

    ``values`` set fields themselves (a field the command line spells otherwise); a field that is
    neither in ``values`` nor an attribute of ``args`` keeps its default.
    """
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name not in values and hasattr(args, field.name):
            values[field.name] = getattr(args, field.name)
    return cls(**values)
