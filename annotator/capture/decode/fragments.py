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

Which first fragment: the nearest one before the later fragment in capture
order, else the nearest one after it (senders do emit a datagram's fragments
last first).  The identification is only 16 bits, so one (source,
destination, identification, protocol) can stand for several datagrams in a
minute -- a busy sender wraps around, and overlapping-fragment attacks reuse
one on purpose -- and each later fragment then goes with the datagram it
follows.  :meth:`FragmentTable.match_batch` walks a batch's fragments in
capture order to do so.

The table lives as long as the :class:`~annotator.capture.decode.Decoder`, so
fragments spread over several batches still meet.  A later fragment with no
first fragment before it and none after it in its batch is held back for one
batch by the decoder (``Decoder(hold_orphans=True)``, as ``read_flows``
reads), and then takes the next batch's first such fragment
(:meth:`FragmentTable.look_up_following`).

The table is bounded twice: entries two windows behind the capture's clock
are dropped (:meth:`FragmentTable.expire`), so its size follows the rate of
fragmented datagrams, not the length of the capture; and at most
``capacity`` entries are kept (oldest first out) whatever the rate.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

#: A fragment key: IP version, next protocol, identification, source and
#: destination (as two 64-bit halves each), packed into bytes (see
#: :func:`fragment_keys`).
Key = bytes

_KEY_LAYOUT = np.dtype(
    [("version", "u1"), ("nh", "u1"), ("id", "<i8"),
     ("src_hi", "<u8"), ("src_lo", "<u8"), ("dst_hi", "<u8"), ("dst_lo", "<u8")]
)  # fmt: skip


def fragment_keys(
    ip_version: np.ndarray,
    src_hi: np.ndarray,
    src_lo: np.ndarray,
    dst_hi: np.ndarray,
    dst_lo: np.ndarray,
    frag_id: np.ndarray,
    frag_nh: np.ndarray,
) -> list[Key]:
    """The fragment keys of aligned columns, as bytes.

    Bytes, not tuples of integers: Python hashes bytes with a secret drawn
    when the interpreter starts, but integers and tuples of them with a
    public function, so the traffic in a capture could be chosen to put
    every key on one hash.  A dict then walks all of them at each insertion
    and lookup, and the table holds up to :data:`DEFAULT_CAPACITY` keys.
    """
    packed = np.empty(len(ip_version), dtype=_KEY_LAYOUT)
    packed["version"], packed["nh"], packed["id"] = ip_version, frag_nh, frag_id
    packed["src_hi"], packed["src_lo"] = src_hi, src_lo
    packed["dst_hi"], packed["dst_lo"] = dst_hi, dst_lo
    raw, width = packed.tobytes(), _KEY_LAYOUT.itemsize
    return [raw[at : at + width] for at in range(0, len(raw), width)]


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
        # Each key's first first fragment in the batch last matched (match_batch).
        self._earliest: dict[Key, tuple[int, int, int, int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def keys(
        cols: dict[str, np.ndarray],
        frag_id: np.ndarray,
        frag_nh: np.ndarray,
        idx: np.ndarray | slice,
    ) -> list[Key]:
        """The fragment keys of packets ``idx``."""
        return fragment_keys(
            cols["ip_version"][idx], cols["src_hi"][idx], cols["src_lo"][idx],
            cols["dst_hi"][idx], cols["dst_lo"][idx], frag_id[idx], frag_nh[idx],
        )  # fmt: skip

    def absorb(self, items: Iterable[tuple[Key, tuple[int, int, int, int]]]) -> None:
        """Enter ``(key, (proto, sport, dport, ts_ns))`` entries, oldest first, as :meth:`items`."""
        entries = self._entries
        for key, value in items:
            entries[key] = value
            entries.move_to_end(key)
        self._bound()

    def _bound(self) -> None:
        """Drop the oldest entries beyond ``capacity``."""
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

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

    def match_batch(
        self,
        first_keys: list[Key],
        first_values: list[tuple[int, int, int, int]],
        first_at: np.ndarray,
        later_keys: list[Key],
        later_ts: np.ndarray,
        later_at: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Enter one batch's first fragments and match its later ones, in capture order.

        ``first_at`` and ``later_at`` are the fragments' positions in the batch;
        ``first_values`` are (proto, sport, dport, ts_ns).  A later fragment
        takes the nearest first fragment before it (this batch or an earlier
        one) within the window, else the nearest after it in this batch.
        Returns ``found`` and the (proto, sport, dport) of each later fragment.
        """
        n = len(later_keys)
        found = np.zeros(n, dtype=bool)
        values = np.zeros((n, 3), dtype=np.int64)
        entries = self._entries
        earliest: dict[Key, tuple[int, int, int, int]] = {}
        self._earliest = earliest
        if not first_keys and not n:
            return found, values
        waiting: dict[Key, list[int]] = {}  # later fragments with nothing before them yet
        stamps = later_ts.tolist()
        count = len(first_keys)
        window = REASSEMBLY_WINDOW_NS  # within_window, inlined: this loop is per fragment
        for k in np.argsort(np.concatenate([first_at, later_at]), kind="stable").tolist():
            if k < count:
                key, value = first_keys[k], first_values[k]
                entries[key] = value
                entries.move_to_end(key)
                if key not in earliest:
                    earliest[key] = value
                if key in waiting:
                    for j in waiting.pop(key):
                        if abs(stamps[j] - value[3]) <= window:
                            found[j] = True
                            values[j] = value[:3]
                continue
            j = k - count
            key = later_keys[j]
            hit = entries.get(key)
            if hit is not None and abs(stamps[j] - hit[3]) <= window:
                found[j] = True
                values[j] = hit[:3]
            else:
                waiting.setdefault(key, []).append(j)
        self._bound()
        return found, values

    def earliest(self) -> dict[Key, tuple[int, int, int, int]]:
        """Each key's first first fragment in the batch last matched (a copy)."""
        return dict(self._earliest)

    def look_up_following(
        self, keys: list[Key], ts_ns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For later fragments held back from the batch before the last one matched,
        the first of that batch's first fragments with their key, within the window.

        Returns ``found`` and the (proto, sport, dport) of each.
        """
        n = len(keys)
        found = np.zeros(n, dtype=bool)
        values = np.zeros((n, 3), dtype=np.int64)
        for i, (key, ts) in enumerate(zip(keys, ts_ns.tolist(), strict=True)):
            hit = self._earliest.get(key)
            if hit is not None and within_window(ts, hit[3]):
                found[i] = True
                values[i] = hit[:3]
        return found, values
