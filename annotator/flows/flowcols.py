"""Flow records as numpy columns: the aggregator's working format.

A flow table here is a dict of equally long arrays, one row per flow, in
canonical orientation (endpoint ``A`` is the lower one); the payload columns
are object arrays of ``bytes``.
"""

from __future__ import annotations

import numpy as np

#: Numeric columns of a flow record, in canonical orientation.
FLOW_DTYPES: dict[str, np.dtype] = {
    "h": np.dtype(np.uint64),
    "a_hi": np.dtype(np.uint64),
    "a_lo": np.dtype(np.uint64),
    "b_hi": np.dtype(np.uint64),
    "b_lo": np.dtype(np.uint64),
    "small": np.dtype(np.uint64),  # transport, VLAN + 1, port A, port B
    "ip_version": np.dtype(np.uint8),
    "first_ts": np.dtype(np.int64),
    "last_ts": np.dtype(np.int64),
    "last_pkt_ts": np.dtype(np.int64),  # timestamp of the last packet in capture order
    "file": np.dtype(np.int32),
    "first_frame": np.dtype(np.int64),
    "pk_ab": np.dtype(np.int64),
    "pk_ba": np.dtype(np.int64),
    "by_ab": np.dtype(np.int64),
    "by_ba": np.dtype(np.int64),
    "flags": np.dtype(np.uint8),
    "hs_dir": np.dtype(np.uint8),  # 0 no handshake, 1 A is the client, 2 B is the client
    "first_fwd": np.dtype(np.bool_),  # the first packet went A -> B
    "ended": np.dtype(np.bool_),  # the last FIN/RST/SYN event was a FIN or RST
    "pay_len_ab": np.dtype(np.int32),
    "pay_len_ba": np.dtype(np.int32),
    # For merging the flows of files read apart (annotator.flows.merge):
    "first_pkt_ts": np.dtype(np.int64),  # timestamp of the first packet in capture order
    "evented": np.dtype(np.bool_),  # the flow saw a FIN, RST or SYN event
    "open_first": np.dtype(np.bool_),  # the flow's first packet is an opening SYN
    "head": np.dtype(np.bool_),  # the first flow of its key in its file (boundary mode)
    "rejoin": np.dtype(np.bool_),  # split from the head at its first SYN (boundary mode)
    "live_end": np.dtype(np.bool_),  # still live when its file ended
    # Index of the flow's fingerprint in the reader's evidence list, -1 for none yet.
    "ev": np.dtype(np.int32),
}
OBJECT_COLUMNS = ("pay_ab", "pay_ba")

Flows = dict[str, np.ndarray]


def empty_flows(n: int = 0) -> Flows:
    """A flow record table of ``n`` zeroed rows (payload columns hold ``b""``)."""
    cols: Flows = {k: np.zeros(n, dtype=dt) for k, dt in FLOW_DTYPES.items()}
    cols["ev"][:] = -1
    for k in OBJECT_COLUMNS:
        cols[k] = np.full(n, b"", dtype=object)
    return cols


def take(cols: Flows, idx: np.ndarray) -> Flows:
    """Rows ``idx`` (indices or a boolean mask) of a flow table."""
    return {k: v[idx] for k, v in cols.items()}


def concat(parts: list[Flows]) -> Flows:
    """Row-wise concatenation of flow tables."""
    parts = [p for p in parts if len(p["h"])]
    if not parts:
        return empty_flows()
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
