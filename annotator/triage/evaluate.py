"""Flows x registry x evidence -> verdict, label basis, flags, severity, findings.

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
    Every flag whose rule holds (:mod:`annotator.triage.rules`), and the most
    urgent severity among them.
``wireshark_filter``
    A display filter that isolates the flow in Wireshark.

Findings group flagged flows by (flag, transport, server, port, observed
protocol), so one noisy server is one finding, not ten thousand.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from annotator._arrays import distinct_pairs, distinct_rows
from annotator.evidence import PROTOCOLS, is_consistent
from annotator.triage.flags import FLAGS, SEVERITIES, SEVERITY_RANK
from annotator.triage.rules import RULES

VERDICTS = ("consistent", "contradicts", "none")
#: Categories of the ``severity`` columns, least to most urgent, so that
#: ``flows.severity >= "medium"`` reads naturally and ``max()`` is the worst.
SEVERITY_ORDER = list(reversed(SEVERITIES))
LABEL_BASES = ("registration-only", "confirmed-by-traffic")
FINDING_COLUMNS = (
    "severity",
    "flag",
    "title",
    "detail",
    "attack",
    "transport",
    "server_ip",
    "server_port",
    "service",
    "observed_protocol",
    "server_name",
    "flows",
    "clients",
    "bytes",
    "first_seen",
    "last_seen",
    "flow_index",
)


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


def _flags_and_severity(flows: pd.DataFrame) -> tuple[list[list[str]], pd.Categorical]:
    """Evaluate every rule once over the whole table and encode rows as bit sets."""
    ids = list(RULES)
    codes = np.zeros(len(flows), dtype=np.int64)
    for bit, flag_id in enumerate(ids):
        codes |= RULES[flag_id](flows).astype(np.int64) << bit
    distinct, inverse = np.unique(codes, return_inverse=True)
    names = [[ids[b] for b in range(len(ids)) if code >> b & 1] for code in distinct.tolist()]
    worst = [
        SEVERITY_ORDER.index(
            min((FLAGS[f].severity for f in flagged), key=SEVERITY_RANK.__getitem__)
        )
        if flagged
        else -1
        for flagged in names
    ]
    inverse = inverse.reshape(-1)
    flags = [list(names[i]) for i in inverse.tolist()]  # a list of its own per row
    severity = pd.Categorical.from_codes(
        np.asarray(worst, dtype=np.int64)[inverse], categories=SEVERITY_ORDER, ordered=True
    )
    return flags, severity


def wireshark_filters(flows: pd.DataFrame) -> pd.Series:
    """A Wireshark display filter isolating each flow (addresses, ports, VLAN or none).

    Joined column by column with Arrow string kernels, so no Python string is
    made per flow: Series concatenation made a full temporary column per
    ``+`` (38 MB more at 50,000 flows), and f-strings over Python lists held
    every flow's pieces at once (23 MB).
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


def evaluate(flows: pd.DataFrame) -> pd.DataFrame:
    """Add verdict, label basis, flags, severity and Wireshark filter columns."""
    out = flows.copy(deep=False)  # copy-on-write: new columns leave the caller's frame alone
    out["evidence"] = evidence_verdict(out)
    out["label_basis"] = _label_basis(out)
    flags, severity = _flags_and_severity(out)
    out["flags"] = pd.Series(flags, index=out.index, dtype=object)  # lists, even with no flows
    out["severity"] = severity
    out["wireshark_filter"] = wireshark_filters(out)
    return out


@functools.cache
def _protocol_name(protocol: str | None) -> str:
    """How a finding names an observed protocol (cached: there are few of them)."""
    if protocol is None:
        return "an unrecognised protocol"
    return PROTOCOLS.get(str(protocol), str(protocol))


