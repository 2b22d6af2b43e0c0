"""What several ``annotate registry`` subcommands share: loading and naming the registry."""

from __future__ import annotations

import argparse

from annotator.registry import Registry, load_registry
from annotator.registry.resolve import registry_date


def load(args: argparse.Namespace) -> Registry:
    """The registry named by ``--registry``, else the default by precedence."""
    return load_registry(getattr(args, "registry", None))


def registry_line(registry: Registry) -> str:
    """``registry: SOURCE (FORMAT, updated DATE)``: which registry an answer comes from."""
    meta = registry.meta
    return f"registry: {meta.source} ({meta.format or '?'}, updated {registry_date(meta)})"
