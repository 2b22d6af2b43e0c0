"""The arguments of ``annotate registry ...`` and the dispatch to each subcommand."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from annotator._cli.exits import EXIT_INPUT, EXIT_OK
from annotator.errors import UsageError

_EPILOG = """\
examples:
  annotate registry info                          which registry is in use, and its counts
  annotate registry lookup 443/tcp                every record at a port and transport
  annotate registry lookup 5030                   every record at a port, any transport
  annotate registry lookup https                  every record with that service name
  annotate registry show --format csv > reg.csv   every record in IANA's CSV columns
  annotate registry diff old.xml new.xml          records added, removed, changed, renamed
  annotate registry update                        fetch IANA's current XML into the cache
"""


def add_registry_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``registry`` and its subcommands to an existing ``add_subparsers()`` group."""
    group = subparsers.add_parser(
        "registry",
        help="inspect, look up, export, compare and update the port registry",
        description="Inspect, look up, export, compare and update the IANA Service Name "
        "and Transport Protocol Port Number Registry that annotator joins against.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _registry_option(group, default=None)
    commands = group.add_subparsers(dest="registry_command", metavar="COMMAND")
    commands.required = True

    info = commands.add_parser("info", help="source, date, record counts, skipped rows")
    _registry_option(info)

    lookup = commands.add_parser(
        "lookup", help="records for a port, port/transport, or service name"
    )
    lookup.add_argument("query", metavar="QUERY", help="443/tcp, 443, https or https/tcp")
    _registry_option(lookup)

    show = commands.add_parser("show", help="every record in IANA's CSV columns, or as JSON")
    show.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    show.add_argument(
        "--provenance",
        action="store_true",
        help="add a trailing Provenance column (where each snapshot record came from)",
    )
    _registry_option(show)

    diff = commands.add_parser(
        "diff", help="records added, removed, changed and renamed between two registries"
    )
    diff.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="OLD NEW; with only NEW, OLD is --registry or the default registry",
    )
    _registry_option(diff)

    update = commands.add_parser(
        "update", help="download IANA's current registry into the cache and use it"
    )
    update.add_argument(
        "--source",
        metavar="URL|FILE",
        default=None,
        help="where to fetch from (default: IANA's official XML); a CSV works too",
    )
    update.add_argument("--no-progress", action="store_true", help="no progress bar")
    _registry_option(update, help_text="same as --source FILE: install this registry file")


def _registry_option(
    parser: argparse.ArgumentParser, *, default: Any = argparse.SUPPRESS, help_text: str = ""
) -> None:
    parser.add_argument(
        "--registry",
        metavar="FILE",
        default=default,
        help=help_text
        or "registry file (IANA XML or CSV, or text pasted from IANA's page); default: "
        "$ANNOTATOR_REGISTRY, then the cached update, then the bundled snapshot",
    )


def build_registry_parser() -> argparse.ArgumentParser:
    """A stand-alone parser for ``annotate registry ...``."""
    parser = argparse.ArgumentParser(prog="annotate")
    add_registry_commands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def run_registry_main(argv: Sequence[str]) -> int:
    """Parse ``annotate registry`` arguments (without the word ``registry``) and run them."""
    parser = build_registry_parser()
    try:
        args = parser.parse_args(["registry", *argv])
    except SystemExit as stop:  # argparse printed usage, or --help
        return EXIT_INPUT if stop.code else EXIT_OK
    return run_registry_command(args)


def run_registry_command(args: argparse.Namespace) -> int:
    """Run the parsed ``registry`` subcommand; return the exit code.

    Library errors (:class:`~annotator.errors.AnnotatorError`) propagate so the
    caller prints them as one line and exits 2.
    """
    # Only the module of the subcommand run is imported: ``update`` alone
    # brings in urllib and http.client, ``info`` and ``lookup`` alone rich.
    command = args.registry_command
    if command == "info":
        from annotator._cli.registry.info import run_info

        return run_info(args)
    if command == "lookup":
        from annotator._cli.registry.lookup import run_lookup

        return run_lookup(args)
    if command == "show":
        from annotator._cli.registry.show import run_show

        return run_show(args)
    if command == "diff":
        from annotator._cli.registry.diff import run_diff

        return run_diff(args)
    if command == "update":
        from annotator._cli.registry.update import run_update

        return run_update(args)
    raise UsageError(f"registry: unknown command {command!r}")
