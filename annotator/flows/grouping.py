"""A batch's flow packets grouped by canonical key, for the flow aggregator.

The aggregator works on one :class:`~annotator.capture.columns.PacketBatch`
at a time.  Its first step, here, keeps the flow packets (``KIND_FLOW``),
gives each a canonical key (:mod:`annotator.flows.keys`) and orders them so
that each key's packets are contiguous and stay in capture order: every later
stage (idle splits, segment reductions, first payload bytes) then works on
runs of consecutive positions with vectorized numpy, never a Python step per
packet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotator.capture.columns import KIND_FLOW, PacketBatch
from annotator.flows.keys import canonical_keys, same_key

#: Bits of the ``small`` key word above which the IP protocol number sits.
_PROTO_SHIFT = np.uint64(48)


@dataclass
class GroupedPackets:
    """A batch's flow packets, grouped by key, in capture order within each key.

    Every per-packet array is in grouped order.  ``rows`` maps each grouped
    packet back to its position in the batch (for the columns only some
    stages read); ``key`` is the canonical key (``a_hi, a_lo, b_hi, b_lo,
    small``), ``key_hash`` its 64-bit hash and ``forward`` whether endpoint A
    sent the packet.  ``group_start`` marks each key group's first packet;
    ``group_first`` holds those positions (one per group) and ``group_of``
    the group index of every packet.
    """

    rows: np.ndarray
    key: tuple[np.ndarray, ...]
    key_hash: np.ndarray
    forward: np.ndarray
    group_start: np.ndarray
    group_first: np.ndarray
    group_of: np.ndarray
    ts: np.ndarray
    tcp_flags: np.ndarray
    handshake: np.ndarray
    proto: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_groups(self) -> int:
        """How many distinct keys the batch holds."""
        return len(self.group_first)

    def group_keys(self) -> tuple[np.ndarray, ...]:
        """The key of each group (one row per group)."""
        return tuple(column[self.group_first] for column in self.key)


def hash_group_order(key_hash: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order that groups equal hashes, keeping capture order within a group.

    The packet index is packed into the low bits of the hash and the packed
    words sorted (a plain, SIMD-accelerated sort of one uint64 array, cheaper
    than a stable argsort); groups are runs of equal high bits.  Returns the
    order and a mask marking the first packet of each group.
    """
    n = len(key_hash)
    bits = np.uint64(max(int(n - 1).bit_length(), 1))
    packed = ((key_hash >> bits) << bits) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.intp)
    high = packed >> bits
    group_start = np.ones(n, dtype=bool)
    group_start[1:] = high[1:] != high[:-1]
    return order, group_start


def group_by_key(batch: PacketBatch) -> GroupedPackets | None:
    """The batch's flow packets grouped by canonical key; None when it has none.

    Grouping sorts by the key hash with the packet index in its low bits, so
    two keys whose hashes agree above those bits would share a run.  Every run
    is checked against the full key, and a batch where two keys share one is
    grouped again exactly with a lexsort: a collision never merges two
    conversations.
    """
    is_flow = batch["kind"] == KIND_FLOW
    n = int(np.count_nonzero(is_flow))
    if n == 0:
        return None
    every_packet = n == len(is_flow)
    flow_rows = np.arange(n) if every_packet else np.flatnonzero(is_flow)

    def column(name: str) -> np.ndarray:
        return batch[name] if every_packet else batch[name][flow_rows]

    keys = canonical_keys(
        column("src_hi"),
        column("src_lo"),
        column("dst_hi"),
        column("dst_lo"),
        column("sport"),
        column("dport"),
        column("proto"),
        column("vlan"),
    )
    key_columns = (keys.a_hi, keys.a_lo, keys.b_hi, keys.b_lo, keys.small)
    order, group_start = hash_group_order(keys.h)
    key = tuple(x[order] for x in key_columns)
    same_run = ~group_start[1:]
    key_changes = np.zeros(n - 1, dtype=bool)
    for x in key:
        key_changes |= x[1:] != x[:-1]
    if (key_changes & same_run).any():
        # Two conversations share a hash prefix: group this batch exactly.
        order = np.lexsort((keys.small, keys.b_lo, keys.b_hi, keys.a_lo, keys.a_hi))
        key = tuple(x[order] for x in key_columns)
        group_start[1:] = ~same_key(tuple(x[1:] for x in key), tuple(x[:-1] for x in key))
    rows = flow_rows[order]
    return GroupedPackets(
        rows=rows,
        key=key,
        key_hash=keys.h[order],
        forward=keys.fwd[order],
        group_start=group_start,
        group_first=np.flatnonzero(group_start),
        group_of=np.cumsum(group_start) - 1,
        ts=batch["ts_ns"][rows],
        tcp_flags=batch["tcp_flags"][rows],
        handshake=batch["handshake"][rows],
        proto=(key[4] >> _PROTO_SHIFT).astype(np.uint8),
    )
