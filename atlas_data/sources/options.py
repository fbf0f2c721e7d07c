"""What a record source (``local``, ``hf``) is told: its ``--source-opt`` keys split into
its own and the shared ones (column map and layout, preset, box and point conventions,
task, label), and the policy on unusual image files. Bad values fail here, naming the
allowed ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from atlas_data.config import check_keys
from atlas_data.sources.columns import parse_map
from atlas_data.sources.presets import Preset, preset

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024


def one_of(value: Any, name: str, allowed: Sequence[str]) -> str:
    """``value`` as text when it is one of ``allowed``; else a ``ValueError`` naming them."""
    v = str(value)
    if v not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return v


def flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class ImagePolicy:
    """What to do with image files that decode but are unusual. Defaults are documented in
    docs/sources-and-exports.md: refuse what needs a guess (which frame? which format?),
    convert what has one right answer (CMYK, 16-bit → 8-bit RGB)."""

    animated: str = "reject"  # reject | first_frame
    wrong_extension: str = "reject"  # reject | accept
    cmyk: str = "convert"  # convert | reject
    high_bit_depth: str = "convert"  # convert | reject
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> ImagePolicy:
        return cls(
            animated=one_of(opts.pop("animated", "reject"), "animated", ("reject", "first_frame")),
            wrong_extension=one_of(
                opts.pop("wrong_extension", "reject"), "wrong_extension", ("reject", "accept")
            ),
            cmyk=one_of(opts.pop("cmyk", "convert"), "cmyk", ("convert", "reject")),
            high_bit_depth=one_of(
                opts.pop("high_bit_depth", "convert"), "high_bit_depth", ("convert", "reject")
            ),
            max_file_bytes=int(opts.pop("max_file_bytes", DEFAULT_MAX_FILE_BYTES)),
        )


RECORD_OPTIONS = (
    "map", "layout", "preset", "bbox_format", "bbox_op", "point_format", "task", "name",
)  # fmt: skip


@dataclass(frozen=True)
class RecordOptions:
    """What every record source (local, hf) is told about its records: the column map
    and layout, box format and operation, task, label and image policy."""

    columns: dict[str, str] = field(default_factory=dict)
    layout: str = "auto"
    preset: Preset | None = None
    bbox_format: str = "xyxy"
    bbox_op: str = "zoom"
    point_format: str = "xy"
    task: str | None = None
    label: str | None = None
    policy: ImagePolicy = field(default_factory=ImagePolicy)


def record_options(
    options: Mapping[str, Any], own: Sequence[str], what: str
) -> tuple[dict[str, Any], RecordOptions]:
    """A record source's options split into its own and the shared ones. Unknown keys are
    an error that names the known ones."""
    opts = dict(options)
    policy = ImagePolicy.from_options(opts)
    check_keys(opts, (*own, *RECORD_OPTIONS), f"{what} source option")
    chosen = preset(str(opts["preset"])) if opts.get("preset") else None
    if chosen and opts.get("map"):
        raise ValueError(f"preset {chosen.name} maps the columns itself: drop --map")
    shared = RecordOptions(
        columns=parse_map(opts.get("map")),
        layout=str(opts.get("layout", "auto")),
        preset=chosen,
        bbox_format=str(opts.get("bbox_format") or (chosen.bbox_format if chosen else "xyxy")),
        bbox_op=str(opts.get("bbox_op", "zoom")),
        point_format=str(opts.get("point_format") or (chosen.point_format if chosen else "xy")),
        task=str(opts["task"]) if opts.get("task") else None,
        label=str(opts["name"]) if opts.get("name") else None,
        policy=policy,
    )
    return {k: opts[k] for k in own if k in opts}, shared
