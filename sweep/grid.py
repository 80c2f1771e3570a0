"""A sweep's grid: a TOML file naming a trainer preset, fields set for every point, and the values
to vary; each point of their product is one run folder built like any `make all` run.

    preset = "fast"
    [set]                      # optional: the same value for every point
    epochs = 3
    [vary]                     # one list per field; the grid is their product, in this order
    bottleneck_dim = [1, 2, 8]
    seed = [0, 1, 2]

Fields are `TrainConfig`'s (trainer/config.py); every value is checked against the field's type
and choices here, before any run starts, and a point becomes the trainer's own flags.
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from fmnist_common.flags import as_flag
from trainer.config import PRESETS, TrainConfig

GRIDS = Path(__file__).parent / "grids"  # the shipped grids, named by their file's stem
FIELDS = {spec.name: spec for spec in dataclasses.fields(TrainConfig) if spec.name != "preset"}


class GridError(ValueError):
    """A grid file that cannot be read or names an unknown field or value; the message says which."""


@dataclass(frozen=True)
class Point:
    """One run of the grid: the varied fields' values, in the grid's order."""

    values: tuple[tuple[str, object], ...]

    @property
    def name(self) -> str:
        """The run folder's name: `bottleneck_dim-2__seed-0` (one word, safe for make and the shell)."""
        return "__".join(f"{key}-{text(value)}" for key, value in self.values)

    @property
    def configuration(self) -> tuple[tuple[str, object], ...]:
        """The values but the seed: the points a configuration's mean and spread are taken over."""
        return tuple((key, value) for key, value in self.values if key != "seed")


@dataclass(frozen=True)
class Grid:
    name: str
    path: Path
    text: str  # the file as read, recorded in the sweep folder so that another grid's name clash is seen
    preset: str
    fixed: dict[str, object]
    vary: dict[str, list]

    def points(self) -> list[Point]:
        return [Point(tuple(zip(self.vary, values, strict=True))) for values in itertools.product(*self.vary.values())]

    def train_flags(self, point: Point) -> list[str]:
        """The trainer's flags of one point: the grid's fixed fields, then the point's own."""
        return [part for key, value in [*self.fixed.items(), *point.values] for part in as_flag(key, value)]


def text(value: object) -> str:
    """A value as it appears in a folder name: `8x16x16` for the widths."""
    return "x".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def find(name_or_path: str) -> Path:
    """A shipped grid by name (`smoke`), or any TOML file by its path."""
    shipped = GRIDS / f"{name_or_path}.toml"
    if "/" not in name_or_path and not name_or_path.endswith(".toml") and shipped.is_file():
        return shipped
    path = Path(name_or_path)
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in GRIDS.glob("*.toml")))
        raise GridError(f"sweep grid {name_or_path!r} not found; name one of sweep/grids ({names}) "
                        "or give the path of a TOML file")
    return path


def check_value(where: str, key: str, value: object) -> object:
    """`value` if it fits field `key` (a list for the widths comes back a tuple), else a GridError."""
    spec = FIELDS[key]
    kinds = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}
    if spec.type == "tuple[int, int, int]":
        if isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value):
            return tuple(value)
        raise GridError(f"{where}: {key} = {value!r} must be a list of 3 integers, e.g. [8, 16, 16]")
    if isinstance(value, bool) and spec.type != "bool" or not isinstance(value, kinds[spec.type]):
        raise GridError(f"{where}: {key} = {value!r} must be of type {spec.type}, like its default {spec.default!r}")
    choices = spec.metadata.get("choices")
    if choices and value not in choices:
        raise GridError(f"{where}: {key} = {value!r} is not one of {', '.join(choices)}")
    return value


def check_fields(where: str, table: object, section: str) -> dict:
    if not isinstance(table, dict):
        raise GridError(f"{where}: [{section}] must be a table of fields")
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise GridError(f"{where}: unknown field {unknown[0]!r} in [{section}]; known: {', '.join(FIELDS)}")
    return table


def load(name_or_path: str) -> Grid:
    """The grid of a shipped name or a file, every field and value checked (GridError otherwise)."""
    path = find(name_or_path)
    where = str(path)
    content = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise GridError(f"{where} is not valid TOML ({exc}); fix the file") from None
    unknown = sorted(set(data) - {"preset", "set", "vary"})
    if unknown:
        raise GridError(f"{where}: unknown key {unknown[0]!r}; a grid holds preset, [set] and [vary]")
    preset = data.get("preset", "default")
    if preset not in PRESETS:
        raise GridError(f"{where}: unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    fixed_table = check_fields(where, data.get("set", {}), "set")
    fixed = {key: check_value(where, key, value) for key, value in fixed_table.items()}
    vary_table = check_fields(where, data.get("vary", {}), "vary")
    if not vary_table:
        raise GridError(f"{where}: [vary] names no field, so the grid is empty; "
                        "give at least one field a list of values")
    vary = {}
    for key, values in vary_table.items():
        if key in fixed:
            raise GridError(f"{where}: {key} is both in [set] and in [vary]; keep it in one of them")
        if not isinstance(values, list) or not values:
            raise GridError(f"{where}: [vary] {key} = {values!r} has no values, so the grid is empty; "
                            "give it a non-empty list")
        checked = [check_value(where, key, value) for value in values]
        if len(set(checked)) != len(checked):
            raise GridError(f"{where}: [vary] {key} = {values!r} repeats a value; list each value once")
        vary[key] = checked
    return Grid(path.stem, path, content, preset, fixed, vary)
