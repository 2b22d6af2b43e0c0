"""JSON and JSONL output: machine-exact, every field documented in docs/output.md.

JSONL is one object per flow (:func:`flow_records`), for ``jq``, log
pipelines and SIEM ingestion.  JSON is one document (:func:`to_json_document`)
with the capture, the registry, the accounting, findings, other traffic and the
flows.  Timestamps are ISO 8601 in UTC with microseconds
(``2024-01-02T03:04:05.123456Z``); missing values are ``null``, never
``NaN``.  These formats are never defanged: tools downstream need the exact
values.

Conversion is column by column (one ``tolist()`` per column), not value by
value through pandas, so a hundred thousand flows convert quickly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd

from annotator.report._view import iana_caveat, registry_facts, tool_version
from annotator.triage.flags import CAVEAT

if TYPE_CHECKING:  # pragma: no cover
    from annotator.result import AnnotateResult

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

#: Columns holding a list of strings per flow.
LIST_COLUMNS = frozenset({"services", "flags"})
#: Columns holding a list of integers per row (findings' flow positions).
INT_LIST_COLUMNS = frozenset({"flow_index"})


def iso(ts: Any) -> str | None:
    """One timestamp as ISO 8601 UTC with microseconds, or None."""
    if ts is None or pd.isna(ts):
        return None
    stamp = pd.Timestamp(ts)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime(ISO_FORMAT)


def _as_list(value: Any) -> list[Any]:
    if type(value) is list:  # the flow table's own lists (of names): taken as they are
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(v) for v in value] if not isinstance(value, str) else [value]


def column_values(series: pd.Series) -> list[Any]:
    """A column as JSON-ready Python values: None for missing, ISO timestamps,
    plain ints and floats, lists for list columns."""
    if series.name in LIST_COLUMNS:
        return [_as_list(v) for v in series.tolist()]
    if series.name in INT_LIST_COLUMNS:
        return [
            v if type(v) is list else [int(i) for i in v] if v is not None else []
            for v in series.tolist()
        ]
    missing = series.isna().to_numpy()
    values: list[Any]
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        values = _iso_column(series)
    elif isinstance(series.dtype, pd.CategoricalDtype):
        values = series.astype(object).tolist()
    else:
        values = series.tolist()
    if missing.any():
        values = [None if m else v for v, m in zip(values, missing, strict=True)]
    return values


def _iso_column(series: pd.Series) -> list[str]:
    """Timestamps as ISO 8601 UTC with microseconds (:data:`ISO_FORMAT`), vectorized.

    numpy formats a whole column in C, where pandas' ``strftime`` works cell
    by cell.  Naive timestamps are taken as UTC; missing
    ones come out as ``"NaTZ"`` and the caller replaces them with None.
    """
    if series.dt.tz is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[us]")  # truncates, as %f
    return np.char.add(np.datetime_as_string(stamps, unit="us"), "Z").tolist()


#: Rows converted to Python values at a time: the JSON writers stream, so a
#: large flow table never exists as Python objects all at once.
RECORD_CHUNK = 4096


def frame_records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Rows of ``frame`` as JSON-ready dicts, in column order, a chunk at a time."""
    names = [str(c) for c in frame.columns]
    for start in range(0, len(frame), RECORD_CHUNK):
        part = frame.iloc[start : start + RECORD_CHUNK]
        columns = [column_values(part[c]) for c in part.columns]
        for row in zip(*columns, strict=True):
            yield dict(zip(names, row, strict=True))


def flow_records(result: AnnotateResult) -> Iterator[dict[str, Any]]:
    """One JSON object per flow: the JSONL records (fields in docs/output.md)."""
    return frame_records(result.flows)


