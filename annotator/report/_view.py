"""What the human-facing reports show, computed once from an AnnotateResult.

The terminal, HTML and Markdown reports have the same sections; this module
turns the result into plain values for them (header facts, findings grouped
by severity, services seen, the capped flow table, other traffic,
accounting, glossary).  It does no escaping: each format escapes for its own
target.  Defanging, when asked for, is applied here to the indicator fields
because it is the same for every human-facing format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from annotator._arrays import distinct_pairs
from annotator._units import human_bytes
from annotator._version import __version__
from annotator.registry.resolve import registry_date
from annotator.report.safety import defang as _defang
from annotator.triage.flag import Flag
from annotator.triage.flags import CAVEAT, FLAGS
from annotator.triage.severity import SEVERITIES

#: Registry columns the reports rely on; when a loaded registry lacks one, the
#: report says so and points to ``annotate registry update``.
USEFUL_REGISTRY_COLUMNS = ("description", "unauthorized_use", "assignment_notes")

#: Fields that hold network indicators (rewritten when defanging).
INDICATOR_FIELDS = ("client_ip", "server_ip", "server_name", "evidence_detail", "detail")


def tool_version() -> str:
    """The installed annotator version."""
    return __version__


def partial_rows(result: Any) -> list[dict[str, Any]]:
    """The partial reads, each with ``where``: the byte it stopped at, said to
    be in the decompressed data when the capture was compressed (the stored
    file is smaller: "byte 3,145,412" of a 2.6 MiB .gz would read as nonsense)."""
    compression = {c.name: c.compression for c in getattr(result, "captures", [])}
    rows = []
    for p in result.partial:
        where = f"byte {p.offset:,}"
        if compression.get(p.capture):
            where += f" of the decompressed {compression[p.capture]} data"
        rows.append({"capture": p.capture, "offset": p.offset, "reason": p.reason, "where": where})
    return rows


def endpoint(address: object, port: object) -> str:
    """``address:port``, with an IPv6 address in brackets (``[2001:db8::1]:53``),
    so the reader can tell where the address ends and the port begins."""
    text = str(address)
    return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"


def human_time(ts: Any) -> str:
    """A timestamp as ``2024-01-02 03:04:05 UTC`` (or ``-`` when unknown)."""
    if ts is None or pd.isna(ts):
        return "-"
    stamp = pd.Timestamp(ts)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def human_duration(seconds: float | None) -> str:
    """``3725.2`` -> ``"1 h 2 min 5 s"``; short spans keep a decimal."""
    if seconds is None or pd.isna(seconds):
        return "-"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    minutes, sec = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (sec, "s")]
    shown = [f"{v} {u}" for v, u in parts if v]
    return " ".join(shown[:3])


@dataclass
class ReportView:
    """Everything a human-facing report shows, as plain values."""

    tool_version: str
    generated_at: str
    started_at: str
    captures: list[dict[str, Any]]
    packets: int
    first_seen: str
    last_seen: str
    span: str
    registry: dict[str, Any]
    caveat: str
    iana_note: str | None
    source_note: str | None
    findings: dict[str, list[dict[str, Any]]]
    findings_total: int
    findings_counts: dict[str, int]  # by severity, all of them (rows may be capped)
    services: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    flows_total: int
    other: list[dict[str, Any]]
    accounting: dict[str, Any]
    undecodable: list[tuple[str, int]]
    partial: list[dict[str, Any]]
    glossary: list[Flag] = field(default_factory=list)
    defanged: bool = False

    @property
    def flows_capped(self) -> bool:
        """True when the flow table shows fewer flows than the capture has."""
        return len(self.flows) < self.flows_total


IANA_CAVEAT_START = "ASSIGNMENT OF A PORT NUMBER"


def iana_caveat(note: str | None) -> str | None:
    """The part of IANA's note that says an assignment is no endorsement,
    without the asterisk frame IANA draws around it.

    None when the note does not carry IANA's wording: a note written by
    whoever built the registry file (the bundled snapshot has one) must not
    be quoted as IANA's; reports show it as the registry source's note.
    """
    if not note:
        return None
    text = " ".join(note.replace("*", " ").split())
    start = text.upper().find(IANA_CAVEAT_START)
    return text[start:] if start >= 0 else None


def registry_facts(registry: Any) -> dict[str, Any]:
    """Source, date, note and column coverage of the loaded registry."""
    meta = getattr(registry, "meta", None)
    get = lambda name, default=None: getattr(meta, name, default)  # noqa: E731
    available = sorted(get("columns_available", None) or [])
    missing = [c for c in USEFUL_REGISTRY_COLUMNS if available and c not in available]
    updated = get("updated")
    extra = get("extra", None) or {}
    stale = list(extra.get("columns_stale") or [])
    if stale:  # the bundled snapshot: old columns present, but dated
        newer = extra.get("columns_missing_for") or 0
        coverage = (
            f"This registry's {', '.join(stale)} columns date from "
            f"{extra.get('columns_stale_as_of') or 'an older registry'}"
            + (f" and are empty for {newer:,} newer records" if newer else "")
        )
    elif missing:
        coverage = f"This registry lacks {', '.join(missing)}"
    else:
        coverage = None
    return {
        "title": get("title") or None,
        "source": get("source") or None,
        "format": get("format") or None,
        "updated": str(updated) if updated else None,
        "downloaded": extra.get("downloaded") or None,
        "date_text": registry_date(meta),
        "note": get("note") or None,
        "columns_available": available,
        "columns_missing": missing,
        "columns_stale": stale,
        "coverage_notice": coverage,
        "skipped_rows": get("skipped_rows"),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with pandas' missing values turned into None."""
    if frame.empty:
        return []
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict(orient="records")


