"""Result types returned by :func:`annotator.read_flows` and :func:`annotator.annotate`.

They are plain dataclasses holding pandas DataFrames with declared dtypes, so a
notebook can use ``result.flows`` directly.  Results are never hung on
``DataFrame.attrs`` (pandas deep-copies attrs on every operation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from annotator.registry import Registry


@dataclass
class CaptureInfo:
    """What is known about one input capture file."""

    name: str  # the path as the user gave it ("-" for standard input)
    size: int | None  # bytes on disk (compressed size for compressed files)
    sha256: str | None  # of the file as stored
    format: str  # "pcap", "pcapng"
    compression: str | None  # "gzip", "bzip2", "xz", "zstd" or None
    link_types: list[str] = field(default_factory=list)
    packets: int = 0
    first_seen: pd.Timestamp | None = None
    last_seen: pd.Timestamp | None = None


@dataclass
class Partial:
    """Where and why reading stopped early in a truncated or corrupt capture."""

    capture: str
    offset: int  # byte offset in the (decompressed) stream where reading stopped
    reason: str


@dataclass
class FileTiming:
    """How long reading one capture file took (for ``annotate --verbose``)."""

    name: str
    packets: int
    size: int | None  # stored bytes
    seconds: float


@dataclass
class FlowTable:
    """The capture stage's result: flows, other traffic and the accounting.

    ``flows`` has one row per bidirectional flow.  ``payload_c2s`` and
    ``payload_s2c`` are object arrays aligned with ``flows`` rows holding the
    first payload bytes each way (at least 2,048 client-to-server, 256
    server-to-client); they are kept out of the DataFrame so that exports never
    carry raw payload (which may hold credentials).

    When the read was given a fingerprinter, payload bytes were turned into
    evidence as they completed and dropped: ``evidence`` is then an object
    array aligned with ``flows`` (a result, or None without one) and the
    payload arrays are None.
    """

    flows: pd.DataFrame
    other: pd.DataFrame
    accounting: dict[str, Any]
    captures: list[CaptureInfo]
    payload_c2s: np.ndarray | None
    payload_s2c: np.ndarray | None
    partial: list[Partial] = field(default_factory=list)
    registry: Registry | None = None
    evidence: np.ndarray | None = None
    timings: list[FileTiming] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # directory entries that are not captures


@dataclass
class AnnotateResult:
    """The full annotation: labelled flows, findings, other traffic, accounting."""

    flows: pd.DataFrame
    findings: pd.DataFrame
    other: pd.DataFrame
    accounting: dict[str, Any]
    captures: list[CaptureInfo]
    registry: Registry
    partial: list[Partial] = field(default_factory=list)
    started_at: pd.Timestamp | None = None
    timings: list[FileTiming] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # directory entries that are not captures

    @property
    def exit_status(self) -> int:
        """3 when any capture was only partly readable, else 0."""
        return 3 if self.partial else 0
