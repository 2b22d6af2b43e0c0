"""Community ID v1 flow hashes, so flows can be matched with Zeek, Suricata or tshark.

The Community ID specification (version 1) hashes, with SHA-1, this byte
string: a 2-byte seed, the source and destination addresses (4 bytes for IPv4,
16 for IPv6), the IP protocol number, one zero pad byte, and the source and
destination ports (2 bytes each), all in network byte order.  The endpoints
are ordered so that the lower (address, port) pair comes first, which makes
the hash the same for both directions.  The result is ``"1:"`` followed by the
base64 of the digest.

The byte strings are laid out for all flows at once with numpy; SHA-1 itself
runs once per flow.
"""

from __future__ import annotations

import base64
import hashlib

import numpy as np


def _be_bytes(values: np.ndarray, dtype: str, width: int) -> np.ndarray:
    """Big-endian bytes of each value, as an (n, width) uint8 matrix."""
    return np.ascontiguousarray(values.astype(dtype)).view(np.uint8).reshape(-1, width)


def community_ids(
    ip_version: np.ndarray,
    a_hi: np.ndarray,
    a_lo: np.ndarray,
    b_hi: np.ndarray,
    b_lo: np.ndarray,
    proto: np.ndarray,
    a_port: np.ndarray,
    b_port: np.ndarray,
    seed: int = 0,
) -> np.ndarray:
    """Community ID v1 strings for flows whose endpoint A is the lower one.

    Addresses are 128-bit values in two uint64 halves; IPv4 addresses are
    IPv4-mapped and ``ip_version`` is 4 for them.  Returns an object array.
    """
    n = len(proto)
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    head = np.empty((n, 2), dtype=np.uint8)
    head[:] = np.frombuffer(int(seed).to_bytes(2, "big"), dtype=np.uint8)
    tail = np.concatenate(
        [
            proto.astype(np.uint8).reshape(-1, 1),
            np.zeros((n, 1), dtype=np.uint8),
            _be_bytes(a_port, ">u2", 2),
            _be_bytes(b_port, ">u2", 2),
        ],
        axis=1,
    )
    v4 = ip_version == 4
    for mask, addr in ((v4, "v4"), (~v4, "v6")):
        rows = np.flatnonzero(mask)
        if len(rows) == 0:
            continue
        if addr == "v4":
            a = _be_bytes(a_lo[rows] & np.uint64(0xFFFFFFFF), ">u4", 4)
            b = _be_bytes(b_lo[rows] & np.uint64(0xFFFFFFFF), ">u4", 4)
        else:
            a = np.hstack([_be_bytes(a_hi[rows], ">u8", 8), _be_bytes(a_lo[rows], ">u8", 8)])
            b = np.hstack([_be_bytes(b_hi[rows], ">u8", 8), _be_bytes(b_lo[rows], ">u8", 8)])
        blob = np.ascontiguousarray(np.concatenate([head[rows], a, b, tail[rows]], axis=1))
        width = blob.shape[1]
        raw = blob.tobytes()
        sha1, b64 = hashlib.sha1, base64.b64encode
        out[rows] = [
            "1:" + b64(sha1(raw[i : i + width]).digest()).decode("ascii")
            for i in range(0, len(raw), width)
        ]
    return out
