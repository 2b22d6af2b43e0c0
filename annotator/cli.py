"""The ``annotate`` command: a thin layer over the library (the library never imports it).

:func:`main` runs ``annotate CAPTURE...`` or hands ``annotate registry ...`` to
its subcommands; every error becomes one line on standard error and an exit
code (:mod:`annotator._cli.exits`: 0 ok, 1 a finding at or above --fail-on,
2 usage error or unreadable input, 3 partial capture, 70 internal error; when
several apply, 2 wins over 1, and 1 over 3).  The arguments are built in
:mod:`annotator._cli.parser`, what the command says on standard error in
:mod:`annotator._cli.console`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from annotator._cli.console import packet_progress, say, throughput, total_bytes
from annotator._cli.exits import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
)
from annotator._cli.process import collect_less, use_system_allocator
from annotator.errors import AnnotatorError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from annotator.result import AnnotateResult

__all__ = ["EXIT_INPUT", "EXIT_OK", "EXIT_PARTIAL", "main", "run"]


def _fail_on_reached(result: AnnotateResult, threshold: str) -> bool:
    """Whether a finding reaches ``--fail-on`` (never, with "never")."""
    from annotator.triage.severity import at_or_above, most_urgent

    if threshold == "never":
        return False
    worst = most_urgent(str(s) for s in result.findings["severity"])
    return worst is not None and at_or_above(worst, threshold)


def run_annotate(args: argparse.Namespace) -> int:
    """Annotate the captures and write what was asked; return the exit code."""
    use_system_allocator()
    import annotator
    from annotator.capture.inputs import expand_inputs
    from annotator.report import render_terminal, write_report

    started = time.perf_counter()
    bomb_guard, sha256 = not args.no_bomb_guard, not args.no_hash
    if args.captures.count("-") > 1:
        raise UsageError("standard input ('-') can be read only once")
    # Each -o's format is settled before the read, so a conflict costs no time.
    formats = [_report_format(args.format, d) for d in args.output or []]
    on_stdout = (
        [f for d, f in zip(args.output, formats, strict=True) if d == "-"]
        if args.output
        else [args.format]
    )
    if "parquet" in on_stdout and sys.stdout.isatty():
        raise UsageError("Parquet is binary: write it to a file (-o flows.parquet), not a terminal")
    expanded = expand_inputs(list(args.captures))
    for skipped in expanded.skipped:
        say(f"annotate: {skipped}: {expanded.why.get(skipped, 'skipped, not a capture file')}")
    inputs = [c for c in expanded.sources if c != "-"]
    if "-" in expanded.sources and sys.stdin.isatty():
        # Waiting for a capture typed at the keyboard helps no one.
        raise UsageError(
            "standard input ('-') is a terminal; pipe a capture in (tcpdump -w - | annotate -)"
        )
    captures = [sys.stdin.buffer if c == "-" else c for c in expanded.sources]
    show = not args.no_progress and sys.stderr.isatty()
    with packet_progress(
        enabled=show, total_bytes=total_bytes(captures), files=len(captures)
    ) as progress:
        if args.dask:
            if "-" in expanded.sources:
                raise UsageError(
                    "--dask reads files on the workers; standard input cannot go there"
                )
            from annotator.dask import annotate_many

            result = annotate_many(
                expanded.sources,  # no standard input here: these are paths and URLs
                args.dask,
                registry=args.registry,
                progress=progress,
                bomb_guard=bomb_guard,
                sha256=sha256,
            )
        else:
            result = annotator.annotate(
                captures if len(captures) > 1 else captures[0],
                registry=args.registry,
                progress=progress,
                bomb_guard=bomb_guard,
                sha256=sha256,
                jobs=args.jobs,
            )

    if args.output:
        for destination, fmt in zip(args.output, formats, strict=True):
            write_report(
                result,
                destination,
                fmt=fmt,
                defang=args.defang,
                max_flows=args.max_flows,
                inputs=inputs,
            )
    elif args.format in (None, "terminal"):
        render_terminal(result, defang=args.defang)
    else:
        write_report(
            result,
            "-",
            fmt=args.format,
            defang=args.defang,
            max_flows=args.max_flows,
            inputs=inputs,
        )

    from annotator.report._view import partial_rows

    for part in partial_rows(result):
        say(
            f"annotate: {part['capture']}: partial capture: {part['reason']} "
            f"at {part['where']}; results cover what was readable"
        )
    if args.verbose:
        throughput(result, time.perf_counter() - started)
    if _fail_on_reached(result, args.fail_on):
        return EXIT_FINDINGS
    return EXIT_PARTIAL if result.partial else EXIT_OK


def _report_format(fmt: str | None, destination: str) -> str | None:
    """The format of one ``-o``: ``--format`` for standard output and for a
    name without a known extension; where both speak they must agree."""
    from annotator.report import choose_format

    if destination == "-" or fmt is None:
        return fmt
    try:
        by_name = choose_format(destination)
    except AnnotatorError:
        return fmt  # no known extension: --format decides
    if choose_format(destination, fmt) != by_name:
        raise UsageError(
            f"{destination}: the extension says {by_name} but --format says {fmt}; drop one of them"
        )
    return by_name


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``annotate`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["registry"]:
            from annotator._cli.registry import run_registry_main

            return run_registry_main(argv[1:])
        from annotator._cli.parser import build_parser  # the report and triage stages' names

        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # argparse already printed usage or --help/--version
            return int(stop.code or 0) and EXIT_INPUT
        return run_annotate(args)
    except AnnotatorError as err:
        say(f"annotate: error: {err}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        say("annotate: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our standard output went away (e.g. `| head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as err:  # a bug: one line, unless asked for the traceback
        if os.environ.get("ANNOTATOR_DEBUG"):
            raise
        where = f"{type(err).__name__}: {err}".splitlines()[0][:300]
        say(
            f"annotate: internal error: {where} (set ANNOTATOR_DEBUG=1 for the traceback; "
            "please report it)"
        )
        return EXIT_INTERNAL


def run() -> None:
    """The console script: :func:`main`, then a fast exit.

    Tearing down pandas and pyarrow at interpreter exit is a noticeable part
    of a small capture's run; everything this command writes is flushed and
    closed by now (reports are written atomically, worker pools shut down),
    so the process ends without that teardown.
    """
    collect_less()
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    collect_less()
    sys.exit(main())
