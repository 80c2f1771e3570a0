"""Command-line flags generated from a stage's configuration dataclass: one flag per field.

A field declared with `option(default, help)` carries its flag's help text, so `--help`, the
flags and the configuration cannot drift apart. Shared by the analyzer and the trainer (torch-free).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import Field, field

# a field's annotation (a string, under `from __future__ import annotations`) -> argparse type
TYPES = {"int": int, "float": float, "tuple[int, int, int]": int}


def option(default, help: str, **argparse_kwargs):
    """A dataclass field that carries its flag's help text (and any extra argparse settings)."""
    return field(default=default, metadata={"help": help, **argparse_kwargs})


def flag(name: str) -> str:
    """The flag of a field: `top_k` -> `top-k`."""
    return name.replace("_", "-")


def as_flag(key: str, value: object) -> list[str]:
    """`--bottleneck-dim 2`, `--no-flip`, `--widths 8 16 16`: the command-line words giving field
    `key` the value `value`, as `add_flags` reads them."""
    if isinstance(value, bool):
        return [f"--{'' if value else 'no-'}{flag(key)}"]
    return [f"--{flag(key)}", *map(str, value if isinstance(value, list | tuple) else [value])]


def add_flags(parser: argparse.ArgumentParser, fields: Iterable[Field], shown: object | None, keep_unset: bool) -> None:
    """One flag per dataclass field: `--top-k` for `top_k`, typed as the field, a boolean as
    `--x/--no-x`, the help text of `option` with its default: the value in `shown` (an instance),
    or the field's own default when `shown` is None.

    With `keep_unset`, every flag defaults to None, so only the flags given override another
    source of values (the trainer's preset); otherwise a flag defaults to the field's default.
    """
    for spec in fields:
        meta = dict(spec.metadata)
        value = spec.default if shown is None else getattr(shown, spec.name)
        label = "default preset" if keep_unset else "default"
        help_text = meta.pop("help") + ("" if value is None else f" ({label}: {value})")
        default = None if keep_unset else spec.default
        if spec.type == "bool":
            parser.add_argument(f"--{flag(spec.name)}", action=argparse.BooleanOptionalAction, default=default,
                                help=help_text)
        else:
            parser.add_argument(f"--{flag(spec.name)}", type=TYPES.get(spec.type, str), default=default,
                                help=help_text, **meta)
