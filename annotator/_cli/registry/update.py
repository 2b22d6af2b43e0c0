"""``annotate registry update``: fetch IANA's current registry into the cache and use it."""

from __future__ import annotations

import argparse
import sys

from annotator._cli.exits import EXIT_OK
from annotator.errors import AnnotatorError, UsageError
from annotator.registry.resolve import cached_registry, registry_date
from annotator.registry.update import update_registry


def run_update(args: argparse.Namespace) -> int:
    """Install the registry from ``--source`` (or ``--registry``, or IANA) and say so."""
    source = args.source
    chosen = getattr(args, "registry", None)
    if chosen and source and chosen != source:
        raise UsageError("update: give --source or --registry, not both")
    progress = not args.no_progress and sys.stderr.isatty()
    path = update_registry(source or chosen, progress=progress)
    registry = cached_registry()
    if registry is None:  # installed moments ago; only a concurrent removal gets here
        raise AnnotatorError(f"installed {path}, but it has since disappeared")
    date = registry_date(registry.meta)
    print(f"installed {path}: {len(registry):,} records, updated {date}")
    print("annotate now uses it by default (unless --registry or $ANNOTATOR_REGISTRY is set)")
    return EXIT_OK
