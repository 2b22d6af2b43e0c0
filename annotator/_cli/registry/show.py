"""``annotate registry show``: every record in IANA's CSV columns, or as JSON."""

from __future__ import annotations

import argparse
import sys

from annotator._cli.exits import EXIT_OK
from annotator._cli.registry.common import load
from annotator.registry.export import to_csv, to_json


def run_show(args: argparse.Namespace) -> int:
    """Write the registry to standard output in the chosen format."""
    registry = load(args)
    if args.format == "json":
        to_json(registry, sys.stdout)
    else:
        to_csv(registry, sys.stdout, provenance=args.provenance)
    sys.stdout.flush()
    return EXIT_OK
