"""Triage stage: flows x registry x evidence into labels, flags and severity.

:func:`triage` is the whole stage: the evidence columns from the
fingerprints (whose roles may swap a flow's client and server, as may
servers the capture proved: :mod:`annotator.flows.direction`), the registry join
(:mod:`.join`), the verdict and flags
(:mod:`.evaluate`, one rule per flag in :mod:`.rules`, flags declared as data
in :mod:`.flags`), and the findings table.
"""

from __future__ import annotations

import pandas as pd

from annotator.evidence import evidence_frame, fingerprint_flows
from annotator.flows.direction import follow_known_servers, follow_payload
from annotator.registry import Registry
from annotator.result import FlowTable
from annotator.triage.evaluate import build_findings, evaluate
from annotator.triage.flags import CAVEAT, FLAGS, SEVERITIES, Flag
from annotator.triage.join import join_registry

__all__ = ["CAVEAT", "FLAGS", "SEVERITIES", "Flag", "triage"]


def triage(table: FlowTable, registry: Registry) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Label, fingerprint and flag every flow of ``table``; return (flows, findings)."""
    if table.evidence is not None:  # fingerprinted while reading
        evidence = evidence_frame(table.evidence, table.flows.index)
    else:
        evidence = fingerprint_flows(table.flows, table.payload_c2s, table.payload_s2c)
    # The payload may show client and server the other way round from what
    # the ports said; the registry is then joined on the real server's port.
    flows = follow_payload(table.flows, evidence["roles_reversed"].to_numpy())
    flows = follow_known_servers(flows)
    flows = join_registry(flows, registry)
    for column in ("observed_protocol", "server_name", "evidence_detail"):
        flows[column] = evidence[column].astype("string")
    flows["cleartext_credentials"] = evidence["cleartext_credentials"].astype(bool)
    flows = evaluate(flows)
    findings = build_findings(flows)
    return flows.drop(columns=["other_transports", "registry_historic"]), findings
