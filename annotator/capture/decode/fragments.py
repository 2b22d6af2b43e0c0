"""Ports for later IP fragments, remembered from their first fragment.

Only the first fragment of a datagram carries the transport header.  The
:class:`FragmentTable` maps (IP version, source, destination, identification,
protocol) of a first fragment to its transport and ports, so later fragments
of the same datagram are counted in the same flow.  Fragments are rare, so
this one step is a small Python loop over the fragments alone.

The table is bounded (oldest entries go first) and lives as long as the
:class:`~annotator.capture.decode.Decoder`, so fragments spread over several
batches still meet.  Within one batch all first fragments are entered before
later fragments are looked up, so a later fragment that arrives just ahead of
its first fragment (senders do emit them in reverse order) is still matched;
across a batch boundary the decoder holds such a fragment back for one batch
(``Decoder(hold_orphans=True)``, as ``read_flows`` reads).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

Key = tuple[int, int, int, int, int, int, int]

DEFAULT_CAPACITY = 65_536


class FragmentTable:
    """A bounded map from fragment keys to (protocol, source port, destination port)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Key, tuple[int, int, int]] = OrderedDict()

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

    def remember(self, keys: list[Key], proto, sport, dport) -> None:
        """Enter first fragments with their transport and ports."""
        entries = self._entries
        for key, value in zip(
            keys, zip(proto.tolist(), sport.tolist(), dport.tolist(), strict=True), strict=True
        ):
            entries[key] = value
            entries.move_to_end(key)
        while len(entries) > self.capacity:
            entries.popitem(last=False)

    def items(self) -> list[tuple[Key, tuple[int, int, int]]]:
        """Every entry, oldest first."""
        return list(self._entries.items())

    def look_up(self, keys: list[Key]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(found, proto, sport, dport) for later fragments."""
        n = len(keys)
        found = np.zeros(n, dtype=bool)
        values = np.zeros((n, 3), dtype=np.int64)
        entries = self._entries
        for i, key in enumerate(keys):
            hit = entries.get(key)
            if hit is not None:
                found[i] = True
                values[i] = hit
        return found, values[:, 0], values[:, 1], values[:, 2]
