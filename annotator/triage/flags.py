"""Every flag a flow can carry, each defined once: facts, rule and sentence side by side.

A flag is a :class:`~annotator.triage.flag.Flag`: an id (stable: it appears
in JSON, CSV and ``--fail-on`` pipelines), a default severity, a short title,
a one-line explanation in plain words, the MITRE ATT&CK technique it points
to where one fits, the pure rule that raises it and the sentence its
findings show.  Each flag below is its rule, its sentence and its facts, in
that order; :data:`FLAGS` lists them in the order a flow lists its flags.
Adding a flag is adding one such block here and its name to :data:`FLAGS`.
Reports draw their glossary from :data:`FLAGS`.

How the port-status flags divide the work, so that each flow gets the one that
describes its port:

* a current assignment for this transport: no status flag;
* reserved (and no current assignment): ``reserved-port``;
* only de-assigned or historic records remain: ``deassigned-or-historic``
  (beside ``reserved-port`` when the port is also reserved, as 5030/tcp is);
* assigned for another transport only: ``transport-not-registered``;
* nothing at all, in the system or user range: ``unassigned-port``;
* the dynamic range: ``dynamic-port-server`` (never "unassigned").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from annotator.flows.direction import is_group_address
from annotator.triage.flag import (
    FindingFacts,
    Flag,
    equals,
    present,
    protocol_name,
    truthy,
    where,
)

__all__ = ["CAVEAT", "FLAGS"]

#: The project's own caveat, heading every report.
CAVEAT = (
    "A registered port is not a verdict on the traffic. The service label below "
    "says only what the port is registered for; it does not say the traffic is "
    "benign, nor that it actually speaks that service. Where the payload could be "
    "fingerprinted, the label is checked against it; everything else is a "
    "registration, not an observation."
)


def _status(flows: pd.DataFrame, value: str) -> np.ndarray:
    return equals(flows["registry_status"], value)


def _not_dynamic(flows: pd.DataFrame) -> np.ndarray:
    return ~equals(flows["port_class"], "dynamic")


# -- protocol-mismatch ------------------------------------------------------


def _protocol_mismatch(flows: pd.DataFrame) -> np.ndarray:
    """The traffic speaks a protocol the registered service does not."""
    return equals(flows["evidence"], "contradicts")


def _protocol_mismatch_detail(facts: FindingFacts) -> str:
    spoken = protocol_name(facts["observed_protocol"])
    return f"{where(facts)} is registered to {facts['service']}, but the traffic speaks {spoken}"


PROTOCOL_MISMATCH = Flag(
    id="protocol-mismatch",
    severity="high",
    title="Protocol does not match the registered service",
    explanation="The port is registered to one service, but the traffic speaks a different "
    "protocol.",
    attack="T1571",
    rule=_protocol_mismatch,
    detail=_protocol_mismatch_detail,
)

# -- port-zero --------------------------------------------------------------


def _port_zero(flows: pd.DataFrame) -> np.ndarray:
    """Either endpoint uses port 0."""
    return equals(flows["server_port"], 0) | equals(flows["client_port"], 0)


def _port_zero_detail(facts: FindingFacts) -> str:
    return f"traffic uses port 0 ({facts['transport']})"


PORT_ZERO = Flag(
    id="port-zero",
    severity="high",
    title="Traffic on port 0",
    explanation="Port 0 is reserved and never used by legitimate services; it marks scanning, "
    "fingerprinting or malformed traffic.",
    rule=_port_zero,
    detail=_port_zero_detail,
)

# -- known-protocol-unregistered-port ---------------------------------------


def _known_protocol_unregistered_port(flows: pd.DataFrame) -> np.ndarray:
    """A recognised protocol on a system/user port with no current assignment."""
    return present(flows["observed_protocol"]) & ~present(flows["service"]) & _not_dynamic(flows)


def _known_protocol_unregistered_port_detail(facts: FindingFacts) -> str:
    spoken = protocol_name(facts["observed_protocol"])
    return f"{spoken} on {where(facts)}, which has no current assignment for {facts['transport']}"


KNOWN_PROTOCOL_UNREGISTERED_PORT = Flag(
    id="known-protocol-unregistered-port",
    severity="medium",
    title="Recognised protocol on a port with no assignment",
    explanation="The traffic speaks a known protocol on a system or user port that has no "
    "assignment for this transport.",
    attack="T1571",
    rule=_known_protocol_unregistered_port,
    detail=_known_protocol_unregistered_port_detail,
)

# -- unauthorized-use-reported ----------------------------------------------


def _unauthorized_use_reported(flows: pd.DataFrame) -> np.ndarray:
    """The registry records known unauthorized use of the server port."""
    return present(flows["unauthorized_use"])


def _unauthorized_use_reported_detail(facts: FindingFacts) -> str:
    label = f" ({facts['service']})" if facts["service"] else ""
    return f"{where(facts)}{label}: IANA records unauthorized use: {facts['unauthorized_use']}"


UNAUTHORIZED_USE_REPORTED = Flag(
    id="unauthorized-use-reported",
    severity="medium",
    title="Port with reported unauthorized use",
    explanation="The IANA registry records known unauthorized use of this port.",
    rule=_unauthorized_use_reported,
    detail=_unauthorized_use_reported_detail,
)

# -- reserved-port ----------------------------------------------------------


def _reserved_port(flows: pd.DataFrame) -> np.ndarray:
    """The registry marks the server port reserved for this transport."""
    return _status(flows, "reserved")


def _reserved_port_detail(facts: FindingFacts) -> str:
    return f"{where(facts)} is reserved in the registry"


RESERVED_PORT = Flag(
    id="reserved-port",
    severity="medium",
    title="Traffic on a reserved port",
    explanation="The registry marks this port as reserved; no service should be running on it.",
    rule=_reserved_port,
    detail=_reserved_port_detail,
)

# -- cleartext-authentication -----------------------------------------------


def _cleartext_authentication(flows: pd.DataFrame) -> np.ndarray:
    """Credentials were seen unencrypted (the evidence stage never keeps them)."""
    return truthy(flows["cleartext_credentials"])


def _cleartext_authentication_detail(facts: FindingFacts) -> str:
    spoken = protocol_name(facts["observed_protocol"])
    return f"credentials seen in clear text ({spoken}) to {facts['server_ip']} on {where(facts)}"


CLEARTEXT_AUTHENTICATION = Flag(
    id="cleartext-authentication",
    severity="medium",
    title="Credentials sent in clear text",
    explanation="Credentials were seen unencrypted on the wire (they are never printed in "
    "reports).",
    attack="T1040",
    rule=_cleartext_authentication,
    detail=_cleartext_authentication_detail,
)

# -- unassigned-port --------------------------------------------------------


def _unassigned_port(flows: pd.DataFrame) -> np.ndarray:
    """No record at all for this port in the system or user range."""
    return _status(flows, "unassigned") & ~present(flows["other_transports"]) & _not_dynamic(flows)


def _unassigned_port_detail(facts: FindingFacts) -> str:
    return f"{where(facts)} has no assignment in the registry"


UNASSIGNED_PORT = Flag(
    id="unassigned-port",
    severity="low",
    title="Server on an unassigned port",
    explanation="The server port is in the system or user range and has no assignment in the "
    "registry.",
    rule=_unassigned_port,
    detail=_unassigned_port_detail,
)

# -- deassigned-or-historic -------------------------------------------------


def _deassigned_or_historic(flows: pd.DataFrame) -> np.ndarray:
    """Only de-assigned or historic records remain for this port and transport."""
    return truthy(flows["registry_historic"])


def _deassigned_or_historic_detail(facts: FindingFacts) -> str:
    notes = facts["registry_notes"] if facts["registry_notes"] is not None else "de-assigned"
    return f"{where(facts)} has only de-assigned or historic registrations: {notes}"


DEASSIGNED_OR_HISTORIC = Flag(
    id="deassigned-or-historic",
    severity="low",
    title="Port whose assignment was withdrawn",
    explanation="The only registrations for this port and transport are de-assigned or historic.",
    rule=_deassigned_or_historic,
    detail=_deassigned_or_historic_detail,
)

# -- transport-not-registered -----------------------------------------------


def _transport_not_registered(flows: pd.DataFrame) -> np.ndarray:
    """Assigned, but for another transport only."""
    return (
        ~present(flows["service"])
        & present(flows["other_transports"])
        & ~_status(flows, "reserved")
        & ~_status(flows, "historic")
    )


def _transport_not_registered_detail(facts: FindingFacts) -> str:
    others, transport = facts["other_transports"], facts["transport"]
    return f"port {facts['server_port']} is assigned for {others} only, not {transport}"


TRANSPORT_NOT_REGISTERED = Flag(
    id="transport-not-registered",
    severity="low",
    title="Port registered for another transport only",
    explanation="The port is assigned, but not for the transport this flow uses.",
    rule=_transport_not_registered,
    detail=_transport_not_registered_detail,
)

# -- dynamic-port-server ----------------------------------------------------


def _dynamic_port_server(flows: pd.DataFrame) -> np.ndarray:
    """The server listens in the dynamic/private range.

    A multicast or broadcast group is no server: traffic sent to one on a
    dynamic port (a device announcing itself) listens nowhere in particular.
    """
    dynamic = equals(flows["port_class"], "dynamic").copy()
    rows = np.flatnonzero(dynamic)
    if len(rows):
        codes, addresses = pd.factorize(flows["server_ip"].to_numpy(dtype=object)[rows])
        group = np.array([is_group_address(a) for a in addresses], dtype=bool)
        dynamic[rows[group[codes]]] = False
    return dynamic


def _dynamic_port_server_detail(facts: FindingFacts) -> str:
    return f"{facts['server_ip']} serves on dynamic port {where(facts)}"


DYNAMIC_PORT_SERVER = Flag(
    id="dynamic-port-server",
    severity="info",
    title="Server on a dynamic port",
    explanation="The server listens in the dynamic/private range (49152-65535), where nothing is "
    "assigned (traffic to a multicast or broadcast group there is not counted: no one serves it).",
    rule=_dynamic_port_server,
    detail=_dynamic_port_server_detail,
)

# -- port-only-label --------------------------------------------------------


def _port_only_label(flows: pd.DataFrame) -> np.ndarray:
    """A service label that nothing in the traffic confirms (nor contradicts)."""
    return equals(flows["label_basis"], "registration-only") & ~equals(
        flows["evidence"], "contradicts"
    )


def _port_only_label_detail(facts: FindingFacts) -> str:
    service = facts["service"]
    return f"labelled {service} from the port registration alone; the traffic does not confirm it"


PORT_ONLY_LABEL = Flag(
    id="port-only-label",
    severity="info",
    title="Label from port registration only",
    explanation="The service label comes from the port registration alone; nothing in the "
    "traffic confirms it.",
    rule=_port_only_label,
    detail=_port_only_label_detail,
)

#: Every flag by id, in the order a flow lists its flags (most urgent first).
FLAGS: dict[str, Flag] = {
    flag.id: flag
    for flag in (
        PROTOCOL_MISMATCH,
        PORT_ZERO,
        KNOWN_PROTOCOL_UNREGISTERED_PORT,
        UNAUTHORIZED_USE_REPORTED,
        RESERVED_PORT,
        CLEARTEXT_AUTHENTICATION,
        UNASSIGNED_PORT,
        DEASSIGNED_OR_HISTORIC,
        TRANSPORT_NOT_REGISTERED,
        DYNAMIC_PORT_SERVER,
        PORT_ONLY_LABEL,
    )
}
