"""CSV output of the flow table, safe to open in a spreadsheet.

Values are exact (never defanged), with two changes for spreadsheets: list
columns (``services``, ``flags``) are joined with ``;``, and every text cell
that a spreadsheet would run as a formula (starting with ``= + - @``, a tab
or a carriage return) is prefixed with ``'``.  Timestamps are ISO 8601 UTC
with microseconds, as in JSON.
"""

from __future__ import annotations

import csv
from typing import IO, Any

import pandas as pd

from annotator.report.json import LIST_COLUMNS, column_values
from annotator.report.safety import csv_safe


def _cells(series: pd.Series) -> list[Any]:
    values = column_values(series)
    if series.name in LIST_COLUMNS:
        return [csv_safe(";".join(v)) for v in values]
    if pd.api.types.is_bool_dtype(series):
        return ["true" if v else "false" if v is not None else "" for v in values]
    if pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
        return ["" if v is None else v for v in values]
    return ["" if v is None else csv_safe(str(v)) for v in values]


def write_csv(result: Any, out: IO[str]) -> None:
    """Write every flow as one CSV row (header first)."""
    flows: pd.DataFrame = result.flows
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_safe(str(c)) for c in flows.columns])
    columns = [_cells(flows[c]) for c in flows.columns]
    writer.writerows(zip(*columns, strict=True))
