"""What the command says on standard error: progress while reading, throughput
after it (``--verbose``), and one-line notes made safe for a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from annotator._units import human_bytes

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from annotator.result import AnnotateResult


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


def total_bytes(sources: Sequence[object]) -> int | None:
    """Sum of the stored sizes when every source is a regular file, else None."""
    total = 0
    for source in sources:
        if not isinstance(source, str) or not os.path.isfile(source):
            return None
        total += os.path.getsize(source)
    return total


def throughput(result: AnnotateResult, seconds: float) -> None:
    """The --verbose summary: per file and in total, packets and bytes per second."""
    rows = result.timings
    for t in rows:
        rate = t.packets / t.seconds if t.seconds > 0 else 0.0
        stored = human_bytes(t.size) if t.size is not None else "?"
        say(
            f"annotate: {t.name}: {t.packets:,} packets, {stored} in {t.seconds:.2f} s "
            f"({rate / 1e6:.2f} M packets/s)"
        )
    packets = sum(t.packets for t in rows)
    total_bytes = sum(t.size or 0 for t in rows)
    rate = packets / seconds if seconds > 0 else 0.0
    say(
        f"annotate: total: {len(rows)} files, {packets:,} packets, {human_bytes(total_bytes)}, "
        f"{len(result.flows):,} flows in {seconds:.2f} s wall "
        f"({rate / 1e6:.2f} M packets/s, {total_bytes / max(seconds, 1e-9) / 1e6:.1f} MB/s)"
    )


def say(message: str) -> None:
    """One line on stderr, made inert: file names and error texts may carry
    terminal escape sequences (a capture named to retitle the window)."""
    # Loaded on first use: the registry subcommands start without the report stage.
    from annotator.report.safety import terminal_safe

    print(terminal_safe(message), file=sys.stderr)