def _detail(flag: str, row: dict) -> str:
    """One plain sentence saying what this finding is about.

    ``row`` comes from :func:`_rows`: a missing value is None.
    """
    where = f"{row['server_port']}/{row['transport']}"
    service = row["service"]
    spoken = _protocol_name(row["observed_protocol"])
    if flag == "protocol-mismatch":
        return f"{where} is registered to {service}, but the traffic speaks {spoken}"
    if flag == "port-zero":
        return f"traffic uses port 0 ({row['transport']})"
    if flag == "known-protocol-unregistered-port":
        return f"{spoken} on {where}, which has no current assignment for {row['transport']}"
    if flag == "unauthorized-use-reported":
        label = f" ({service})" if service else ""
        return f"{where}{label}: IANA records unauthorized use: {row['unauthorized_use']}"
    if flag == "reserved-port":
        return f"{where} is reserved in the registry"
    if flag == "cleartext-authentication":
        return f"credentials seen in clear text ({spoken}) to {row['server_ip']} on {where}"
    if flag == "unassigned-port":
        return f"{where} has no assignment in the registry"
    if flag == "deassigned-or-historic":
        notes = row["registry_notes"] if row["registry_notes"] is not None else "de-assigned"
        return f"{where} has only de-assigned or historic registrations: {notes}"
    if flag == "transport-not-registered":
        others = row["other_transports"]
        return f"port {row['server_port']} is assigned for {others} only, not {row['transport']}"
    if flag == "dynamic-port-server":
        return f"{row['server_ip']} serves on dynamic port {where}"
    if flag == "port-only-label":
        return (
            f"labelled {service} from the port registration alone; the traffic does not confirm it"
        )
    return FLAGS[flag].explanation


