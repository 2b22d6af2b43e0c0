"""The flags a flow can carry, declared as data.

Each flag has an id (stable: it appears in JSON, CSV and ``--fail-on``
pipelines), a severity, a short title, a one-line explanation in plain words,
and the MITRE ATT&CK technique it points to where one fits.  The rules that
raise them live in :mod:`annotator.triage.rules`; reports draw their glossary
from :data:`FLAGS`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Severities from most to least urgent.  ``--fail-on`` compares by this order.
SEVERITIES: tuple[str, ...] = ("high", "medium", "low", "info")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

ATTACK_URL = "https://attack.mitre.org/techniques/{}/"

#: The project's own caveat, heading every report.
CAVEAT = (
    "A registered port is not a verdict on the traffic. The service label below "
    "says only what the port is registered for; it does not say the traffic is "
    "benign, nor that it actually speaks that service. Where the payload could be "
    "fingerprinted, the label is checked against it; everything else is a "
    "registration, not an observation."
)


@dataclass(frozen=True)
class Flag:
    """One kind of finding."""

    id: str
    severity: str
    title: str
    explanation: str
    attack: str | None = None

    @property
    def attack_url(self) -> str | None:
        """Link to the ATT&CK technique page, when the flag names one."""
        return ATTACK_URL.format(self.attack.replace(".", "/")) if self.attack else None


_FLAG_LIST = (
    Flag(
        "protocol-mismatch",
        "high",
        "Protocol does not match the registered service",
        "The port is registered to one service, but the traffic speaks a different protocol.",
        "T1571",
    ),
    Flag(
        "port-zero",
        "high",
        "Traffic on port 0",
        "Port 0 is reserved and never used by legitimate services; it marks scanning, "
        "fingerprinting or malformed traffic.",
    ),
    Flag(
        "known-protocol-unregistered-port",
        "medium",
        "Recognised protocol on a port with no assignment",
        "The traffic speaks a known protocol on a system or user port that has no "
        "assignment for this transport.",
        "T1571",
    ),
    Flag(
        "unauthorized-use-reported",
        "medium",
        "Port with reported unauthorized use",
        "The IANA registry records known unauthorized use of this port.",
    ),
    Flag(
        "reserved-port",
        "medium",
        "Traffic on a reserved port",
        "The registry marks this port as reserved; no service should be running on it.",
    ),
    Flag(
        "cleartext-authentication",
        "medium",
        "Credentials sent in clear text",
        "Credentials were seen unencrypted on the wire (they are never printed in reports).",
        "T1040",
    ),
    Flag(
        "unassigned-port",
        "low",
        "Server on an unassigned port",
        "The server port is in the system or user range and has no assignment in the registry.",
    ),
    Flag(
        "deassigned-or-historic",
        "low",
        "Port whose assignment was withdrawn",
        "The only registrations for this port and transport are de-assigned or historic.",
    ),
    Flag(
        "transport-not-registered",
        "low",
        "Port registered for another transport only",
        "The port is assigned, but not for the transport this flow uses.",
    ),
    Flag(
        "dynamic-port-server",
        "info",
        "Server on a dynamic port",
        "The server listens in the dynamic/private range (49152-65535), where nothing is assigned "
        "(traffic to a multicast or broadcast group there is not counted: no one serves it).",
    ),
    Flag(
        "port-only-label",
        "info",
        "Label from port registration only",
        "The service label comes from the port registration alone; nothing in the "
        "traffic confirms it.",
    ),
)

#: Every flag by id, in severity order.
FLAGS: dict[str, Flag] = {flag.id: flag for flag in _FLAG_LIST}


def highest_severity(flag_ids: list[str] | tuple[str, ...]) -> str | None:
    """The most urgent severity among ``flag_ids``, or None when there are none."""
    if not flag_ids:
        return None
    return min((FLAGS[f].severity for f in flag_ids), key=SEVERITY_RANK.__getitem__)
