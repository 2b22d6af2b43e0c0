"""The classic pcap format (libpcap), in its four variants plus the modified one.

A pcap file is a 24-byte file header followed by records, each a 16-byte
record header and the captured bytes::

    file header   magic u32 | version major u16 | minor u16 | thiszone i32 |
                  sigfigs u32 | snaplen u32 | linktype u32
    record header ts_sec u32 | ts_frac u32 | caplen u32 | wire_len u32

The magic number, read in either byte order, gives the byte order of every
later field and the unit of ``ts_frac``: 0xa1b2c3d4 microseconds, 0xa1b23c4d
nanoseconds.  0xa1b2cd34 is the "modified" pcap of Alexey Kuznetsov's patched
libpcap, whose record headers carry 8 more bytes (interface index, protocol,
packet type, padding) that are skipped here; its fractions are microseconds.

The upper bits of ``linktype`` may carry the FCS length of the frames (bits
26-31); the link type itself is the lower 16 bits.  ``thiszone`` is always 0
in practice and ignored, as libpcap does.

A record longer than :data:`MAX_RECORD` (256 MiB), or longer than both the
file's snap length (when it states one) and :data:`SNAPLEN_SLACK` (256 KiB),
cannot be genuine: reading stops there with a partial result, keeping the
records before it.  Records a little over the snap length are accepted, as
libpcap and tshark accept them: writers that patch the snap length after the
fact leave such files behind (tcpdump's own test captures have dozens), and
refusing them would lose real packets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from annotator.capture.formats.pywalk import ST_NEED, ST_TOO_BIG
from annotator.capture.linktypes import link_type_name

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
MAGIC_MODIFIED = 0xA1B2CD34
FILE_HEADER_LEN = 24
MAX_RECORD = 256 * 1024 * 1024  # no real frame is larger; a bigger length is a lie
SNAPLEN_SLACK = 256 * 1024  # records up to this size pass whatever the snaplen says

# Leading 4 bytes of a pcap file -> (big endian, nanosecond fractions, record header length).
PCAP_MAGICS: dict[bytes, tuple[bool, bool, int]] = {}
_VARIANTS = ((MAGIC_USEC, False, 16), (MAGIC_NSEC, True, 16), (MAGIC_MODIFIED, False, 24))
for _magic, _nano, _hdr in _VARIANTS:
    PCAP_MAGICS[struct.pack("<I", _magic)] = (False, _nano, _hdr)
    PCAP_MAGICS[struct.pack(">I", _magic)] = (True, _nano, _hdr)


@dataclass
class PcapHeader:
    """What the 24-byte file header says."""

    big: bool
    nano: bool
    record_header_len: int
    version: tuple[int, int]
    snaplen: int
    link_type: int
    fcs_bits: int  # the FCS-length information from the upper linktype bits

    @property
    def max_caplen(self) -> int:
        """The largest captured length a genuine record can have."""
        if not self.snaplen:
            return MAX_RECORD
        return min(max(self.snaplen, SNAPLEN_SLACK), MAX_RECORD)

    @property
    def link_type_name(self) -> str:
        return link_type_name(self.link_type)


def parse_header(head: bytes) -> PcapHeader:
    """Decode the file header; ``head`` starts with a known pcap magic and has 24 bytes."""
    big, nano, hdr_len = PCAP_MAGICS[bytes(head[:4])]
    order = ">" if big else "<"
    _magic, major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack_from(
        order + "IHHiIII", head
    )
    return PcapHeader(
        big=big,
        nano=nano,
        record_header_len=hdr_len,
        version=(major, minor),
        snaplen=snaplen,
        link_type=linktype & 0xFFFF,
        fcs_bits=linktype >> 26,
    )


class PcapWalker:
    """Walks the records of one pcap stream into preallocated column arrays."""

    format = "pcap"

    def __init__(self, header: PcapHeader) -> None:
        self.header = header
        self.link_types = [header.link_type_name]

    def new_arrays(self, n: int) -> dict[str, np.ndarray]:
        return {
            "off": np.empty(n, np.int64),
            "cap": np.empty(n, np.uint32),
            "wire": np.empty(n, np.uint32),
            "sec": np.empty(n, np.uint32),
            "frac": np.empty(n, np.uint32),
        }

    def walk(
        self, kernels: ModuleType, buf: np.ndarray, pos: int, end: int,
        out: dict[str, np.ndarray], n: int, max_n: int,
    ) -> tuple[int, int, int, int]:  # fmt: skip
        """One walk step; returns ``(n, pos, status, detail)`` like the kernels."""
        h = self.header
        return kernels.walk_pcap(
            buf, pos, end, h.big, h.record_header_len, h.max_caplen,
            out["off"], out["cap"], out["wire"], out["sec"], out["frac"], n, max_n,
        )  # fmt: skip

    def columns(self, out: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """(ts_ns, link_type) of the first ``n`` walked records, vectorised."""
        ts = out["sec"][:n].astype(np.int64) * 1_000_000_000
        frac = out["frac"][:n].astype(np.int64)
        ts += frac if self.header.nano else frac * 1000
        return ts, np.full(n, self.header.link_type, np.uint16)

    def stop_reason(self, status: int, detail: int, left: int, at_eof: bool) -> str:
        """The partial-read reason for a walk that cannot continue."""
        hdr = self.header.record_header_len
        if status == ST_TOO_BIG:
            snap = self.header.snaplen
            if snap and detail <= MAX_RECORD:
                return f"record length {detail} exceeds snaplen {snap} (and the 256 KiB slack)"
            return f"record length {detail} exceeds the 256 MiB limit"
        if status == ST_NEED:
            return f"truncated record ({left} of {detail} bytes)"
        return f"truncated record header ({left} of {hdr} bytes)"
