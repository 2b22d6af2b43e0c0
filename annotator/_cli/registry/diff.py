"""``annotate registry diff OLD NEW``: records added, removed, changed and renamed."""

from __future__ import annotations

import argparse
import sys

from annotator._cli.exits import EXIT_OK
from annotator._cli.registry.common import load, registry_line
from annotator.errors import UsageError
from annotator.registry import Record
from annotator.registry.diff import diff
from annotator.registry.loaders import read_registry


def run_diff(args: argparse.Namespace) -> int:
    """Compare two registry files, or ``--registry`` (or the default) with one file."""
    files = args.files
    if len(files) > 2:
        raise UsageError(f"diff: expected OLD NEW, got {len(files)} files")
    # The files named here are only compared, never used for annotating: they
    # are read as they are, under the names the user typed.
    if len(files) == 2:
        if getattr(args, "registry", None):
            raise UsageError("diff: give either OLD NEW or --registry OLD with NEW, not both")
        old, new = read_registry(files[0]), read_registry(files[1])
    else:
        old, new = load(args), read_registry(files[0])
    result = diff(old, new)
    out = sys.stdout
    out.write(f"old {registry_line(old)}\nnew {registry_line(new)}\n")
    out.write(
        f"{len(result.added):,} added, {len(result.removed):,} removed, "
        f"{len(result.changed):,} changed, {len(result.renamed):,} renamed\n"
    )
    for rec in result.added:
        out.write(f"+ {_brief(rec)}\n")
    for rec in result.removed:
        out.write(f"- {_brief(rec)}\n")
    for change in result.renamed:
        rest = [f for f in change.fields if f != "service"]
        also = f" (also {', '.join(rest)})" if rest else ""
        out.write(
            f"> {_where(change.new)}: renamed {change.old.service} -> {change.new.service}{also}\n"
        )
    for change in result.changed:
        parts = "; ".join(
            f"{f}: {_clip(getattr(change.old, f))!r} -> {_clip(getattr(change.new, f))!r}"
            for f in change.fields
        )
        out.write(f"~ {change.new.service or '-'} {_where(change.new)}: {parts}\n")
    return EXIT_OK


def _where(rec: Record) -> str:
    return f"{rec.port or '(no port)'}/{rec.transport or 'any'}"


def _brief(rec: Record) -> str:
    return f"{rec.service or '-'} {_where(rec)} {rec.status}: {_clip(rec.description)}"


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
