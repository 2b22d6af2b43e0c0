"""The ``annotate`` command: a thin layer over the library (the library never imports it).

Exit codes (the same for every subcommand)::

    0   success
    1   a finding at or above --fail-on
    2   usage error, or an input (capture, registry) that cannot be read at all
    3   partial capture: results for what was readable, the rest accounted
    70  internal error (a bug: please report it; ANNOTATOR_DEBUG=1 shows the traceback)

When several apply, 2 wins over 1, and 1 over 3.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

from annotator.errors import AnnotatorError, UsageError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_PARTIAL = 3
EXIT_INTERNAL = 70

FORMATS = ("terminal", "text", "html", "markdown", "json", "jsonl", "csv", "parquet")
FAIL_ON = ("high", "medium", "low", "info", "never")

EPILOG = """\
examples:
  annotate capture.pcap                      triage summary in the terminal
  annotate capture.pcapng.gz -o report.html  self-contained HTML report
  annotate a.pcap b.pcap -o flows.csv -o flows.parquet
  annotate /data/ring/ --jobs 2              a rotated set (a directory) as one capture
  annotate 'rot/*.pcap.gz' --verbose         a quoted glob; throughput per file at the end
  annotate rot/ --dask tcp://sched:8786      read the files on a Dask cluster
  annotate capture.pcap --format jsonl       one JSON object per flow on stdout (for SIEMs)
  tcpdump -w - | annotate -                  read standard input
  annotate capture.pcap --fail-on high       exit 1 when a high-severity finding is present
  annotate registry lookup 443/tcp           what the registry says about a port
  annotate registry update                   fetch IANA's current registry into the cache

exit codes: 0 ok, 1 finding at/above --fail-on, 2 usage or unreadable input,
3 partial capture (results for what was readable); 2 wins over 1, 1 over 3.
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``annotate CAPTURE...`` (``annotate registry ...`` has its own)."""
    from annotator import __version__

    parser = argparse.ArgumentParser(
        prog="annotate",
        description=(
            "Label the flows of a packet capture by IANA-registered service, check each "
            "label against what the traffic actually speaks, and flag what needs a look. "
            "See also: annotate registry --help."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "captures",
        nargs="+",
        metavar="CAPTURE",
        help="pcap or pcapng file, optionally gzip/bzip2/xz/zstd-compressed; "
        "'-' reads standard input; a directory or a quoted glob pattern stands for "
        "the capture files it holds; several files are one capture set, "
        "ordered by their first packet's time",
    )
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="FILE",
        help="write a report; the format follows the extension (.html, .md, "
        ".json, .jsonl, .csv, .parquet); '-' is standard output; repeatable",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="report format for standard output (also for -o -) and for an -o "
        "without a known extension; text is the summary without colour "
        "(default: terminal summary)",
    )
    parser.add_argument(
        "--registry",
        metavar="FILE",
        help="registry file (IANA XML or CSV, or text pasted from IANA's page); "
        "default: $ANNOTATOR_REGISTRY, the cached update, the bundled snapshot",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="never",
        metavar="SEVERITY",
        help="exit 1 when a finding reaches SEVERITY (high, medium, low, info; default: never)",
    )
    parser.add_argument(
        "--defang",
        action="store_true",
        help="defang indicators in human-facing reports (hxxp://, example[.]com)",
    )
    parser.add_argument(
        "--max-flows",
        type=_positive_int,
        default=5000,
        metavar="N",
        help="cap on the flow table in HTML and Markdown reports (default 5000)",
    )
    parser.add_argument(
        "--no-bomb-guard",
        action="store_true",
        help="lift the size and ratio limits on compressed input",
    )
    parser.add_argument(
        "--no-hash",
        action="store_true",
        help="skip the SHA-256 of each capture file (about a quarter of a read's CPU); "
        "reports then show none",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="read up to N files at once in separate processes (default 1); "
        "the result is the same for any N",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="read the files on a Dask cluster (e.g. tcp://scheduler:8786); "
        "needs the 'dask' extra; see docs/scale.md",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="after the report, print per-file and total throughput on stderr",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--version", action="version", version=f"annotate {__version__}")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


@contextmanager
def packet_progress(
    *, enabled: bool, total_bytes: int | None = None, files: int = 1,
    console: Console | None = None,
) -> Iterator[Callable[[int, int], None] | None]:  # fmt: skip
    """A live progress display on stderr while captures are read (terminals only).

    Yields the callback the flow stage calls as reading goes on with the
    packets and stored bytes read so far (over all files), or None when
    disabled.  With ``total_bytes`` known (regular files), a bar shows the
    share of bytes read and an estimate of the time left; otherwise a packet
    counter.  The display is transient: it disappears when reading ends,
    leaving the summary alone on screen.
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    what = f"reading {files} files" if files > 1 else "reading capture"
    columns = [SpinnerColumn(), TextColumn(what + ": {task.fields[packets]:,} packets")]
    if total_bytes:
        columns += [BarColumn(), DownloadColumn(), TimeRemainingColumn()]
    columns.append(TimeElapsedColumn())
    bar = Progress(*columns, console=console or Console(stderr=True), transient=True)
    task = bar.add_task("read", total=total_bytes or None, packets=0)
    with bar:
        yield lambda packets, nbytes: bar.update(task, completed=nbytes, packets=packets)


def _total_bytes(sources: Sequence[object]) -> int | None:
    """Sum of the stored sizes when every source is a regular file, else None."""
    total = 0
    for source in sources:
        if not isinstance(source, str) or not os.path.isfile(source):
            return None
        total += os.path.getsize(source)
    return total


