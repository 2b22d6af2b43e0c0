"""The library's entry points, wired stage to stage (capture -> flows -> triage).

Their keywords are turned once into the flow stage's
:class:`~annotator.flows.options.ReadOptions`, which checks them; the
registry is resolved here, so a result says where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import BinaryIO

import pandas as pd

from annotator.flows import ReadOptions, read_flow_table
from annotator.flows.early import Fingerprinter
from annotator.flows.options import (
    DEFAULT_PAYLOAD_C2S,
    DEFAULT_PAYLOAD_S2C,
    IdleTimeout,
    Progress,
)
from annotator.flows.table import FLOW_TABLE_COLUMNS
from annotator.registry import Registry
from annotator.registry.resolve import resolve_registry
from annotator.result import AnnotateResult, FlowTable

Source = str | PathLike[str] | BinaryIO
Sources = Source | Sequence[Source]

#: Column order of ``AnnotateResult.flows`` (documented in docs/output.md): the
#: flow table's columns up to ``direction_basis``, then what triage adds, then
#: the pivots (Community ID, frame, Wireshark filter, file).
ANNOTATED_FLOW_COLUMNS = (
    *FLOW_TABLE_COLUMNS[: FLOW_TABLE_COLUMNS.index("direction_basis") + 1],
    "port_class",
    "service",
    "services",
    "description",
    "registry_status",
    "registry_notes",
    "unauthorized_use",
    "observed_protocol",
    "server_name",
    "evidence_detail",
    "evidence",
    "label_basis",
    "flags",
    "severity",
    "cleartext_credentials",
    "community_id",
    "first_frame",
    "wireshark_filter",
    "capture",
)


def as_registry(registry: Registry | str | PathLike[str] | None) -> Registry:
    """A :class:`Registry` as given, or loaded from a file, or the default.

    Loaded through the resolver, so the result says where it came from
    (``meta.extra["origin"]``: explicit, environment, cache or snapshot).
    """
    if isinstance(registry, Registry):
        return registry
    return resolve_registry(registry)


def read_flows(
    paths: Sources,
    *,
    registry: Registry | str | PathLike[str] | None = None,
    idle_timeout: IdleTimeout = None,
    payload_c2s: int = DEFAULT_PAYLOAD_C2S,
    payload_s2c: int = DEFAULT_PAYLOAD_S2C,
    progress: Progress | None = None,
    bomb_guard: bool = True,
    fingerprint: Fingerprinter | None = None,
    jobs: int = 1,
    sha256: bool = False,
) -> FlowTable:
    """Read one capture (or several, in order, as one capture) into a flow table.

    ``registry`` (a :class:`Registry`, a registry file, or None for the
    default) decides direction when no handshake was seen.  ``idle_timeout``
    is seconds of silence after which a key starts a new flow (one number, a
    mapping by transport, or None for the defaults); ``payload_c2s`` and
    ``payload_s2c`` bound the first payload bytes kept per flow (at least
    2,048 and 256); ``progress`` is called with the packets and stored bytes
    read so far; ``bomb_guard=False`` lifts the decompression limits; ``jobs``
    reads that many files of a set at once, with the same result.
    ``sha256=True`` also computes each file's SHA-256 (``captures[i].sha256``;
    None without it): the flow table alone does not need it, reports do.
    ``fingerprint`` turns first payload bytes into evidence as they complete
    (see :class:`~annotator.flows.options.ReadOptions`).
    """
    reg = as_registry(registry)
    options = ReadOptions(
        idle_timeout=idle_timeout,
        payload_c2s=payload_c2s,
        payload_s2c=payload_s2c,
        bomb_guard=bomb_guard,
        sha256=sha256,
        fingerprint=fingerprint,
        jobs=jobs,
    )
    return read_flow_table(paths, options, registry=reg, progress=progress)


def annotate(
    paths: Sources,
    registry: Registry | str | PathLike[str] | None = None,
    *,
    idle_timeout: IdleTimeout = None,
    payload_c2s: int = DEFAULT_PAYLOAD_C2S,
    payload_s2c: int = DEFAULT_PAYLOAD_S2C,
    progress: Progress | None = None,
    bomb_guard: bool = True,
    jobs: int = 1,
    sha256: bool = True,
) -> AnnotateResult:
    """Annotate a capture: flows labelled by registered service, checked, flagged.

    ``paths`` is a capture path, ``"-"`` for standard input, a binary file
    object, or a list of them read in order as one capture.  ``registry`` is a
    :class:`Registry`, a registry file in any supported form, or None for the
    default (``$ANNOTATOR_REGISTRY``, the cached update, the bundled snapshot).
    The reading options are those of :func:`read_flows`, but each file's
    SHA-256 is computed unless ``sha256=False``: reports carry it for the
    chain of custody.
    Returns an :class:`AnnotateResult` with ``.flows`` (one row per flow),
    ``.findings``, ``.other``, ``.accounting``, ``.captures``, ``.registry``.
    """
    from annotator.evidence import fingerprint_payloads

    started = pd.Timestamp.now(tz="UTC")
    reg = as_registry(registry)
    table = read_flows(
        paths,
        registry=reg,
        idle_timeout=idle_timeout,
        payload_c2s=payload_c2s,
        payload_s2c=payload_s2c,
        progress=progress,
        bomb_guard=bomb_guard,
        fingerprint=fingerprint_payloads,  # evidence as each flow's first bytes complete
        jobs=jobs,
        sha256=sha256,
    )
    return assemble(table, reg, started)


def assemble(table: FlowTable, reg: Registry, started: pd.Timestamp) -> AnnotateResult:
    """Triage a fingerprinted flow table and put the user's result together.

    Shared by :func:`annotate` and :func:`annotator.dask.annotate_many`, so a
    capture set read anywhere gives the same result object.
    """
    from annotator.triage import triage

    flows, findings = triage(table, reg)
    flows = flows[
        [c for c in ANNOTATED_FLOW_COLUMNS if c in flows.columns]
        + [c for c in flows.columns if c not in ANNOTATED_FLOW_COLUMNS]
    ]
    return AnnotateResult(
        flows=flows.reset_index(drop=True),
        findings=findings,
        other=table.other,
        accounting=table.accounting,
        captures=table.captures,
        registry=reg,
        partial=list(table.partial),
        started_at=started,
        timings=table.timings,
        skipped=table.skipped,
    )
