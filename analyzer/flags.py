"""Command-line flags generated from a stage's configuration dataclass: one flag per field.

A field declared with `option(default, help)` carries its flag's help text, so `--help`, the
flags and the configuration cannot drift apart. Shared by the analyzer and the trainer (torch-free).
"""

from __future__ import annotations

from dataclasses import field


def option(default, help: str, **argparse_kwargs):
    """A dataclass field that carries its flag's help text (and any extra argparse settings)."""
    return field(default=default, metadata={"help": help, **argparse_kwargs})


def flag(name: str) -> str:
    """The flag of a field: `top_k` -> `top-k`."""
    return name.replace("_", "-")