def build_findings(flows: pd.DataFrame) -> pd.DataFrame:
    """Group flagged flows into findings, most urgent first, then by bytes.

    A finding is one (flag, transport, server, port, observed protocol).  The
    grouping runs on numpy arrays of factorized keys (groups numbered in order
    of first appearance, as a pandas groupby without sorting would), because a
    pandas groupby's fixed cost was most of triage on a small capture.
    """
    hits, codes = [], []
    flag_ids = list(RULES)
    for code, rule in enumerate(RULES.values()):
        hit = np.flatnonzero(rule(flows))
        if hit.size:
            hits.append(hit)
            codes.append(np.full(hit.size, code, dtype=np.int64))
    if not hits:
        return _empty_findings()
    rows = np.concatenate(hits)  # flow row of each (flag, flow) hit, flag by flag
    flag_code = np.concatenate(codes)

    def codes_of(name: str) -> np.ndarray:
        # Factorized over the whole column (missing values as one more code),
        # then picked: no Python object per cell.  Only equality of codes
        # matters; groups are numbered by first appearance in _groups.
        return pd.factorize(flows[name], use_na_sentinel=False)[0][rows]

    keys = np.stack(
        [
            flag_code,
            codes_of("transport"),
            codes_of("server_ip"),
            flows["server_port"].to_numpy(dtype=np.int64)[rows],
            codes_of("observed_protocol"),
        ]
    )
    group, n = _groups(keys)
    first_hit = _first_of_each(group, n, np.ones(len(rows), dtype=bool))
    first_row = rows[first_hit]

    client_code = pd.factorize(flows["client_ip"])[0][rows]  # missing addresses: -1, not counted
    known = client_code >= 0
    client_groups, _ = distinct_pairs(group[known], client_code[known])
    total = np.zeros(n, dtype=np.int64)
    np.add.at(total, group, flows["bytes"].to_numpy(dtype=np.int64)[rows])

    agg = pd.DataFrame(
        {
            "flag": pd.array([flag_ids[c] for c in flag_code[first_hit].tolist()], dtype="str"),
            "transport": flows["transport"].astype(str).take(first_row),
            "server_ip": flows["server_ip"].take(first_row),
            "server_port": flows["server_port"].take(first_row),
            "flows": np.bincount(group, minlength=n),
            "clients": np.bincount(client_groups, minlength=n),
            "bytes": total,
        }
    ).reset_index(drop=True)
    for name, pick_last in (("first_seen", False), ("last_seen", True)):
        column = flows[name]
        stamps = column.to_numpy(dtype="datetime64[ns]").view(np.int64)[rows]
        present = column.notna().to_numpy()[rows]
        agg[name] = _take(column, rows, _extreme_of_each(group, n, stamps, present, pick_last))
    for name in _FIRST_PRESENT:
        present = flows[name].notna().to_numpy()[rows]
        agg[name] = _take(flows[name], rows, _first_of_each(group, n, present))
    # The flow rows of each group: sort the hits by group number and cut the
    # sorted rows, as one Python list, at the group boundaries.
    by_group = rows[np.argsort(group, kind="stable")]
    ends = np.cumsum(np.bincount(group, minlength=n)).tolist()
    positions = by_group.tolist()  # slicing one list is cheaper than n array views
    agg["flow_index"] = [positions[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    # Per-flag facts looked up by flag code: one lookup per flag, not per finding.
    group_flag = flag_code[first_hit]
    facts = [FLAGS[f] for f in flag_ids]
    agg["severity"] = np.array([f.severity for f in facts], dtype=object)[group_flag]
    agg["title"] = np.array([f.title for f in facts], dtype=object)[group_flag]
    agg["attack"] = pd.array(np.array([f.attack for f in facts], dtype=object)[group_flag],
                             dtype="string")  # fmt: skip
    agg["detail"] = [_detail(row["flag"], row) for row in _rows(agg, DETAIL_COLUMNS)]
    agg["severity"] = pd.Categorical(agg["severity"], categories=SEVERITY_ORDER, ordered=True)
    agg = agg.sort_values(["severity", "bytes"], ascending=[False, False], kind="stable")
    return agg[list(FINDING_COLUMNS)].reset_index(drop=True)


#: Columns a finding takes from the first of its flows where they are present.
_FIRST_PRESENT = (
    "service",
    "observed_protocol",
    "server_name",
    "unauthorized_use",
    "registry_notes",
    "other_transports",
)


def _groups(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Group number of each column of ``keys`` (numbered by first appearance), and the count.

    ``keys`` holds non-negative codes.  When their ranges multiply to less
    than 2**62 (always, short of millions of servers), each column becomes one
    integer and a hash table numbers them; the general way sorts the columns,
    about six times slower on 150,000 findings.
    """
    combined = np.zeros(keys.shape[1], dtype=np.int64)
    span = 1
    for row in keys:
        size = int(row.max()) + 1 if row.size else 1
        span *= size
        if span >= 2**62:
            break
        combined = combined * size + row
    else:
        group, uniques = pd.factorize(combined)  # numbered by first appearance
        return group.astype(np.int64), len(uniques)
    first, inverse = distinct_rows(*keys)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(first), dtype=np.int64)
    rank[order] = np.arange(len(first))
    return rank[inverse], len(first)


def _first_of_each(group: np.ndarray, n: int, mask: np.ndarray) -> np.ndarray:
    """Per group, the position of its first entry where ``mask`` holds; -1 for none."""
    candidates = np.flatnonzero(mask)
    out = np.full(n, -1, dtype=np.int64)
    out[group[candidates][::-1]] = candidates[::-1]  # the last write, the first position, wins
    return out


def _extreme_of_each(
    group: np.ndarray, n: int, values: np.ndarray, mask: np.ndarray, largest: bool
) -> np.ndarray:
    """Per group, the position of its smallest (or largest) value where ``mask`` holds, or -1."""
    candidates = np.flatnonzero(mask)
    ranked = candidates[np.argsort(values[candidates], kind="stable")]
    if not largest:
        ranked = ranked[::-1]
    out = np.full(n, -1, dtype=np.int64)
    out[group[ranked]] = ranked  # the last write wins: the extreme value
    return out


def _take(column: pd.Series, rows: np.ndarray, picks: np.ndarray) -> pd.Series:
    """``column`` at the flow rows of ``picks`` (positions into ``rows``), missing where -1."""
    where = np.where(picks >= 0, rows[np.maximum(picks, 0)], -1)
    return pd.Series(column.array.take(where, allow_fill=True))


#: The columns :func:`_detail` reads.
DETAIL_COLUMNS = (
    "flag",
    "transport",
    "server_ip",
    "server_port",
    "service",
    "observed_protocol",
    "unauthorized_use",
    "registry_notes",
    "other_transports",
)


def _rows(frame: pd.DataFrame, columns: tuple[str, ...]) -> Iterator[dict]:
    """Rows of a few columns as plain dicts (missing values as None), one at a time.

    Far cheaper than ``to_dict("records")`` over Arrow-backed string columns,
    and a generator: a list of 50,000 such dicts held 31 MB at once.
    """
    arrays = [_shared_objects(frame[c]) for c in columns]
    for values in zip(*arrays, strict=True):
        yield dict(zip(columns, values, strict=True))


def _shared_objects(column: pd.Series) -> np.ndarray:
    """``column`` as an object array holding one Python object per distinct value.

    Findings repeat the same registry notes and addresses many times; converting
    each cell made a new string apiece (20 MB of copies at 100,000 findings).
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    values = np.empty(len(uniques) + 1, dtype=object)  # the last slot, None, is for -1
    values[:-1] = np.asarray(uniques, dtype=object)
    return values[codes]


def _empty_findings() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})
    frame["severity"] = pd.Categorical([], categories=SEVERITY_ORDER, ordered=True)
    return frame
