"""Fingerprint-on-completion: turn a flow's first payload bytes into evidence early.

Holding every flow's first payload bytes (up to 2,048 + 512) until the end of
a read costs more memory than all the flow's other columns together.  When a
reader is given a *fingerprinter* (the evidence stage's
:func:`annotator.evidence.fingerprint_payloads`; the flow stage never imports
it), a flow's bytes are handed over as soon as they can no longer change --

* when the flow is finished (its key moved on, or it went idle), or
* while it is still live, once both directions hold their full limit and its
  client and server are settled (a handshake was seen, or it is UDP, whose
  direction follows from its ports and first packet alone) --

and the flow keeps only the index of the result (``ev``).  The bytes fed to
the fingerprinter are exactly those the end of the read would have fed it:
each side trimmed to its limit by the final client/server decision.  Flows
the merge of several files may still extend (``head`` and ``rejoin`` pieces,
see :mod:`annotator.flows.merge`) are fingerprinted the same way -- most are
never joined, and their result then stands, computed where the file was
read -- but keep their bytes, for the merge to fingerprint a joined flow anew.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from annotator.capture.columns import PROTO_UDP, TRANSPORT_BY_PROTO
from annotator.flows.direction import AssignedPorts, decide
from annotator.flows.flowcols import Flows
from annotator.flows.keys import unpack_small
from annotator.flows.table import format_addresses

#: ``fingerprint(transport, client_port, server_port, server_ip, c2s, s2c)``:
#: aligned arrays (transport and server_ip as text, c2s/s2c as ``bytes``) in,
#: one picklable result per row out (None where nothing was recognised).
Fingerprinter = Callable[
    [np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], Sequence[Any]
]

_TRANSPORT_NAME = np.array([TRANSPORT_BY_PROTO.get(p, "") for p in range(256)], dtype=object)


def client_sides(cols: Flows, idx: np.ndarray, registry: AssignedPorts | None) -> np.ndarray:
    """``client_is_a`` for rows ``idx``: the final client/server decision."""
    proto, a_port, b_port = unpack_small(cols["small"][idx])
    client_is_a, _ = decide(
        proto, a_port, b_port, cols["hs_dir"][idx], cols["first_fwd"][idx], registry
    )
    return client_is_a


def trimmed(data: np.ndarray, limit: int) -> np.ndarray:
    """Object array of ``bytes`` with each element cut to ``limit`` bytes."""
    out = data.copy()
    for i, value in enumerate(out):
        if len(value) > limit:
            out[i] = value[:limit]
    return out


def run_fingerprinter(
    fingerprint: Fingerprinter,
    cols: Flows,
    idx: np.ndarray,
    client_is_a: np.ndarray,
    limits: tuple[int, int],
) -> Sequence[Any]:
    """Call ``fingerprint`` on rows ``idx`` oriented by ``client_is_a``; return its results."""
    proto, a_port, b_port = unpack_small(cols["small"][idx])
    ca = client_is_a
    pay_ab, pay_ba = cols["pay_ab"][idx], cols["pay_ba"][idx]
    c2s = trimmed(np.where(ca, pay_ab, pay_ba), limits[0])
    s2c = trimmed(np.where(ca, pay_ba, pay_ab), limits[1])
    server_ip = format_addresses(
        np.where(ca, cols["b_hi"][idx], cols["a_hi"][idx]),
        np.where(ca, cols["b_lo"][idx], cols["a_lo"][idx]),
        cols["ip_version"][idx] == 4,
    )
    results = fingerprint(
        _TRANSPORT_NAME[proto],
        np.where(ca, a_port, b_port),
        np.where(ca, b_port, a_port),
        server_ip,
        c2s,
        s2c,
    )
    if len(results) != len(idx):
        raise RuntimeError("the fingerprinter returned a result count that does not match")
    return results


class EarlyEvidence:
    """Fingerprints flows once their payload is complete, then drops the bytes."""

    def __init__(
        self, fingerprint: Fingerprinter, registry: AssignedPorts | None, limits: tuple[int, int]
    ) -> None:
        self.fingerprint = fingerprint
        self.registry = registry
        self.limits = limits
        self.results: list[Any] = [None]  # index 0: nothing recognised

    def _settle(self, cols: Flows, idx: np.ndarray, client_is_a: np.ndarray) -> None:
        if len(idx) == 0:
            return
        found = run_fingerprinter(self.fingerprint, cols, idx, client_is_a, self.limits)
        # Flows where nothing was recognised (most of them, often) share
        # entry 0, so what they hold is an index, not a result each.
        slots = np.zeros(len(idx), dtype=np.int32)
        base = len(self.results)
        kept = [r for r in found if r is not None]
        hit = np.fromiter((r is not None for r in found), dtype=bool, count=len(found))
        slots[hit] = np.arange(base, base + len(kept))
        self.results.extend(kept)
        cols["ev"][idx] = slots
        # Pieces the merge may still join to another file's flow keep their
        # bytes: their result stands unless they are joined (then the merged
        # bytes are fingerprinted again).  Everything else lets them go.
        drop = idx[~(cols["head"][idx] | cols["rejoin"][idx])]
        cols["pay_ab"][drop] = b""
        cols["pay_ba"][drop] = b""

    def _candidates(self, cols: Flows, idx: np.ndarray) -> np.ndarray:
        """Rows of ``idx`` with payload, not yet fingerprinted."""
        has = (cols["pay_len_ab"][idx] > 0) | (cols["pay_len_ba"][idx] > 0)
        return idx[has & (cols["ev"][idx] < 0)]

    def settle_finished(self, rows: Flows) -> None:
        """Fingerprint finished flows (their direction and bytes are final)."""
        idx = self._candidates(rows, np.arange(len(rows["h"])))
        if len(idx):
            self._settle(rows, idx, client_sides(rows, idx, self.registry))

    def settle_live(self, cols: Flows, slots: np.ndarray) -> None:
        """Fingerprint the live flows among ``slots`` (distinct) whose payload is complete."""
        c2s, s2c = self.limits
        len_ab, len_ba = cols["pay_len_ab"][slots], cols["pay_len_ba"][slots]
        # Cheap test first: full needs one side at the larger limit and both
        # at the smaller, whichever side turns out to be the client.
        maybe = (np.minimum(len_ab, len_ba) >= min(c2s, s2c)) & (
            np.maximum(len_ab, len_ba) >= max(c2s, s2c)
        )
        idx = self._candidates(cols, slots[maybe])
        if len(idx) == 0:
            return
        proto = (cols["small"][idx] >> np.uint64(48)).astype(np.uint8)
        idx = idx[(cols["hs_dir"][idx] != 0) | (proto == PROTO_UDP)]
        if len(idx) == 0:
            return
        ca = client_sides(cols, idx, self.registry)
        len_ab, len_ba = cols["pay_len_ab"][idx], cols["pay_len_ba"][idx]
        full = (np.where(ca, len_ab, len_ba) >= c2s) & (np.where(ca, len_ba, len_ab) >= s2c)
        self._settle(cols, idx[full], ca[full])
