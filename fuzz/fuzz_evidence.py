"""Coverage-guided fuzzing of the payload fingerprints: bytes -> evidence.identify.

The fingerprints (``annotator/evidence/``) are small pure-Python parsers of
the first payload bytes of each flow -- TLS, DNS, HTTP, SMB, QUIC and some
thirty more -- fed bytes an attacker chose.  The engine treats a parser that
raises IndexError, ValueError, struct.error or UnicodeError as "no match";
any other exception would stop the run, so it is a finding here, as is a
detail line longer than the engine's cap or a protocol name outside the
table of known ones.

Input layout (so seeds can be cut from real flows; see make_corpus.py)::

    byte 0      transport: even tcp, odd udp (x % 4 == 3: sctp)
    bytes 1-4   client port, server port (big-endian u16 each)
    bytes 5-6   length of the client-to-server part (big-endian u16)
    rest        client-to-server bytes, then server-to-client bytes

Run (see fuzz/README.md)::

    .venv/bin/python fuzz/fuzz_evidence.py fuzz/corpus/evidence -max_len=4096
"""

from __future__ import annotations

import struct
import sys

import atheris

# numpy and pandas are imported first so that only the project is instrumented.
import numpy  # noqa: F401
import pandas  # noqa: F401

with atheris.instrument_imports(include=["annotator"]):
    from annotator.evidence import PROTOCOLS, identify
    from annotator.evidence.engine import MAX_DETAIL
    from annotator.evidence.fingerprints import FINGERPRINTS  # noqa: F401  (every parser module)

TRANSPORTS = ("tcp", "udp", "tcp", "sctp")
HEADER = struct.Struct(">BHHH")


def split(data: bytes) -> tuple[str, int, int, bytes, bytes]:
    """Transport, client port, server port and the two directions of one input."""
    if len(data) < HEADER.size:
        return "tcp", 40000, 80, data, b""
    kind, client, server, n = HEADER.unpack_from(data)
    rest = data[HEADER.size :]
    return TRANSPORTS[kind % 4], client, server, rest[:n], rest[n:]


def test_one_input(data: bytes) -> None:
    """One fuzz case: fingerprint one flow's payload; nothing may escape."""
    transport, client, server, c2s, s2c = split(data)
    found = identify(c2s, s2c, transport=transport, client_port=client, server_port=server)
    assert found.protocol is None or found.protocol in PROTOCOLS, found
    assert found.detail is None or len(found.detail) <= MAX_DETAIL, found
    assert found.server_name is None or isinstance(found.server_name, str), found


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