def _throughput(result, seconds: float) -> None:
    """The --verbose summary: per file and in total, packets and bytes per second."""
    from annotator.report._view import human_bytes

    rows = result.timings
    for t in rows:
        rate = t.packets / t.seconds if t.seconds > 0 else 0.0
        size = human_bytes(t.size) if t.size is not None else "?"
        _say(
            f"annotate: {t.name}: {t.packets:,} packets, {size} in {t.seconds:.2f} s "
            f"({rate / 1e6:.2f} M packets/s)"
        )
    packets = sum(t.packets for t in rows)
    size = sum(t.size or 0 for t in rows)
    rate = packets / seconds if seconds > 0 else 0.0
    _say(
        f"annotate: total: {len(rows)} files, {packets:,} packets, {human_bytes(size)}, "
        f"{len(result.flows):,} flows in {seconds:.2f} s wall "
        f"({rate / 1e6:.2f} M packets/s, {size / max(seconds, 1e-9) / 1e6:.1f} MB/s)"
    )


def _say(message: str) -> None:
    """One line on stderr, made inert: file names and error texts may carry
    terminal escape sequences (a capture named to retitle the window)."""
    from annotator.report.safety import terminal_safe

    print(terminal_safe(message), file=sys.stderr)


def _fail_on_reached(result, threshold: str) -> bool:
    from annotator.triage.severity import at_or_above, most_urgent

    if threshold == "never":
        return False
    worst = most_urgent(str(s) for s in result.findings["severity"])
    return worst is not None and at_or_above(worst, threshold)


def _system_allocator() -> None:
    """Let pyarrow (under pandas' string columns) use the C library's allocator.

    pyarrow's default pool keeps freed memory for reuse; on a capture with
    50,000 flows that held ~70 MB more at the peak.  Only the command does
    this: a library must not change a process-wide setting behind its
    caller's back (docs/scale.md shows how to do the same in Python).  An
    explicit ARROW_DEFAULT_MEMORY_POOL is respected.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def run_annotate(args: argparse.Namespace) -> int:
    """Annotate the captures and write what was asked; return the exit code."""
    _system_allocator()
    import annotator
    from annotator.capture.inputs import expand_inputs
    from annotator.report import render_terminal, write_report

    started = time.perf_counter()
    options: dict[str, object] = {}
    if args.no_bomb_guard:
        options["bomb_guard"] = False
    if args.no_hash:
        options["sha256"] = False
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
        _say(f"annotate: {skipped}: {expanded.why.get(skipped, 'skipped, not a capture file')}")
    inputs = [c for c in expanded.sources if c != "-"]
    if "-" in expanded.sources and sys.stdin.isatty():
        # Waiting for a capture typed at the keyboard helps no one.
        raise UsageError(
            "standard input ('-') is a terminal; pipe a capture in (tcpdump -w - | annotate -)"
        )
    captures = [sys.stdin.buffer if c == "-" else c for c in expanded.sources]
    show = not args.no_progress and sys.stderr.isatty()
    with packet_progress(
        enabled=show, total_bytes=_total_bytes(captures), files=len(captures)
    ) as progress:
        if args.dask:
            if "-" in expanded.sources:
                raise UsageError(
                    "--dask reads files on the workers; standard input cannot go there"
                )
            from annotator.dask import annotate_many

            result = annotate_many(
                captures, args.dask, registry=args.registry, progress=progress, **options
            )
        else:
            result = annotator.annotate(
                captures if len(captures) > 1 else captures[0],
                registry=args.registry,
                progress=progress,
                jobs=args.jobs,
                **options,
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
        _say(
            f"annotate: {part['capture']}: partial capture: {part['reason']} "
            f"at {part['where']}; results cover what was readable"
        )
    if args.verbose:
        _throughput(result, time.perf_counter() - started)
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
            from annotator._cli_registry import run_registry_main

            return run_registry_main(argv[1:])
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # argparse already printed usage or --help/--version
            return int(stop.code or 0) and EXIT_INPUT
        return run_annotate(args)
    except AnnotatorError as err:
        _say(f"annotate: error: {err}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        _say("annotate: interrupted")
        return 130
    except BrokenPipeError:
        # The reader of our standard output went away (e.g. `| head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as err:  # a bug: one line, unless asked for the traceback
        if os.environ.get("ANNOTATOR_DEBUG"):
            raise
        where = f"{type(err).__name__}: {err}".splitlines()[0][:300]
        _say(
            f"annotate: internal error: {where} (set ANNOTATOR_DEBUG=1 for the traceback; "
            "please report it)"
        )
        return EXIT_INTERNAL


#: Allocations of container objects between the collector's youngest-generation
#: passes in the command's process (CPython's default is 700), and how many of
#: those passes before each older one.  See :func:`_collect_less`.
GC_THRESHOLDS = (50_000, 20, 10)


def _collect_less() -> None:
    """Run Python's cycle collector less often in the command's own process.

    A large capture makes a few Python objects per flow (fingerprint results,
    flag lists, report records) that live to the end, and with the default
    thresholds the collector walks all of them again and again: on a capture
    of 200,000 flows, a dozen full passes took about 0.9 s of a 12 s run.
    With these thresholds it took 0.1 s, and the command makes few reference
    cycles, so little garbage waits longer.  Only the console script does
    this; the library leaves the interpreter's settings alone.
    """
    gc.set_threshold(*GC_THRESHOLDS)


def run() -> None:
    """The console script: :func:`main`, then a fast exit.

    Tearing down pandas and pyarrow at interpreter exit costs 0.1-0.2 s of a
    small capture's second; everything this command writes is flushed and
    closed by now (reports are written atomically, worker pools shut down),
    so the process ends without that teardown.
    """
    _collect_less()
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    _collect_less()
    sys.exit(main())
