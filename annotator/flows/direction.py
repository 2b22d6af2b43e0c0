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

After the payload is fingerprinted, :func:`follow_payload` checks what the
port rules decided against what the first bytes show (``payload``): when the
side taken for the client sent what only servers send (a DNS response, a STUN
or WireGuard reply, a DHCP offer) or the side taken for the server sent what
only clients send, client and server are swapped.  A handshake is never
overruled, and a multicast or broadcast address never becomes the client (it
cannot send; a device announcing itself to a group answers nobody's request).

Then :func:`follow_known_servers` lets the capture speak for flows that only
the port classes, the port numbers or the first packet decided
(``known-server``): when their client's address and port are a server in
another flow that a handshake or the payload decided, and their server's are
not, the two are swapped.  A TCP connection picked up mid-stream then gets
the roles its sibling connections to the same server proved.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

import numpy as np
import pandas as pd

from annotator._arrays import member
from annotator.capture.columns import PROTO_DCCP, PROTO_SCTP, PROTO_TCP, PROTO_UDP

#: ``direction_basis`` values, strongest first: the order the rules are tried,
#: with the payload's check second (it may overrule all but the handshake) and
#: the capture's known servers after the registry.
BASES = ("handshake", "payload", "registry", "known-server", "port-class", "lower-port",
         "first-packet")  # fmt: skip

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

    apply(BASES.index("handshake"), hs_dir != 0, hs_dir == 1)
    if registry is not None and n:
        codes = _TRANSPORT_CODE[proto]
        a_assigned = np.asarray(registry.assigned_mask(a_port, codes), dtype=bool)
        b_assigned = np.asarray(registry.assigned_mask(b_port, codes), dtype=bool)
        apply(BASES.index("registry"), a_assigned != b_assigned, b_assigned)
    ca, cb = port_class(a_port), port_class(b_port)
    apply(BASES.index("port-class"), ca != cb, cb < ca)
    apply(BASES.index("lower-port"), a_port != b_port, b_port < a_port)
    apply(BASES.index("first-packet"), np.ones(n, dtype=bool), first_fwd.astype(bool))
    return client_is_a, basis


#: Column pairs that trade places when client and server are swapped.
_SIDES = (("client_ip", "server_ip"), ("client_port", "server_port"),
          ("packets_c2s", "packets_s2c"), ("bytes_c2s", "bytes_s2c"))  # fmt: skip


def is_group_address(address: object) -> bool:
    """A multicast address or the IPv4 limited broadcast: it receives, never sends."""
    if not isinstance(address, str):
        return False
    try:
        return ipaddress.ip_address(address).is_multicast or address == "255.255.255.255"
    except ValueError:
        return False


def follow_payload(flows: pd.DataFrame, roles_reversed: np.ndarray) -> pd.DataFrame:
    """Swap client and server where the payload shows them the other way round.

    ``roles_reversed`` (aligned with the rows) comes from the fingerprints
    (:attr:`annotator.evidence.Evidence.roles_reversed`).  A flow whose
    handshake decided keeps its roles, and so does one whose server is a
    multicast or broadcast address.  Swapped flows get the basis
    ``payload``; ``flows`` itself is not changed.
    """
    basis = flows["direction_basis"]
    swap = np.asarray(roles_reversed, dtype=bool) & (basis != "handshake").to_numpy()
    if swap.any():
        rows = np.flatnonzero(swap)
        servers = flows["server_ip"].to_numpy(dtype=object)[rows]
        swap[rows[[is_group_address(a) for a in servers]]] = False
    if not swap.any():
        return flows
    return _swap(flows, swap, "payload")


def follow_known_servers(flows: pd.DataFrame) -> pd.DataFrame:
    """Swap weakly decided flows whose client is a proven server of the capture.

    A proven server is the (transport, VLAN, address, port) of the server of a flow
    decided by its handshake or its payload.  A flow decided only by port
    classes, port numbers or its first packet, whose client is a proven
    server and whose server is not, is swapped and gets the basis
    ``known-server``.  ``flows`` itself is not changed.
    """
    basis = flows["direction_basis"]
    strong = basis.isin(["handshake", "payload"]).to_numpy()
    weak = basis.isin(["port-class", "lower-port", "first-packet"]).to_numpy()
    if not strong.any() or not weak.any():
        return flows
    # Narrow by port number first (integers, cheap) before matching whole
    # endpoints (addresses are strings): most flows drop out here.
    server_port = flows["server_port"].to_numpy()
    client_port = flows["client_port"].to_numpy()
    weak = weak & member(client_port, server_port[strong])
    if not weak.any():
        return flows
    # The proven servers either end of a candidate might be.
    strong = strong & member(server_port, np.concatenate([client_port[weak], server_port[weak]]))
    clients, servers, proven = _endpoint_keys(flows, weak, strong)
    swap = np.zeros(len(flows), dtype=bool)
    swap[np.flatnonzero(weak)] = member(clients, proven) & ~member(servers, proven)
    return _swap(flows, swap, "known-server") if swap.any() else flows


def _endpoint_keys(
    flows: pd.DataFrame, weak: np.ndarray, strong: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(transport, VLAN, address, port) as one integer each: the clients and
    servers of the ``weak`` rows and the servers of the ``strong`` rows."""
    client_ip, server_ip = flows["client_ip"], flows["server_ip"]
    # Addresses are compared as strings; factorizing them (Arrow-backed, in C)
    # numbers each distinct address once.
    codes, _ = pd.factorize(
        pd.concat([client_ip[weak], server_ip[weak], server_ip[strong]], ignore_index=True)
    )
    transport, _ = pd.factorize(flows["transport"].to_numpy(dtype=object))
    t_codes = np.concatenate([transport[weak], transport[weak], transport[strong]])
    # The VLAN is part of an endpoint, as of a flow's key (untagged: -1).
    vlan = (
        flows["vlan_id"].fillna(-1).to_numpy(dtype=np.int64)
        if "vlan_id" in flows
        else np.full(len(flows), -1, dtype=np.int64)
    )
    vlan_codes, _ = pd.factorize(np.concatenate([vlan[weak], vlan[weak], vlan[strong]]))
    ports = np.concatenate([flows["client_port"].to_numpy()[weak],
                            flows["server_port"].to_numpy()[weak],
                            flows["server_port"].to_numpy()[strong]]).astype(np.int64)  # fmt: skip
    keys = (
        (codes.astype(np.int64) << 32)
        | (vlan_codes.astype(np.int64) << 19)
        | (ports << 3)
        | t_codes.astype(np.int64)
    )
    n = int(weak.sum())
    return keys[:n], keys[n : 2 * n], keys[2 * n :]


def _swap(flows: pd.DataFrame, swap: np.ndarray, basis: str) -> pd.DataFrame:
    """A copy of ``flows`` with client and server exchanged where ``swap``."""
    out = flows.copy()
    rows = np.flatnonzero(swap)
    for left, right in _SIDES:
        i, j = out.columns.get_loc(left), out.columns.get_loc(right)
        a = out.iloc[rows, i].to_numpy(copy=True)
        b = out.iloc[rows, j].to_numpy(copy=True)
        out.iloc[rows, i], out.iloc[rows, j] = b, a
    codes = out["direction_basis"].cat.codes.to_numpy(copy=True)
    codes[swap] = BASES.index(basis)
    out["direction_basis"] = pd.Categorical.from_codes(codes, categories=BASES)
    return out
