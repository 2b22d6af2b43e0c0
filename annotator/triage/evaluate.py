"""Flows x registry x evidence -> verdict, label basis, flags, severity, Wireshark filter.

The stage takes the flow table (after :func:`annotator.triage.join.join_registry`
and the evidence columns) and adds:

``evidence``
    ``consistent`` when the observed protocol is one the registered service is
    known to speak (see :data:`annotator.evidence.CONSISTENT_SERVICES`),
    ``contradicts`` when a protocol was recognised and the port's service is
    not among those it is consistent with, ``none`` when there is no payload,
    nothing was recognised, or there is no registered service to compare with.
``label_basis``
    ``confirmed-by-traffic`` when the verdict is consistent,
    ``registration-only`` when the label rests on the registration alone, and
    null when there is no label.
``flags`` / ``severity``
    Every flag whose rule holds (:mod:`annotator.triage.flags`), and the most
    urgent severity among its hits (:mod:`annotator.triage.hits`).
``wireshark_filter``
    A display filter that isolates the flow in Wireshark.

:func:`evaluate` also returns the hits it found, from which
:func:`annotator.triage.findings.build_findings` groups the findings.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from annotator.evidence import is_consistent
from annotator.triage.flag import Flag
from annotator.triage.flags import FLAGS
from annotator.triage.hits import Hits, SeverityAdjustment, find_hits, flag_lists, flow_severity

VERDICTS = ("consistent", "contradicts", "none")
LABEL_BASES = ("registration-only", "confirmed-by-traffic")


def evidence_verdict(flows: pd.DataFrame) -> pd.Categorical:
    """Compare each flow's observed protocol with the services registered at its port."""
    observed = flows["observed_protocol"].to_numpy(dtype=object, na_value=None)
    services = flows["services"].to_numpy(dtype=object)
    has_service = flows["service"].notna().to_numpy()
    verdict = np.full(len(flows), "none", dtype=object)
    cache: dict[tuple[str, tuple[str, ...]], bool] = {}
    for i in np.flatnonzero(has_service & pd.notna(observed)):
        key = (observed[i], tuple(services[i]))
        if key not in cache:
            cache[key] = is_consistent(key[0], key[1])
        verdict[i] = "consistent" if cache[key] else "contradicts"
    return pd.Categorical(verdict, categories=list(VERDICTS))


def _label_basis(flows: pd.DataFrame) -> pd.Categorical:
    basis = np.where(
        flows["evidence"].to_numpy() == "consistent", "confirmed-by-traffic", "registration-only"
    ).astype(object)
    basis[flows["service"].isna().to_numpy()] = None
    return pd.Categorical(basis, categories=list(LABEL_BASES))


def wireshark_filters(flows: pd.DataFrame) -> pd.Series:
    """A Wireshark display filter isolating each flow (addresses, ports, VLAN or none).

    Joined column by column with Arrow string kernels, so no Python string is
    made per flow: Series concatenation would make a full temporary column per
    ``+``, and f-strings over Python lists would hold every flow's pieces at once.
    """
    if flows.empty:
        return pd.Series([], dtype="string", index=flows.index)
    join = pc.binary_join_element_wise  # the last argument is the separator
    af = pa.array(np.where(flows["ip_version"].to_numpy() == 6, "ipv6.addr==", "ip.addr=="))
    proto = pa.array(flows["transport"].astype(str), pa.string())
    client_port = flows["client_port"].to_numpy(dtype=np.int64)
    server_port = flows["server_port"].to_numpy(dtype=np.int64)
    text = pc.cast(pa.array(server_port), pa.string())
    second_port = pc.if_else(
        pa.array(server_port != client_port), join(" && ", proto, ".port==", text, ""), ""
    )
    # The VLAN is part of the flow key: an untagged flow excludes tagged
    # packets of the same addresses and ports, a tagged one names its tag.
    vlan = pa.array(flows["vlan_id"]).cast(pa.int64())
    tag = pc.if_else(
        pc.is_null(vlan), " && !vlan", join(" && vlan.id==", pc.cast(vlan, pa.string()), "")
    )
    filters = join(
        af, pa.array(flows["client_ip"].astype(str), pa.string()), " && ",
        af, pa.array(flows["server_ip"].astype(str), pa.string()), " && ",
        proto, ".port==", pc.cast(pa.array(client_port), pa.string()), second_port, tag, "",
    )  # fmt: skip
    return pd.Series(pd.array(filters, dtype="string"), index=flows.index)


def evaluate(
    flows: pd.DataFrame,
    *,
    flags: Iterable[Flag] = FLAGS.values(),
    adjust_severity: SeverityAdjustment | None = None,
) -> tuple[pd.DataFrame, Hits]:
    """Add verdict, label basis, flags, severity and Wireshark filter columns.

    Returns the new table and the hits of the ``flags``' rules over it (every
    flag by default), which the findings are built from.  ``adjust_severity``
    may change the hits' severities (see :func:`annotator.triage.hits.find_hits`).
    """
    out = flows.copy(deep=False)  # copy-on-write: new columns leave the caller's frame alone
    out["evidence"] = evidence_verdict(out)
    out["label_basis"] = _label_basis(out)
    hits = find_hits(out, flags, adjust_severity=adjust_severity)
    # Lists, even with no flows.
    out["flags"] = pd.Series(flag_lists(hits), index=out.index, dtype=object)
    out["severity"] = flow_severity(hits)
    out["wireshark_filter"] = wireshark_filters(out)
    return out, hits