def _defang_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for name in INDICATOR_FIELDS:
        if name in frame.columns:
            col = frame[name]
            frame[name] = col.where(col.isna(), col.astype(object).map(_defang, na_action="ignore"))
    return frame


#: Columns of :func:`services_seen`, in order.
SERVICE_COLUMNS = (
    "service",
    "transport",
    "ports",
    "flows",
    "bytes",
    "consistent",
    "contradicts",
    "none",
    "observed",
)


def services_seen(flows: pd.DataFrame) -> pd.DataFrame:
    """Flows and bytes per registered service label, with evidence verdicts.

    One row per (service, transport); flows without a registered service are
    grouped under ``None``.  Sorted by bytes, largest first.
    """
    return pd.DataFrame(service_rows(flows), columns=list(SERVICE_COLUMNS))


def service_rows(flows: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of :func:`services_seen` as plain dicts (what the reports read).

    Grouped with numpy over factorized keys rather than a pandas groupby, whose
    fixed cost dominated the terminal report of a small capture.  Groups are
    numbered in order of first appearance, so ties in bytes and flows keep
    that order.
    """
    if flows.empty:
        return []
    service = flows["service"].to_numpy(dtype=object, na_value="").astype(str)
    transport = flows["transport"].to_numpy(dtype=object).astype(str)
    t_codes, t_names = pd.factorize(transport)
    key = pd.factorize(service)[0] * len(t_names) + t_codes
    groups, first_rows = np.unique(key, return_index=True)
    # Number the groups by first appearance (np.unique sorts them by key).
    order = np.argsort(first_rows, kind="stable")
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups))
    group = rank[np.searchsorted(groups, key)]
    n = len(groups)

    size = np.bincount(group, minlength=n)
    total = np.zeros(n, dtype=np.int64)
    np.add.at(total, group, flows["bytes"].to_numpy(dtype=np.int64))
    evidence = flows["evidence"].to_numpy(dtype=object).astype(str)
    verdicts = {v: np.bincount(group[evidence == v], minlength=n) for v in _VERDICTS}
    ports = _distinct_per_group(group, flows["server_port"].to_numpy(dtype=np.int64), n)
    observed = flows["observed_protocol"].to_numpy(dtype=object, na_value="").astype(str)
    o_codes, o_names = pd.factorize(observed)
    seen = _distinct_per_group(group, o_codes, n)

    first = first_rows[order]
    by_size = np.lexsort((np.arange(n), -size, -total))
    rows = []
    for g in by_size.tolist():
        name = str(service[first[g]])
        rows.append(
            {
                "service": name or None,
                "transport": str(transport[first[g]]),
                "ports": ports[g],
                "flows": int(size[g]),
                "bytes": int(total[g]),
                **{v: int(verdicts[v][g]) for v in _VERDICTS},
                "observed": sorted({str(o_names[c]) for c in seen[g]} - {""}),
            }
        )
    return rows


_VERDICTS = ("consistent", "contradicts", "none")


def _distinct_per_group(group: np.ndarray, values: np.ndarray, n: int) -> list[list[int]]:
    """The distinct ``values`` of each of ``n`` groups, ascending, as Python lists."""
    groups, distinct = distinct_pairs(group, values.astype(np.int64))
    cuts = np.searchsorted(groups, np.arange(n + 1))
    column = distinct.tolist()
    return [column[cuts[g] : cuts[g + 1]] for g in range(n)]


def top_flows(flows: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The ``limit`` largest flows by bytes (all of them when fewer)."""
    if len(flows) <= limit:
        return flows.sort_values("bytes", ascending=False, kind="stable")
    return flows.nlargest(limit, "bytes", keep="first")


def build_view(
    result: Any,
    *,
    defang: bool = False,
    max_flows: int = 5000,
    max_findings: int | None = None,
) -> ReportView:
    """Collect what the terminal, HTML and Markdown reports show.

    ``max_findings`` keeps only the first findings of each severity as rows
    (the terminal shows a screenful); ``findings_counts`` still counts all.
    """
    flows: pd.DataFrame = result.flows
    findings: pd.DataFrame = result.findings
    counts = {
        str(k): int(v) for k, v in findings["severity"].astype(str).value_counts().items()
    } if len(findings) else {}  # fmt: skip
    if max_findings is not None and len(findings):
        findings = findings.groupby("severity", observed=True, sort=False).head(max_findings)
    if defang:
        flows = _defang_columns(flows)
        findings = _defang_columns(findings)

    captures = []
    for info in result.captures:
        first, last = info.first_seen, info.last_seen
        span = (last - first).total_seconds() if first is not None and last is not None else None
        captures.append(
            {
                "name": info.name,
                "sha256": info.sha256,
                # None after --no-hash, or for a stream whose reading stopped early
                "sha256_text": info.sha256 or "not computed",
                "size": info.size,
                "size_text": human_bytes(info.size),
                "format": info.format,
                "compression": info.compression,
                "link_types": list(info.link_types),
                "packets": info.packets,
                "first_seen": human_time(first),
                "last_seen": human_time(last),
                "span": human_duration(span),
            }
        )
    firsts = [c.first_seen for c in result.captures if c.first_seen is not None]
    lasts = [c.last_seen for c in result.captures if c.last_seen is not None]
    first = min(firsts) if firsts else None
    last = max(lasts) if lasts else None

    grouped: dict[str, list[dict[str, Any]]] = {sev: [] for sev in SEVERITIES}
    explained: set[str] = set()
    for row in _records(findings):
        flag_id = str(row.get("flag"))
        row["first_of_flag"] = flag_id not in explained
        explained.add(flag_id)
        flag = FLAGS.get(flag_id)
        row["explanation"] = flag.explanation if flag else ""
        row["attack_url"] = flag.attack_url if flag else None
        row["first_seen_text"] = human_time(row.get("first_seen"))
        row["last_seen_text"] = human_time(row.get("last_seen"))
        grouped.setdefault(str(row.get("severity")), []).append(row)

    one_day = first is not None and last is not None and first.date() == last.date()
    shown = top_flows(flows, max_flows)
    flow_rows = _records(shown)
    for row in flow_rows:
        row["first_seen_text"] = human_time(row.get("first_seen"))
        # Within one day the date is in the header; the table shows the time alone.
        short = row["first_seen_text"].removesuffix(" UTC")
        row["first_seen_short"] = short[11:] if one_day and short != "-" else short
        row["flags"] = list(row.get("flags") or [])

    accounting = dict(result.accounting)
    undecodable = sorted(
        (accounting.get("undecodable") or {}).items(), key=lambda kv: (-kv[1], kv[0])
    )
    registry = registry_facts(result.registry)
    started = getattr(result, "started_at", None)
    return ReportView(
        tool_version=tool_version(),
        generated_at=human_time(pd.Timestamp.now(tz="UTC")),
        started_at=human_time(started),
        captures=captures,
        packets=int(accounting.get("packets_total", sum(c.packets for c in result.captures))),
        first_seen=human_time(first),
        last_seen=human_time(last),
        span=human_duration((last - first).total_seconds() if first is not None else None),
        registry=registry,
        caveat=CAVEAT,
        iana_note=iana_caveat(registry["note"]),
        source_note=None
        if iana_caveat(registry["note"]) or not registry["note"]
        else " ".join(str(registry["note"]).split()),
        findings={sev: rows for sev, rows in grouped.items() if rows},
        findings_total=sum(counts.values()),
        findings_counts=counts,
        services=service_rows(flows),
        flows=flow_rows,
        flows_total=len(flows),
        other=_records(result.other.sort_values("packets", ascending=False, kind="stable")),
        accounting=accounting,
        undecodable=undecodable,
        partial=partial_rows(result),
        glossary=list(FLAGS.values()),
        defanged=defang,
    )
