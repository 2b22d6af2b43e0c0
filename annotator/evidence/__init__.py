"""Evidence stage: payload fingerprints naming what protocol the bytes really speak.

The public face is small::

    from annotator.evidence import identify, fingerprint_flows
    identify(c2s, s2c, transport="tcp", client_port=50123, server_port=443)
    # Evidence(protocol='tls', server_name='example.com',
    #          detail='TLS 1.3 ClientHello, SNI example.com, ALPN h2', ...)

Each protocol (or family) has its own small module of pure functions; the
order they are tried in is the single table in :mod:`annotator.evidence.fingerprints`.
:data:`CONSISTENT_SERVICES` says which IANA service names each protocol is
consistent with, and :func:`is_consistent` applies it.
"""

from annotator.evidence.base import Evidence
from annotator.evidence.consistency import CONSISTENT_SERVICES, NAME_PATTERNS, is_consistent
from annotator.evidence.engine import (
    evidence_frame,
    fingerprint_flows,
    fingerprint_payloads,
    identify,
)
from annotator.evidence.fingerprints import FINGERPRINTS, PROTOCOLS

__all__ = [
    "CONSISTENT_SERVICES",
    "FINGERPRINTS",
    "NAME_PATTERNS",
    "PROTOCOLS",
    "Evidence",
    "evidence_frame",
    "fingerprint_flows",
    "fingerprint_payloads",
    "identify",
    "is_consistent",
]
