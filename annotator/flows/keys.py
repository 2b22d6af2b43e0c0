"""Canonical bidirectional flow keys for packet columns, and a 64-bit hash of them.

A flow is keyed by transport, its two endpoints and the VLAN id.  The two
endpoints are put in a canonical order -- the lower (address, port) pair is
endpoint ``A``, the other ``B`` -- so both directions of a conversation share
one key.  The order compares addresses as 128-bit numbers (IPv4 addresses are
IPv4-mapped, so they compare like their four bytes) and then ports, which is
also the order Community ID v1 uses.

Grouping sorts packets by a 64-bit hash of the key rather than by eight key
columns (one radix-friendly sort instead of a lexsort); every grouping and
every lookup checks the full key, so a hash collision never merges two
conversations nor splits one.  The hash is keyed with a secret of the
process, so a hostile capture cannot line many conversations up on one hash.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def _mix_into(x: np.ndarray, spare: np.ndarray) -> None:
    """The 64-bit finaliser of MurmurHash3, in place (``spare``: scratch of x's shape).

    A bijection that spreads every input bit over the word.
    """
    for multiplier in (_M1, _M2):
        np.right_shift(x, _S33, out=spare)
        x ^= spare
        x *= multiplier
    np.right_shift(x, _S33, out=spare)
    x ^= spare


@dataclass
class Keys:
    """Canonical key columns of a run of packets (or flows), one element each.

    ``fwd`` is True where the packet was sent by endpoint A (the lower one).
    ``small`` packs transport, VLAN and both ports in one word (56 bits used).
    """

    a_hi: np.ndarray
    a_lo: np.ndarray
    b_hi: np.ndarray
    b_lo: np.ndarray
    a_port: np.ndarray
    b_port: np.ndarray
    small: np.ndarray
    fwd: np.ndarray
    h: np.ndarray


def pack_small(
    proto: np.ndarray, vlan: np.ndarray, a_port: np.ndarray, b_port: np.ndarray
) -> np.ndarray:
    """Transport, VLAN id (+1, so untagged is 0) and both ports in one uint64."""
    v = (vlan.astype(np.int64) + 1).astype(np.uint64) & np.uint64(0xFFFF)
    return (
        (proto.astype(np.uint64) << np.uint64(48))
        | (v << np.uint64(32))
        | (a_port.astype(np.uint64) << np.uint64(16))
        | b_port.astype(np.uint64)
    )


def unpack_small(small: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IP protocol, port A and port B from :func:`pack_small`'s word."""
    proto = (small >> np.uint64(48)).astype(np.uint8)
    a_port = ((small >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.uint16)
    b_port = (small & np.uint64(0xFFFF)).astype(np.uint16)
    return proto, a_port, b_port


#: This process's secret words for the flow hash, one per key column (see
#: :func:`hash_key`).  Forked worker processes inherit them.
_SECRET = np.frombuffer(os.urandom(8 * 5), dtype=np.uint64).copy()


def hash_key(
    a_hi: np.ndarray, a_lo: np.ndarray, b_hi: np.ndarray, b_lo: np.ndarray, small: np.ndarray
) -> np.ndarray:
    """64-bit hash of canonical key columns (arrays of equal length), keyed by a secret.

    The columns are folded in one at a time: each is XORed, with a secret
    word of its own, into the running value, which then goes through the
    MurmurHash3 finaliser (a bijection).  Two keys differing in one column
    never collide, and for keys differing in several the difference that
    would cancel depends on the secret, so a capture cannot be crafted to put
    many conversations on one hash.  (Multiplying the columns by public
    constants and summing, as before, let anyone solve for such keys: a
    conversation whose two IPv6 interface identifiers differ from another's
    in their top bit collided with it whatever the constants.)  Grouping
    still checks the full key, so a chance collision never merges two
    conversations.

    The secret is drawn per process, so hashes compare only within one
    process (and the workers it forks): the set merger hashes again the keys
    of parts read elsewhere.
    """
    h = small ^ _SECRET[0]
    spare = np.empty_like(h)
    _mix_into(h, spare)
    for word, column in zip(_SECRET[1:], (a_lo, b_lo, a_hi, b_hi), strict=True):
        h ^= column
        h ^= word
        _mix_into(h, spare)
    return h


def canonical_keys(
    src_hi: np.ndarray,
    src_lo: np.ndarray,
    dst_hi: np.ndarray,
    dst_lo: np.ndarray,
    sport: np.ndarray,
    dport: np.ndarray,
    proto: np.ndarray,
    vlan: np.ndarray,
) -> Keys:
    """Order each packet's endpoints canonically and hash the resulting key."""
    lo_first = (src_lo < dst_lo) | ((src_lo == dst_lo) & (sport <= dport))
    fwd = (src_hi < dst_hi) | ((src_hi == dst_hi) & lo_first)
    a_hi = np.where(fwd, src_hi, dst_hi)
    a_lo = np.where(fwd, src_lo, dst_lo)
    b_hi = np.where(fwd, dst_hi, src_hi)
    b_lo = np.where(fwd, dst_lo, src_lo)
    a_port = np.where(fwd, sport, dport)
    b_port = np.where(fwd, dport, sport)
    small = pack_small(proto, vlan, a_port, b_port)
    h = hash_key(a_hi, a_lo, b_hi, b_lo, small)
    return Keys(a_hi, a_lo, b_hi, b_lo, a_port, b_port, small, fwd, h)


def same_key(k1: tuple[np.ndarray, ...], k2: tuple[np.ndarray, ...]) -> np.ndarray:
    """Elementwise equality of two key tuples (a_hi, a_lo, b_hi, b_lo, small)."""
    eq = k1[0] == k2[0]
    for x, y in zip(k1[1:], k2[1:], strict=True):
        eq &= x == y
    return eq


def find_keys(
    sorted_h: np.ndarray,
    keys_at: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    h: np.ndarray,
    key: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """Where each (hash, key) sits in an index sorted by hash, and whether it is there.

    ``keys_at(positions)`` gives the full keys of index entries.  Entries
    with equal hashes sit side by side; each lookup walks its run until the
    key matches, so a key that shares its hash with another entry is still
    found.  Returns the positions (meaningful where found) and the found mask.
    """
    n = len(sorted_h)
    where = np.zeros(len(h), dtype=np.intp)
    found = np.zeros(len(h), dtype=bool)
    if n == 0 or len(h) == 0:
        return where, found
    pos = np.searchsorted(sorted_h, h).astype(np.intp)
    pending = np.arange(len(h))
    while len(pending):
        p = pos[pending]
        inside = p < n
        p = np.minimum(p, n - 1)
        same_h = inside & (sorted_h[p] == h[pending])
        hit = same_h & same_key(keys_at(p), tuple(k[pending] for k in key))
        found[pending[hit]] = True
        where[pending[hit]] = p[hit]
        again = same_h & ~hit  # the same hash, another key: try the next entry
        pending = pending[again]
        pos[pending] = p[again] + 1
    return where, found
