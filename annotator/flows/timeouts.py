"""Idle timeouts: when a silent conversation counts as over.

A key that stays silent for longer than its transport's idle timeout starts
a new flow with its next packet, and a live flow silent that long is
finished.  The timeouts are given per transport, in seconds, by the user;
the aggregator looks them up per packet, so they become one table of
nanoseconds indexed by IP protocol number.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from annotator.capture.columns import PROTO_DCCP, PROTO_SCTP, PROTO_TCP, PROTO_UDP
from annotator.errors import UsageError

#: Idle timeouts in seconds, per transport.  Connection-oriented transports
#: (TCP, SCTP, DCCP) get an hour: their flows also end on FIN/RST followed by a
#: new SYN, so the timeout only matters for conversations whose end was not
#: captured, and an hour keeps a quiet SSH or database session in one row.
#: Datagram transports (UDP) get 120 s, NFStream's idle default, between Zeek's
#: 60 s and the 180 s most NAT devices keep a UDP mapping.
DEFAULT_IDLE_TIMEOUT: dict[str, float] = {
    "tcp": 3600.0,
    "udp": 120.0,
    "sctp": 3600.0,
    "dccp": 3600.0,
}

_PROTO_BY_NAME = {"tcp": PROTO_TCP, "udp": PROTO_UDP, "sctp": PROTO_SCTP, "dccp": PROTO_DCCP}


def timeout_table(idle_timeout: float | Mapping[str, float] | None) -> np.ndarray:
    """Idle timeout in nanoseconds for each IP protocol number (256 entries).

    ``idle_timeout`` is one number of seconds for every transport, a mapping
    naming some transports (the others keep their default), or None for the
    defaults in :data:`DEFAULT_IDLE_TIMEOUT`.
    """
    chosen = dict(DEFAULT_IDLE_TIMEOUT)
    if isinstance(idle_timeout, Mapping):
        for name, value in idle_timeout.items():
            if name not in chosen:
                raise UsageError(
                    f"idle_timeout: unknown transport {name!r} (use tcp, udp, sctp or dccp)"
                )
            chosen[name] = value
    elif idle_timeout is not None:
        chosen = dict.fromkeys(chosen, idle_timeout)
    ns = {}
    for name, seconds in chosen.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise UsageError(f"idle_timeout for {name} must be a positive number of seconds")
        # Anything beyond ~73 years (infinity included) means "never split".
        ns[name] = int(min(seconds, 2.3e9) * 1e9)
    table = np.full(256, ns["udp"], dtype=np.int64)
    for name, value in ns.items():
        table[_PROTO_BY_NAME[name]] = value
    return table
