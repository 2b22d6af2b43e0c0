"""Triage stage: flows x registry x evidence into labels, flags and severity.

:func:`triage` is the whole stage: the evidence columns from the
fingerprints (whose roles may swap a flow's client and server, as may
servers the capture proved: :mod:`annotator.flows.direction`), the registry join
(:mod:`.join`), the verdict and flags (:mod:`.evaluate`; each flag defined
once, with its rule and sentence, in :mod:`.flags`; their rules run once,
in :mod:`.hits`), and the findings table (:mod:`.findings`).  Severity's
order and comparisons live in :mod:`.severity`.
"""

from __future__ import annotations

import pandas as pd

from annotator.evidence import evidence_frame, fingerprint_flows
from annotator.flows.direction import follow_known_servers, follow_payload
from annotator.registry import Registry
from annotator.result import FlowTable
from annotator.triage.evaluate import evaluate as _evaluate
from annotator.triage.findings import build_findings
from annotator.triage.flag import Flag
from annotator.triage.flags import CAVEAT, FLAGS
from annotator.triage.hits import Hits, SeverityAdjustment
from annotator.triage.join import join_registry
from annotator.triage.severity import SEVERITIES

__all__ = [
    "CAVEAT",
    "FLAGS",
    "SEVERITIES",
    "Flag",
    "Hits",
    "SeverityAdjustment",
    "triage",
]


def triage(
    table: FlowTable,
    registry: Registry,
    *,
    adjust_severity: SeverityAdjustment | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Label, fingerprint and flag every flow of ``table``; return (flows, findings).

    ``adjust_severity``, when given, decides each hit's severity from the flow
    table and the hits (see :func:`annotator.triage.hits.find_hits`); a flow
    and a finding are as urgent as their most urgent hit.
    """
    flows, hits = _evaluate(prepare_flows(table, registry), adjust_severity=adjust_severity)
    findings = build_findings(flows, hits)
    return flows.drop(columns=["other_transports", "registry_historic"]), findings


def prepare_flows(table: FlowTable, registry: Registry) -> pd.DataFrame:
    """The flow table as the flags' rules read it, before :func:`.evaluate.evaluate`.

    The evidence columns from the fingerprints, client and server settled by
    the payload and by the servers the capture proved, and the registry
    joined on the server's port.
    """
    if table.evidence is not None:  # fingerprinted while reading
        evidence = evidence_frame(table.evidence, table.flows.index)
    elif table.payload_c2s is not None and table.payload_s2c is not None:
        evidence = fingerprint_flows(table.flows, table.payload_c2s, table.payload_s2c)
    else:
        raise ValueError("the flow table has neither evidence nor payload bytes to fingerprint")
    # The payload may show client and server the other way round from what
    # the ports said; the registry is then joined on the real server's port.
    flows = follow_payload(table.flows, evidence["roles_reversed"].to_numpy())
    flows = follow_known_servers(flows)
    flows = join_registry(flows, registry)
    for column in ("observed_protocol", "server_name", "evidence_detail"):
        flows[column] = evidence[column].astype("string")
    flows["cleartext_credentials"] = evidence["cleartext_credentials"].astype(bool)
    return flows