def _default(value: Any) -> Any:
    """JSON encoding for the numpy and pandas scalars that reach the encoder."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return iso(value)
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


#: Timestamps (pandas' included, a datetime subclass) go to :func:`_default`,
#: so every timestamp is written in :data:`ISO_FORMAT`.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def dumps(value: Any, **options: Any) -> str:
    """Compact JSON text that knows numpy/pandas scalars and writes no NaN.

    orjson encodes the flow records, which are most of a large report, several
    times faster than the standard library.  Missing values reach it as None already; a stray float
    NaN would become ``null``, never the invalid ``NaN`` token.  With
    ``options`` (``indent``...) the standard library writes it instead.
    """
    if not options:
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS).decode("utf-8")
    return json.dumps(value, default=_default, allow_nan=False, ensure_ascii=False, **options)


def _capture_facts(info: Any) -> dict[str, Any]:
    return {
        "name": info.name,
        "sha256": info.sha256,
        "size": info.size,
        "format": info.format,
        "compression": info.compression,
        "link_types": list(info.link_types),
        "packets": info.packets,
        "first_seen": iso(info.first_seen),
        "last_seen": iso(info.last_seen),
    }


ACCOUNTING_KEYS = ("packets_total", "packets_in_flows", "packets_other", "packets_undecodable")


def _accounting(accounting: dict[str, Any]) -> dict[str, Any]:
    """The packet counts (partial reads are reported in the document's ``partial``)."""
    out: dict[str, Any] = {k: int(accounting.get(k, 0)) for k in ACCOUNTING_KEYS}
    out["undecodable"] = {str(k): int(v) for k, v in (accounting.get("undecodable") or {}).items()}
    out["flows"] = int(accounting.get("flows", 0))
    return out


def _header(result: Any, *, stream: bool = False) -> dict[str, Any]:
    """Every top-level member of the JSON document except ``flows``.

    With ``stream``, findings and other traffic are iterators of records (the
    writer streams them; a capture may have tens of thousands of findings).
    """
    rows = frame_records if stream else (lambda frame: list(frame_records(frame)))
    captures = [_capture_facts(c) for c in result.captures]
    registry = registry_facts(result.registry)
    return {
        "tool": "annotator",
        "tool_version": tool_version(),
        "generated_at": iso(pd.Timestamp.now(tz="UTC")),
        "started_at": iso(getattr(result, "started_at", None)),
        "caveat": CAVEAT,
        "iana_note": registry["note"] if iana_caveat(registry["note"]) else None,
        "capture": captures[0] if len(captures) == 1 else captures,
        "registry": {
            "title": registry["title"],
            "source": registry["source"],
            "format": registry["format"],
            "updated": registry["updated"],
            "downloaded": registry["downloaded"],
            "note": registry["note"],
            "columns_available": registry["columns_available"],
            "columns_stale": registry["columns_stale"],
            "coverage_notice": registry["coverage_notice"],
            "skipped_rows": registry["skipped_rows"],
        },
        "accounting": _accounting(result.accounting),
        "partial": [
            {"capture": p.capture, "offset": p.offset, "reason": p.reason} for p in result.partial
        ],
        "findings": rows(result.findings),
        "other_traffic": rows(result.other),
    }


def to_json_document(result: AnnotateResult) -> dict[str, Any]:
    """The whole result as one JSON-ready dict (the ``--format json`` document)."""
    document = _header(result)
    document["flows"] = list(flow_records(result))
    return document


def write_json(result: AnnotateResult, out: IO[str]) -> None:
    """Write the JSON document, one flow per line so large documents stream."""
    out.write("{\n")
    for key, value in _header(result, stream=True).items():
        if isinstance(value, Iterator):
            # A list written record by record (findings may be tens of thousands).
            out.write(f"  {dumps(key)}: [")
            for i, record in enumerate(value):
                out.write((", " if i else "") + dumps(record))
            out.write("],\n")
        else:
            # The few header members keep the spaced layout, for people reading it.
            out.write(f"  {dumps(key)}: {dumps(value, separators=(', ', ': '))},\n")
    out.write('  "flows": [')
    sep = "\n    "
    for record in flow_records(result):
        out.write(sep + dumps(record))
        sep = ",\n    "
    out.write("\n  ]\n}\n")


def write_jsonl(result: AnnotateResult, out: IO[str]) -> None:
    """Write one JSON object per flow, one per line."""
    for record in flow_records(result):
        out.write(dumps(record) + "\n")
