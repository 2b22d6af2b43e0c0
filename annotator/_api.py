"""The library's entry points, wired stage to stage (capture -> flows -> triage)."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any, BinaryIO

import pandas as pd

from annotator.flows import read_flows as _read_flows
from annotator.flows.table import FLOW_COLUMNS as READ_FLOW_COLUMNS
from annotator.registry import Registry
from annotator.registry.resolve import resolve_registry
from annotator.result import AnnotateResult, FlowTable

Source = str | PathLike[str] | BinaryIO
Sources = Source | Sequence[Source]

#: Column order of ``AnnotateResult.flows`` (documented in docs/output.md): the
#: flow stage's columns up to ``direction_basis``, then what triage adds, then
#: the pivots (Community ID, frame, Wireshark filter, file).
FLOW_COLUMNS = (
    *READ_FLOW_COLUMNS[: READ_FLOW_COLUMNS.index("direction_basis") + 1],
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


def _registry(registry: Registry | str | PathLike[str] | None) -> Registry:
    if isinstance(registry, Registry):
        return registry
    # Through the resolver, so the result says where it came from
    # (meta.extra["origin"]: explicit, environment, cache or snapshot).
    return resolve_registry(registry)


def read_flows(
    paths: Sources, *, registry: Registry | str | PathLike[str] | None = None, **options: Any
) -> FlowTable:
    """Read one capture (or several, in order, as one capture) into a flow table.

    ``registry`` (a :class:`Registry`, a registry file, or None for the
    default) decides direction when no handshake was seen.  ``options`` pass
    through to :func:`annotator.flows.read_flows` (idle timeouts, payload
    limits, progress callback).
    """
    return _read_flows(paths, registry=_registry(registry), **options)


def annotate(
    paths: Sources, registry: Registry | str | PathLike[str] | None = None, **options: Any
) -> AnnotateResult:
    """Annotate a capture: flows labelled by registered service, checked, flagged.

    ``paths`` is a capture path, ``"-"`` for standard input, a binary file
    object, or a list of them read in order as one capture.  ``registry`` is a
    :class:`Registry`, a registry file in any supported form, or None for the
    default (``$ANNOTATOR_REGISTRY``, the cached update, the bundled snapshot).
    Returns an :class:`AnnotateResult` with ``.flows`` (one row per flow),
    ``.findings``, ``.other``, ``.accounting``, ``.captures``, ``.registry``.
    """
    from annotator.evidence import fingerprint_payloads

    started = pd.Timestamp.now(tz="UTC")
    reg = _registry(registry)
    table = _read_flows(paths, registry=reg, fingerprint=fingerprint_payloads, **options)
    return assemble(table, reg, started)


def assemble(table: FlowTable, reg: Registry, started: pd.Timestamp) -> AnnotateResult:
    """Triage a fingerprinted flow table and put the user's result together.

    Shared by :func:`annotate` and :func:`annotator.dask.annotate_many`, so a
    capture set read anywhere gives the same result object.
    """
    from annotator.triage import triage

    flows, findings = triage(table, reg)
    flows = flows[
        [c for c in FLOW_COLUMNS if c in flows.columns]
        + [c for c in flows.columns if c not in FLOW_COLUMNS]
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
