"""SNMP: a BER SEQUENCE holding the version (0 = v1, 1 = v2c, 3 = v3) and, for
v1/v2c, the community string followed by a PDU.  A community is a password sent
in clear: its presence is recorded, its value never is."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence, ber_small_int, ber_tlv

VERSIONS = {0: "SNMPv1", 1: "SNMPv2c", 3: "SNMPv3"}
PDUS = {
    0xA0: "GetRequest",
    0xA1: "GetNextRequest",
    0xA2: "Response",
    0xA3: "SetRequest",
    0xA4: "Trap",
    0xA5: "GetBulkRequest",
    0xA6: "InformRequest",
    0xA7: "SNMPv2-Trap",
    0xA8: "Report",
}


def _parse(data: bytes) -> Evidence | None:
    outer = ber_tlv(data, 0)
    if outer is None or outer[0] != 0x30:
        return None
    version = ber_small_int(data, outer[1])
    if version is None or version[0] not in VERSIONS:
        return None
    name = VERSIONS[version[0]]
    if version[0] == 3:
        header = ber_tlv(data, version[1])  # msgGlobalData: SEQUENCE { msgID, maxSize, ... }
        if header is None or header[0] != 0x30 or ber_small_int(data, header[1]) is None:
            return None
        return Evidence("snmp", None, "SNMPv3", {"version": name})
    community = ber_tlv(data, version[1])
    if community is None or community[0] != 0x04 or community[2] > 255:
        return None
    pdu_at = community[1] + community[2]
    if pdu_at >= len(data) or data[pdu_at] not in PDUS:
        return None
    pdu = PDUS[data[pdu_at]]
    fields = {"version": name, "pdu": pdu, "credentials_mechanism": f"{name} community"}
    return Evidence("snmp", None, f"{name} {pdu} (community string in clear)", fields, True)


def check_snmp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """SNMP request or response; v1/v2c mark the community as credentials in clear."""
    if c2s[:1] != b"\x30" and s2c[:1] != b"\x30":
        return None
    return _parse(c2s) or _parse(s2c)
