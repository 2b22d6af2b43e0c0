"""The flow table as users see it: a pandas DataFrame with declared dtypes.

Turns the aggregator's canonical flow records into client/server rows:
addresses formatted once per distinct address (dotted quad for IPv4,
compressed form for IPv6), TCP flags named through a 256-entry lookup table,
categoricals for the low-cardinality columns, UTC timestamps and a nullable
VLAN id.
"""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pyarrow as pa

from annotator._arrays import distinct_rows
from annotator.capture.columns import TRANSPORT_BY_PROTO
from annotator.flows.community import community_ids
from annotator.flows.direction import BASES
from annotator.flows.keys import unpack_small

#: The columns of :attr:`FlowTable.flows`, in order.
FLOW_TABLE_COLUMNS = (
    "transport",
    "ip_version",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "vlan_id",
    "first_seen",
    "last_seen",
    "duration_s",
    "packets",
    "bytes",
    "packets_c2s",
    "packets_s2c",
    "bytes_c2s",
    "bytes_s2c",
    "tcp_flags",
    "direction_basis",
    "first_frame",
    "capture",
    "community_id",
)

TRANSPORTS = ("tcp", "udp", "sctp", "dccp")
_TRANSPORT_INDEX = np.full(256, -1, dtype=np.int8)
for _proto, _name in TRANSPORT_BY_PROTO.items():
    _TRANSPORT_INDEX[_proto] = TRANSPORTS.index(_name)

# Flag names in the order they are listed: the handshake and data flags a
# reader looks for first, then the teardown flags, then congestion bits.
_FLAG_ORDER = (("SYN", 0x02), ("ACK", 0x10), ("PSH", 0x08), ("URG", 0x20), ("FIN", 0x01),
               ("RST", 0x04), ("ECE", 0x40), ("CWR", 0x80))  # fmt: skip
#: ``tcp_flags`` text for each value of the OR of a flow's TCP flag bytes.
FLAG_NAMES = np.array(
    [",".join(name for name, bit in _FLAG_ORDER if v & bit) for v in range(256)], dtype=object
)


def format_addresses(hi: np.ndarray, lo: np.ndarray, v4: np.ndarray) -> np.ndarray:
    """Text form of 128-bit addresses, formatted once per distinct address.

    IPv4 addresses (``v4`` True, stored IPv4-mapped) become dotted quads;
    others the compressed IPv6 form of RFC 5952 (the C library's
    ``inet_ntop``, as tshark prints them).
    """
    if len(hi) == 0:
        return np.empty(0, dtype=object)
    first, inverse = distinct_rows(hi, lo, np.asarray(v4, dtype=np.uint8))
    text = np.empty(len(first), dtype=object)
    is4 = v4[first].astype(bool)
    ntop = socket.inet_ntop
    for mask, family, width in ((is4, socket.AF_INET, 4), (~is4, socket.AF_INET6, 16)):
        at = np.flatnonzero(mask)
        if len(at) == 0:
            continue
        src = first[at]
        if width == 4:
            raw = (lo[src] & np.uint64(0xFFFFFFFF)).astype(">u4").tobytes()
        else:
            both = np.empty((len(src), 2), dtype=">u8")
            both[:, 0], both[:, 1] = hi[src], lo[src]
            raw = both.tobytes()
        text[at] = [ntop(family, raw[k : k + width]) for k in range(0, len(raw), width)]
    return text[inverse]


def text_array(values: np.ndarray | list) -> pd.api.extensions.ExtensionArray:
    """A pandas ``str`` array of ``values`` (str or None), its Arrow buffers from malloc.

    pandas would take them from pyarrow's default pool (mimalloc), which
    commits and keeps several megabytes the first time a sizeable column
    goes through it -- at the very end of a read, on top of every flow's payload.
    The C library's allocator costs only the bytes.  This is chosen per
    array, never by changing the process's default pool (a library must not).
    """
    pool = pa.system_memory_pool()
    return pd.array(pa.array(values, type=pa.large_string(), memory_pool=pool), dtype="str")


def _ts(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")


def build_frame(
    cols: dict[str, np.ndarray],
    client_is_a: np.ndarray,
    basis: np.ndarray,
    capture_names: list[str],
) -> pd.DataFrame:
    """One row per flow, client and server resolved, with tidy dtypes."""
    small = cols["small"]
    proto, a_port, b_port = unpack_small(small)
    vlan = ((small >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int32) - 1
    ca = client_is_a
    v4 = cols["ip_version"] == 4

    def pick(a: np.ndarray, b: np.ndarray, client: bool) -> np.ndarray:
        return np.where(ca, a, b) if client else np.where(ca, b, a)

    ips = format_addresses(
        np.concatenate([cols["a_hi"], cols["b_hi"]]),
        np.concatenate([cols["a_lo"], cols["b_lo"]]),
        np.concatenate([v4, v4]),
    )
    n = len(proto)
    a_ip, b_ip = ips[:n], ips[n:]
    first, last = cols["first_ts"], cols["last_ts"]
    packets = cols["pk_ab"] + cols["pk_ba"]
    flags = FLAG_NAMES[cols["flags"]].copy()
    flags[proto != 6] = None
    names = list(dict.fromkeys(capture_names))
    file_codes = np.array([names.index(c) for c in capture_names], dtype=np.int32)
    community_id = community_ids(
        cols["ip_version"], cols["a_hi"], cols["a_lo"], cols["b_hi"], cols["b_lo"],
        proto, a_port, b_port,
    )  # fmt: skip
    data = {
        "transport": pd.Categorical.from_codes(_TRANSPORT_INDEX[proto], categories=TRANSPORTS),
        "ip_version": cols["ip_version"].astype(np.uint8),
        "client_ip": text_array(pick(a_ip, b_ip, True)),
        "client_port": pick(a_port, b_port, True).astype(np.uint16),
        "server_ip": text_array(pick(a_ip, b_ip, False)),
        "server_port": pick(a_port, b_port, False).astype(np.uint16),
        "vlan_id": pd.arrays.IntegerArray(np.where(vlan >= 0, vlan, 0), mask=vlan < 0),
        "first_seen": _ts(first),
        "last_seen": _ts(last),
        "duration_s": (last - first) / 1e9,
        "packets": packets,
        "bytes": cols["by_ab"] + cols["by_ba"],
        "packets_c2s": pick(cols["pk_ab"], cols["pk_ba"], True),
        "packets_s2c": pick(cols["pk_ab"], cols["pk_ba"], False),
        "bytes_c2s": pick(cols["by_ab"], cols["by_ba"], True),
        "bytes_s2c": pick(cols["by_ab"], cols["by_ba"], False),
        "tcp_flags": text_array(flags),
        "direction_basis": pd.Categorical.from_codes(basis, categories=BASES),
        "first_frame": cols["first_frame"].astype(np.int64),
        "capture": pd.Categorical.from_codes(
            file_codes[cols["file"]] if n else np.zeros(0, np.int32), categories=names
        ),
        "community_id": text_array(community_id),
    }
    # The arrays above are new and owned by the frame: no copy of them.
    return pd.DataFrame({name: data[name] for name in FLOW_TABLE_COLUMNS}, copy=False)
