"""One pure rule per flag: a flow table in, a boolean mask over its rows out.

The flow table the rules read has already been joined with the registry
(:mod:`annotator.triage.join`) and fingerprinted (:mod:`annotator.evidence`),
and carries the ``evidence`` verdict.  Each rule is a few lines of vectorized
pandas; :data:`RULES` maps flag ids (see :mod:`annotator.triage.flags`) to
them.  A flow carries every flag whose rule holds.

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

from collections.abc import Callable

import numpy as np
import pandas as pd

from annotator.flows.direction import is_group_address

Rule = Callable[[pd.DataFrame], np.ndarray]


def _bool(series: pd.Series) -> np.ndarray:
    return series.fillna(False).to_numpy(dtype=bool)


def _present(series: pd.Series) -> np.ndarray:
    return series.notna().to_numpy()


def _eq(series: pd.Series, value: object) -> np.ndarray:
    """``series == value`` as plain booleans (NA compares as False)."""
    return (series == value).fillna(False).to_numpy(dtype=bool)


def _status(flows: pd.DataFrame, value: str) -> np.ndarray:
    return _eq(flows["registry_status"], value)


def _not_dynamic(flows: pd.DataFrame) -> np.ndarray:
    return ~_eq(flows["port_class"], "dynamic")


def protocol_mismatch(flows: pd.DataFrame) -> np.ndarray:
    """The traffic speaks a protocol the registered service does not."""
    return _eq(flows["evidence"], "contradicts")


def port_zero(flows: pd.DataFrame) -> np.ndarray:
    """Either endpoint uses port 0."""
    return _eq(flows["server_port"], 0) | _eq(flows["client_port"], 0)


def known_protocol_unregistered_port(flows: pd.DataFrame) -> np.ndarray:
    """A recognised protocol on a system/user port with no current assignment."""
    return _present(flows["observed_protocol"]) & ~_present(flows["service"]) & _not_dynamic(flows)


def unauthorized_use_reported(flows: pd.DataFrame) -> np.ndarray:
    """The registry records known unauthorized use of the server port."""
    return _present(flows["unauthorized_use"])


def reserved_port(flows: pd.DataFrame) -> np.ndarray:
    """The registry marks the server port reserved for this transport."""
    return _status(flows, "reserved")


def cleartext_authentication(flows: pd.DataFrame) -> np.ndarray:
    """Credentials were seen unencrypted (the evidence stage never keeps them)."""
    return _bool(flows["cleartext_credentials"])


def unassigned_port(flows: pd.DataFrame) -> np.ndarray:
    """No record at all for this port in the system or user range."""
    return _status(flows, "unassigned") & ~_present(flows["other_transports"]) & _not_dynamic(flows)


def deassigned_or_historic(flows: pd.DataFrame) -> np.ndarray:
    """Only de-assigned or historic records remain for this port and transport."""
    return _bool(flows["registry_historic"])


def transport_not_registered(flows: pd.DataFrame) -> np.ndarray:
    """Assigned, but for another transport only."""
    return (
        ~_present(flows["service"])
        & _present(flows["other_transports"])
        & ~_status(flows, "reserved")
        & ~_status(flows, "historic")
    )


def dynamic_port_server(flows: pd.DataFrame) -> np.ndarray:
    """The server listens in the dynamic/private range.

    A multicast or broadcast group is no server: traffic sent to one on a
    dynamic port (a device announcing itself) listens nowhere in particular.
    """
    dynamic = _eq(flows["port_class"], "dynamic").copy()
    rows = np.flatnonzero(dynamic)
    if len(rows):
        codes, addresses = pd.factorize(flows["server_ip"].to_numpy(dtype=object)[rows])
        group = np.array([is_group_address(a) for a in addresses], dtype=bool)
        dynamic[rows[group[codes]]] = False
    return dynamic


def port_only_label(flows: pd.DataFrame) -> np.ndarray:
    """A service label that nothing in the traffic confirms (nor contradicts)."""
    return _eq(flows["label_basis"], "registration-only") & ~_eq(flows["evidence"], "contradicts")


#: Flag id -> rule, in the order flags are listed on a flow.
RULES: dict[str, Rule] = {
    "protocol-mismatch": protocol_mismatch,
    "port-zero": port_zero,
    "known-protocol-unregistered-port": known_protocol_unregistered_port,
    "unauthorized-use-reported": unauthorized_use_reported,
    "reserved-port": reserved_port,
    "cleartext-authentication": cleartext_authentication,
    "unassigned-port": unassigned_port,
    "deassigned-or-historic": deassigned_or_historic,
    "transport-not-registered": transport_not_registered,
    "dynamic-port-server": dynamic_port_server,
    "port-only-label": port_only_label,
}
