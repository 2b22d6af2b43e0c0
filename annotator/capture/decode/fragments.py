"""Ports for later IP fragments, remembered from their first fragment.

Only the first fragment of a datagram carries the transport header.  The
:class:`FragmentTable` maps (IP version, source, destination, identification,
protocol) of a first fragment to its transport and ports, so later fragments
of the same datagram are counted in the same flow.  Fragments are rare, so
this one step is a small Python loop over the fragments alone.

A later fragment takes the ports of a first fragment only within
:data:`REASSEMBLY_WINDOW_NS` of it, before or after: a receiving stack gives
up reassembling a datagram after at most a minute (Linux waits 30 s for IPv4
and 60 s for IPv6, RFC 8200 says 60 s), and after that the 16-bit
identification may be in use again for another datagram.  The rule itself
looks at the two timestamps only, not at where batches or files begin.

The table lives as long as the :class:`~annotator.capture.decode.Decoder`, so
fragments spread over several batches still meet.  Within one batch all first
fragments are entered before later fragments are looked up, so a later
fragment that arrives just ahead of its first fragment (senders do emit them
in reverse order) is still matched; across a batch boundary the decoder holds
such a fragment back for one batch (``Decoder(hold_orphans=True)``, as
``read_flows`` reads).

The table is bounded twice: entries two windows behind the capture's clock
are dropped (:meth:`FragmentTable.expire`), so its size follows the rate of
fragmented datagrams, not the length of the capture; and at most
``capacity`` entries are kept (oldest first out) whatever the rate.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

Key = tuple[int, int, int, int, int, int, int]

DEFAULT_CAPACITY = 65_536

#: How far apart in time a later fragment and its first fragment may be.
REASSEMBLY_WINDOW_NS = 60 * 1_000_000_000


def within_window(ts_ns: int, first_ts_ns: int) -> bool:
    """Whether a later fragment at ``ts_ns`` may belong to a first fragment at ``first_ts_ns``."""
    return abs(ts_ns - first_ts_ns) <= REASSEMBLY_WINDOW_NS


class FragmentTable:
    """A bounded map from fragment keys to (protocol, source port, destination port, time)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Key, tuple[int, int, int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def keys(cols: dict[str, np.ndarray], frag_id: np.ndarray, frag_nh: np.ndarray, idx) -> list:
        """The fragment keys of packets ``idx``."""
        return list(
            zip(
                cols["ip_version"][idx].tolist(),
                cols["src_hi"][idx].tolist(),
                cols["src_lo"][idx].tolist(),
                cols["dst_hi"][idx].tolist(),
                cols["dst_lo"][idx].tolist(),
                frag_id[idx].tolist(),
                frag_nh[idx].tolist(),
                strict=True,
            )
        )

    def remember(self, keys: list[Key], proto, sport, dport, ts_ns) -> None:
        """Enter first fragments with their transport, ports and timestamps (ns)."""
        values = zip(proto.tolist(), sport.tolist(), dport.tolist(), ts_ns.tolist(), strict=True)
        self.absorb(zip(keys, values, strict=True))

    def absorb(self, items: Iterable[tuple[Key, tuple[int, int, int, int]]]) -> None:
        """Enter ``(key, (proto, sport, dport, ts_ns))`` entries, oldest first, as :meth:`items`."""
        entries = self._entries
        for key, value in items:
            entries[key] = value
            entries.move_to_end(key)
        while len(entries) > self.capacity:
            entries.popitem(last=False)

    def get(self, key: Key) -> tuple[int, int, int, int] | None:
        """The entry of ``key``, or None."""
        return self._entries.get(key)

    def expire(self, now_ns: int) -> None:
        """Drop the oldest entries while they lie two windows or more before ``now_ns``.

        Entries are in the order they were entered, which in a capture is
        nearly time order; the margin of a second window leaves captures whose
        timestamps wander back a little matching as they would otherwise.
        """
        entries = self._entries
        horizon = now_ns - 2 * REASSEMBLY_WINDOW_NS
        while entries and next(iter(entries.values()))[3] < horizon:
            entries.popitem(last=False)

    def items(self) -> list[tuple[Key, tuple[int, int, int, int]]]:
        """Every entry, oldest first."""
        return list(self._entries.items())

    def look_up(
        self, keys: list[Key], ts_ns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(found, proto, sport, dport) for later fragments at times ``ts_ns``."""
        n = len(keys)
        found = np.zeros(n, dtype=bool)
        values = np.zeros((n, 3), dtype=np.int64)
        entries = self._entries
        for i, (key, ts) in enumerate(zip(keys, ts_ns.tolist(), strict=True)):
            hit = entries.get(key)
            if hit is not None and within_window(ts, hit[3]):
                found[i] = True
                values[i] = hit[:3]
        return found, values[:, 0], values[:, 1], values[:, 2]
