"""The registry's data model: records, metadata and people, as plain values.

A :class:`Record` keeps every column IANA publishes for one registry row, plus
markers derived from its words (see :mod:`annotator.registry._markers`).
:class:`RegistryMeta` says what is known about a registry as a whole and how
loading it went; :class:`Person` is one row of its contact table.  The
:class:`~annotator.registry.Registry` that holds them and answers lookups is
built on top of these (:mod:`annotator.registry._registry`), as are the record
columns and the slot table, so this module depends on none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from annotator.registry import _markers

#: Transport names in code order: the code is the index (tcp=0, udp=1, sctp=2, dccp=3).
TRANSPORTS = ("tcp", "udp", "sctp", "dccp")

#: IANA's columns in its CSV order, under the names ``columns_available`` uses.
COLUMNS = (
    "service_name",
    "port_number",
    "transport_protocol",
    "description",
    "assignee",
    "contact",
    "registration_date",
    "modification_date",
    "reference",
    "service_code",
    "unauthorized_use",
    "assignment_notes",
)

_PORT_CLASSES = np.array(["system", "user", "dynamic"])


def port_class(ports: np.ndarray | int) -> np.ndarray:
    """RFC 6335 class of each port: ``"system"``, ``"user"`` or ``"dynamic"``."""
    p = np.asarray(ports, dtype=np.int64)
    return _PORT_CLASSES[(p >= 1024).astype(np.int8) + (p >= 49152)]


@dataclass(frozen=True, slots=True)
class Record:
    """One registry row: every IANA column, plus markers derived from its words.

    Text columns are ``""`` when absent, with whitespace runs folded to one
    space (IANA wraps its XML text at arbitrary points and pasted renderings
    re-flow it, so this is the form every loader agrees on).
    """

    service: str
    port_lo: int | None
    port_hi: int | None
    transport: str  # "tcp", "udp", "sctp", "dccp", or "" for every transport
    description: str = ""
    assignee: str = ""
    contact: str = ""
    registration_date: str = ""
    modification_date: str = ""
    reference: str = ""
    service_code: str = ""
    unauthorized_use: str = ""
    notes: str = ""
    status: str = "assigned"
    historic: bool = False
    deassigned: bool = False
    deassigned_date: str | None = None
    discouraged: bool = False
    widely_used: bool = False
    order: int = 0
    provenance: str = ""

    @classmethod
    def build(
        cls,
        service: str = "",
        port_lo: int | None = None,
        port_hi: int | None = None,
        transport: str = "",
        *,
        order: int = 0,
        provenance: str = "",
        normalized: bool = False,
        **columns: str,
    ) -> Record:
        """A record from its IANA columns, with status and markers derived from the text.

        Whitespace runs in the columns are folded to one space unless the
        caller says they already are (``normalized=True``, the XML loader).
        """
        # Any: the keys are whichever text columns the caller gave.
        text: dict[str, Any] = (
            columns if normalized else {k: " ".join(str(v).split()) for k, v in columns.items()}
        )
        service = service.strip()
        derived = _markers.derive(service, text.get("description", ""), text.get("notes", ""))
        return cls(
            service,
            port_lo,
            port_hi if port_hi is not None else port_lo,
            transport,
            order=order,
            provenance=provenance,
            **derived,
            **text,
        )

    @property
    def port(self) -> str:
        """The port as IANA writes it: ``"80"``, ``"6000-6063"`` or ``""``."""
        if self.port_lo is None:
            return ""
        if self.port_hi is None or self.port_hi == self.port_lo:
            return str(self.port_lo)
        return f"{self.port_lo}-{self.port_hi}"

    @property
    def is_range(self) -> bool:
        """True for a record that spans more than one port."""
        return self.port_lo is not None and self.port_hi not in (None, self.port_lo)

    @property
    def current(self) -> bool:
        """True for a live assignment: assigned, not historic, not de-assigned."""
        return self.status == "assigned" and not self.historic and not self.deassigned

    def key(self) -> tuple[str, str, str]:
        """(name, port, transport): how :func:`diff` pairs records across registries."""
        return (self.service.lower(), self.port, self.transport)

    def covers(self, port: int) -> bool:
        """True when ``port`` lies in this record's port or range."""
        return self.port_lo is not None and self.port_lo <= port <= (self.port_hi or self.port_lo)


@dataclass
class RegistryMeta:
    """What is known about the registry as a whole, and how loading it went."""

    title: str = ""
    updated: str = ""
    note: str = ""  # IANA's note, with its "assignment endorses nothing" caveat
    source: str = ""  # path, URL, or "bundled snapshot"
    format: str = ""  # "xml", "csv" or "text"
    columns_available: frozenset[str] = frozenset()
    skipped_rows: int = 0
    skipped_reasons: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count a row that could not be a record (the first 100 reasons are kept)."""
        self.skipped_rows += 1
        if len(self.skipped_reasons) < 100:
            self.skipped_reasons.append(reason)


@dataclass(frozen=True, slots=True)
class Person:
    """One row of the registry's people/contact table."""

    id: str
    name: str = ""
    org: str = ""
    uri: str = ""
    updated: str = ""
