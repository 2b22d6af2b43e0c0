"""Parquet output of the flow table, with the DataFrame's dtypes preserved.

pyarrow stores the pandas schema beside the data, so ``pd.read_parquet`` gives
back the same dtypes: nullable integers, the ordered ``severity`` categorical,
timezone-aware timestamps, and the list columns (``services``, ``flags``) as
Parquet lists of strings.  Values are exact (never defanged).
"""

from __future__ import annotations

from typing import IO, Any

import pandas as pd


def write_parquet(result: Any, out: IO[bytes]) -> None:
    """Write the flow table to ``out`` as one Parquet file (zstd-compressed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    flows: pd.DataFrame = result.flows
    schema = None
    if {"services", "flags"} <= set(flows.columns):
        inferred = pa.Schema.from_pandas(flows, preserve_index=False)
        for name in ("services", "flags"):
            inferred = inferred.set(
                inferred.get_field_index(name), pa.field(name, pa.list_(pa.string()))
            )
        schema = inferred
    table = pa.Table.from_pandas(flows, schema=schema, preserve_index=False)
    pq.write_table(table, out, compression="zstd")
