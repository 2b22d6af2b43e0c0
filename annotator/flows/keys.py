"""Canonical bidirectional flow keys for packet columns, and a 64-bit hash of them.

A flow is keyed by transport, its two endpoints and the VLAN id.  The two
endpoints are put in a canonical order -- the lower (address, port) pair is
endpoint ``A``, the other ``B`` -- so both directions of a conversation share
one key.  The order compares addresses as 128-bit numbers (IPv4 addresses are
IPv4-mapped, so they compare like their four bytes) and then ports, which is
also the order Community ID v1 uses.

Grouping sorts packets by a 64-bit hash of the key rather than by eight key
columns (one radix-friendly sort instead of a lexsort); every grouping checks
the full key, so a hash collision never merges two conversations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def _mix(x: np.ndarray) -> np.ndarray:
    """The 64-bit finaliser of MurmurHash3: spreads every input bit over the word."""
    x = x ^ (x >> _S33)
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


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


_K = [np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                               0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD)]  # fmt: skip


def hash_key(
    a_hi: np.ndarray, a_lo: np.ndarray, b_hi: np.ndarray, b_lo: np.ndarray, small: np.ndarray
) -> np.ndarray:
    """64-bit hash of canonical key columns (arrays of equal length).

    Each column is multiplied by its own odd constant, the products summed
    and the sum finalised; grouping verifies full keys, so the hash only has
    to spread real keys well, not resist crafted collisions (a collision
    costs an exact regrouping of the batch, never a wrong flow).
    """
    h = small * _K[0]
    h += a_lo * _K[1]
    h += b_lo * _K[2]
    h += a_hi * _K[3]
    h += b_hi * _K[4]
    return _mix(h)


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
