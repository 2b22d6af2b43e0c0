"""Packet columns: the contract between the capture stage and the flow stage.

The capture stage reads a file in chunks and hands the flow stage one
:class:`PacketBatch` per chunk: a set of equally long numpy arrays, one element
per packet, plus the raw bytes the payload offsets point into.  No Python object
is made per packet.

Every packet of the file appears in exactly one batch, with ``kind`` saying
where it is accounted:

* ``KIND_FLOW`` (0): a TCP, UDP, SCTP or DCCP packet whose ports are known
  (non-first IP fragments carry the ports of their first fragment);
* ``KIND_OTHER`` (1): decodable traffic of another protocol (ICMP, ARP, GRE,
  ...); ``label`` indexes :attr:`PacketBatch.labels` for its name;
* ``KIND_UNDECODABLE`` (2): a packet that could not be decoded; ``label``
  indexes :attr:`PacketBatch.labels` for the reason.

IP addresses are 128-bit values split in two ``uint64`` halves; IPv4 addresses
are stored IPv4-mapped (``::ffff:a.b.c.d``) and ``ip_version`` tells them apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KIND_FLOW = 0
KIND_OTHER = 1
KIND_UNDECODABLE = 2

# IP protocol numbers of the four transports the port registry covers.
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_DCCP = 33
PROTO_SCTP = 132
TRANSPORT_BY_PROTO = {PROTO_TCP: "tcp", PROTO_UDP: "udp", PROTO_SCTP: "sctp", PROTO_DCCP: "dccp"}

# ``handshake`` bits: what a packet says about who opened the conversation.
HS_OPEN = 1  # TCP SYN without ACK, SCTP INIT, DCCP Request: the sender is the client
HS_ACCEPT = 2  # TCP SYN+ACK, SCTP INIT ACK, DCCP Response: the sender is the server

# TCP flag bits as on the wire.
TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10
TCP_URG = 0x20
TCP_ECE = 0x40
TCP_CWR = 0x80

#: dtype of each per-packet column, in one place so readers and tests agree.
COLUMN_DTYPES: dict[str, np.dtype] = {
    "frame": np.dtype(np.int64),  # 1-based frame number within the capture file
    "ts_ns": np.dtype(np.int64),  # nanoseconds since the Unix epoch, UTC
    "wire_len": np.dtype(np.uint32),  # original length on the wire
    "cap_len": np.dtype(np.uint32),  # bytes captured
    "kind": np.dtype(np.uint8),  # KIND_FLOW / KIND_OTHER / KIND_UNDECODABLE
    "label": np.dtype(np.uint16),  # index into PacketBatch.labels (kinds 1 and 2)
    "ip_version": np.dtype(np.uint8),  # 4, 6, or 0 when not IP
    "proto": np.dtype(np.uint8),  # IP protocol number of the transport
    "src_hi": np.dtype(np.uint64),
    "src_lo": np.dtype(np.uint64),
    "dst_hi": np.dtype(np.uint64),
    "dst_lo": np.dtype(np.uint64),
    "sport": np.dtype(np.uint16),
    "dport": np.dtype(np.uint16),
    "tcp_flags": np.dtype(np.uint8),  # TCP flags byte; 0 for other transports
    "handshake": np.dtype(np.uint8),  # HS_OPEN / HS_ACCEPT bits
    "vlan": np.dtype(np.int32),  # outermost 802.1Q/802.1ad VLAN id, -1 when untagged
    "payload_off": np.dtype(np.int64),  # offset of the transport payload in ``data``
    "payload_len": np.dtype(np.int32),  # captured transport payload bytes at that offset
}


@dataclass
class PacketBatch:
    """Columns for a run of consecutive packets of one capture file.

    ``data`` holds the raw bytes the ``payload_off`` column points into (the
    flow stage copies out the first payload bytes of each flow).  ``labels`` is
    the vocabulary of other-traffic names and undecodable reasons that the
    ``label`` column indexes; it only grows during a read, so a label index
    means the same thing in every batch of one read.
    """

    columns: dict[str, np.ndarray]
    data: np.ndarray
    labels: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns["frame"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @classmethod
    def empty(cls, n: int = 0) -> PacketBatch:
        """A batch of ``n`` zeroed packets (tests and builders fill it in)."""
        cols = {name: np.zeros(n, dtype=dt) for name, dt in COLUMN_DTYPES.items()}
        cols["vlan"][:] = -1
        return cls(columns=cols, data=np.zeros(0, dtype=np.uint8), labels=[])


@dataclass
class RecordBatch:
    """Raw records of one chunk of a capture file, before any decoding.

    The file-format readers (pcap, pcapng) produce these; the decoder turns
    them into a :class:`PacketBatch`.  ``data`` is one contiguous byte buffer;
    record ``i`` occupies ``data[offset[i] : offset[i] + cap_len[i]]``.
    ``link_type`` is the DLT/LINKTYPE number of the interface that captured
    each record (pcapng files can mix link types).
    """

    data: np.ndarray  # uint8
    offset: np.ndarray  # int64
    cap_len: np.ndarray  # uint32
    wire_len: np.ndarray  # uint32
    ts_ns: np.ndarray  # int64, nanoseconds since the epoch, UTC
    link_type: np.ndarray  # uint16
    frame: np.ndarray  # int64, 1-based frame number in the file

    def __len__(self) -> int:
        return len(self.offset)
