"""Which endpoint of a flow is the client and which the server.

The rules are tried in a fixed order; the first that decides names the flow's
``direction_basis``:

``handshake``
    The flow's first handshake packet decides: the sender of a TCP SYN without
    ACK, an SCTP INIT or a DCCP Request is the client; the sender of a TCP
    SYN+ACK, SCTP INIT ACK or DCCP Response is the server.
``registry``
    Exactly one of the two ports has a current assignment in the port registry
    for the flow's transport: that port is the server's.  Services listen on
    assigned ports; clients use whatever the operating system hands out.
``port-class``
    The two ports are in different IANA port classes, ordered system
    (0-1023) < user (1024-49151) < dynamic (49152-65535): the port in the
    lower class is the server's, because ephemeral ports come from the upper
    ranges.
``lower-port``
    The ports differ: the lower one is the server's (same reasoning, within one
    class).
``first-packet``
    Nothing else decides (same port both sides): the sender of the flow's first
    packet is the client, since clients speak first in most protocols.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from annotator.capture.columns import PROTO_DCCP, PROTO_SCTP, PROTO_TCP, PROTO_UDP

#: ``direction_basis`` values, in the order the rules are tried.
BASES = ("handshake", "registry", "port-class", "lower-port", "first-packet")

#: Registry transport codes by IP protocol number (tcp=0, udp=1, sctp=2, dccp=3).
_TRANSPORT_CODE = np.zeros(256, dtype=np.uint8)
_TRANSPORT_CODE[[PROTO_TCP, PROTO_UDP, PROTO_SCTP, PROTO_DCCP]] = [0, 1, 2, 3]


class AssignedPorts(Protocol):
    """What direction needs from a registry: which ports are assigned."""

    def assigned_mask(self, ports: np.ndarray, transport_codes: np.ndarray) -> np.ndarray: ...


def port_class(ports: np.ndarray) -> np.ndarray:
    """IANA port class: 0 system (0-1023), 1 user (1024-49151), 2 dynamic."""
    p = ports.astype(np.int32)
    return (p >= 1024).astype(np.int8) + (p >= 49152).astype(np.int8)


def decide(
    proto: np.ndarray,
    a_port: np.ndarray,
    b_port: np.ndarray,
    hs_dir: np.ndarray,
    first_fwd: np.ndarray,
    registry: AssignedPorts | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decide client and server for flows in canonical orientation.

    ``hs_dir`` is 1 when endpoint A sent the opening handshake (or B the
    acceptance), 2 for the reverse, 0 without handshake; ``first_fwd`` is True
    when A sent the first packet.  Returns ``client_is_a`` (bool) and the
    index of the deciding rule in :data:`BASES` (int8).
    """
    n = len(proto)
    client_is_a = np.zeros(n, dtype=bool)
    basis = np.full(n, -1, dtype=np.int8)
    undecided = np.ones(n, dtype=bool)

    def apply(rule: int, decides: np.ndarray, a_is_client: np.ndarray) -> None:
        hit = undecided & decides
        client_is_a[hit] = a_is_client[hit]
        basis[hit] = rule
        undecided[hit] = False

    apply(0, hs_dir != 0, hs_dir == 1)
    if registry is not None and n:
        codes = _TRANSPORT_CODE[proto]
        a_assigned = np.asarray(registry.assigned_mask(a_port, codes), dtype=bool)
        b_assigned = np.asarray(registry.assigned_mask(b_port, codes), dtype=bool)
        apply(1, a_assigned != b_assigned, b_assigned)
    ca, cb = port_class(a_port), port_class(b_port)
    apply(2, ca != cb, cb < ca)
    apply(3, a_port != b_port, b_port < a_port)
    apply(4, np.ones(n, dtype=bool), first_fwd.astype(bool))
    return client_is_a, basis
