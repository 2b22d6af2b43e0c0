"""TLS, DTLS, QUIC and SSH fingerprints on crafted handshakes."""

from __future__ import annotations

import struct

import pytest

from annotator.evidence import identify

pytest.importorskip("scapy")
from scapy.layers.tls.extensions import (
    ProtocolName,
    ServerName,
    TLS_Ext_ALPN,
    TLS_Ext_Padding,
    TLS_Ext_ServerName,
    TLS_Ext_SupportedVersion_CH,
    TLS_Ext_SupportedVersion_SH,
)
from scapy.layers.tls.handshake import TLSClientHello, TLSServerHello
from scapy.layers.tls.record import TLS


def tcp(c2s: bytes, s2c: bytes = b"", port: int = 443):
    return identify(c2s, s2c, transport="tcp", client_port=51000, server_port=port)


def udp(c2s: bytes, s2c: bytes = b"", port: int = 443):
    return identify(c2s, s2c, transport="udp", client_port=51000, server_port=port)


def client_hello(sni: bytes = b"example.com", padding: int = 0) -> bytes:
    ext = [
        TLS_Ext_ServerName(servernames=[ServerName(servername=sni)]),
        TLS_Ext_ALPN(protocols=[ProtocolName(protocol=b"h2"), ProtocolName(protocol=b"http/1.1")]),
        TLS_Ext_SupportedVersion_CH(versions=[0x0304, 0x0303]),
    ]
    if padding:
        ext.append(TLS_Ext_Padding(padding=b"\0" * padding))
    return bytes(TLS(msg=[TLSClientHello(ciphers=[0x1301, 0xC02F], ext=ext)]))


def server_hello(version: int | None = 0x0304) -> bytes:
    ext = [TLS_Ext_SupportedVersion_SH(version=version)] if version else []
    return bytes(TLS(msg=[TLSServerHello(version=0x0303, cipher=0x1301, ext=ext)]))


def test_tls_client_hello_gives_sni_alpn_and_version() -> None:
    ev = tcp(client_hello(), server_hello())
    assert ev.protocol == "tls"
    assert ev.server_name == "example.com"
    assert ev.fields["alpn"] == ["h2", "http/1.1"]
    assert ev.fields["version"] == "TLS 1.3"
    assert ev.detail == "TLS 1.3 ClientHello, SNI example.com, ALPN h2,http/1.1"


def test_a_client_hello_cut_at_2_kib_still_gives_the_sni() -> None:
    hello = client_hello(padding=3000)
    assert len(hello) > 3000
    ev = tcp(hello[:2048])
    assert ev.protocol == "tls" and ev.server_name == "example.com"


def test_a_hello_cut_before_the_sni_is_still_tls() -> None:
    ev = tcp(client_hello()[:70])
    assert ev.protocol == "tls" and ev.server_name is None


def test_server_hello_alone_and_tls12_without_supported_versions() -> None:
    ev = tcp(b"", server_hello(None))
    assert ev.protocol == "tls" and ev.fields["version"] == "TLS 1.2"
    assert ev.fields["handshake"] == "ServerHello"


def test_mid_session_application_data_records() -> None:
    record = b"\x17\x03\x03\x00\x20" + bytes(range(32))
    ev = tcp(record * 3 + b"\x17\x03")
    assert ev.protocol == "tls" and ev.fields["handshake"] == "not seen"


def test_tls_record_header_with_garbage_is_not_tls() -> None:
    assert tcp(b"\x16\x03\x01\x00\x40\x07" + bytes(80)).protocol is None
    assert tcp(b"\x17\x03\x03\x00\x05hello\x99\x99\x99\x99\x99\x99").protocol is None


def test_an_sni_that_is_not_a_host_name_is_kept_inert_and_marked() -> None:
    """A malformed SNI is a signal in itself: the analyst sees it, with the
    terminal escape made harmless, and the detail says it is no host name."""
    ev = tcp(client_hello(sni=b"Bad\x1b[31mname <x>"))
    assert ev.protocol == "tls"
    assert ev.server_name == "Bad?[31mname <x>"
    assert "SNI (not a host name) Bad?[31mname <x>" in ev.detail
    valid = tcp(client_hello(sni=b"WWW.Example.ORG."))
    assert valid.server_name == "www.example.org" and "not a host name" not in valid.detail


def test_an_over_long_sni_is_cut_to_253_characters() -> None:
    ev = tcp(client_hello(sni=b"a" * 300))
    assert ev.server_name == "a" * 253 and "SNI (not a host name) aaa" in ev.detail


def dtls_client_hello(sni: bytes = b"dtls.example") -> bytes:
    name = struct.pack("!BH", 0, len(sni)) + sni
    sni_ext = struct.pack("!HHH", 0, len(name) + 2, len(name)) + name
    exts = sni_ext
    body = (
        b"\xfe\xfd"
        + bytes(32)
        + b"\x00"  # session id
        + b"\x00"  # cookie
        + b"\x00\x02\xc0\x2b"  # one cipher suite
        + b"\x01\x00"  # null compression
        + struct.pack("!H", len(exts))
        + exts
    )
    hs = (
        b"\x01"
        + len(body).to_bytes(3, "big")
        + b"\x00\x00"
        + bytes(3)
        + len(body).to_bytes(3, "big")
    )
    hs += body
    return b"\x16\xfe\xff" + bytes(8) + struct.pack("!H", len(hs)) + hs


def test_dtls_client_hello_with_sni() -> None:
    ev = udp(dtls_client_hello())
    assert ev.protocol == "dtls"
    assert ev.server_name == "dtls.example"
    assert ev.detail.startswith("DTLS 1.2 ClientHello")


def test_dtls_after_stun_checks_is_dtls() -> None:
    stun = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(range(12))
    ev = udp(stun + dtls_client_hello(), port=3478)
    assert ev.protocol == "dtls" and "after STUN" in ev.detail


def quic_initial(version: bytes = b"\x00\x00\x00\x01", size: int = 1200) -> bytes:
    header = b"\xc3" + version + b"\x08" + bytes(range(8)) + b"\x00" + b"\x00" + b"\x44\xd0"
    return header + bytes(size - len(header))


def test_quic_v1_and_v2_and_draft_initials() -> None:
    assert udp(quic_initial()).fields["quic_version"] == "v1"
    assert udp(quic_initial(b"\x6b\x33\x43\xcf")).fields["quic_version"] == "v2"
    ev = udp(quic_initial(b"\xff\x00\x00\x1d"))
    assert ev.protocol == "quic" and ev.fields["quic_version"] == "draft-29"


def test_a_short_quic_v1_initial_is_not_accepted() -> None:
    # Clients pad Initials to 1200 bytes; a 60-byte "initial" is something else.
    assert udp(quic_initial(size=60)).protocol is None


def test_google_quic_legacy_header() -> None:
    packet = b"\x0d" + bytes(range(8)) + b"Q043" + b"\x01" + bytes(60)
    ev = udp(packet)
    assert ev.protocol == "quic" and ev.fields["quic_version"] == "Q043"


def test_google_quic_chlo_gives_the_sni() -> None:
    values = b"\x00" * 8 + b"video.example.com" + b"Q043"
    tags = struct.pack("<4sI4sI4sI", b"PAD\x00", 8, b"SNI\x00", 25, b"VER\x00", 29)
    chlo = b"CHLO" + struct.pack("<HH", 3, 0) + tags + values
    packet = b"\x0d" + bytes(range(8)) + b"Q043" + b"\x01" + bytes(12) + chlo + bytes(900)
    ev = udp(packet)
    assert ev.server_name == "video.example.com"
    assert ev.detail == "gQUIC Q043 CHLO, SNI video.example.com"


def test_google_quic_chlo_with_a_malformed_sni_keeps_it_marked() -> None:
    name = b"x y\x07z"  # a space and a bell: no host name
    values = b"\x00" * 8 + name + b"Q043"
    end = 8 + len(name)
    tags = struct.pack("<4sI4sI4sI", b"PAD\x00", 8, b"SNI\x00", end, b"VER\x00", end + 4)
    chlo = b"CHLO" + struct.pack("<HH", 3, 0) + tags + values
    packet = b"\x0d" + bytes(range(8)) + b"Q043" + b"\x01" + bytes(12) + chlo + bytes(900)
    ev = udp(packet)
    assert ev.server_name == "x y?z"
    assert ev.detail == "gQUIC Q043 CHLO, SNI (not a host name) x y?z"


def test_quic_version_negotiation_from_the_server() -> None:
    # The client tried a version the server does not know (a greased one); the
    # server lists its own and echoes the connection ids swapped.
    vn = b"\x80\x00\x00\x00\x00\x00\x08" + bytes(range(8)) + b"\x00\x00\x00\x01\xff\x00\x00\x1d"
    ev = udp(quic_initial(b"\x1a\x2a\x3a\x4a"), vn)
    assert ev.protocol == "quic" and ev.fields["packet_type"] == "VN"
    wrong_ids = vn[:7] + bytes(8) + vn[15:]
    assert udp(quic_initial(b"\x1a\x2a\x3a\x4a"), wrong_ids).protocol is None


def test_ssh_banner_names_the_software() -> None:
    ev = tcp(b"SSH-2.0-PuTTY_Release_0.80\r\n", b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n", 22)
    assert ev.protocol == "ssh"
    assert ev.fields["software"] == "OpenSSH_9.6p1"
    assert ev.fields["client_software"] == "PuTTY_Release_0.80"
    assert ev.detail == "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13"


def test_ssh_like_text_is_not_ssh() -> None:
    assert tcp(b"SSH-3.0-x\r\n").protocol is None
    assert tcp(b"SSH-2.0-\r\n").protocol is None


def test_quic_initial_keys_match_rfc_9001_appendix_a() -> None:
    import hashlib
    import hmac

    from annotator.evidence.quic_initial import _expand_label

    salt = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
    initial = hmac.new(salt, bytes.fromhex("8394c8f03e515708"), hashlib.sha256).digest()
    client = _expand_label(initial, b"client in", 32)
    assert client.hex() == "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"
    assert _expand_label(client, b"quic key", 16).hex() == "1f369613dd76d5467730efcbe3b1a22d"
    assert _expand_label(client, b"quic iv", 12).hex() == "fa044b2f42a3fd3b46fb255c"
    assert _expand_label(client, b"quic hp", 16).hex() == "9f50449e04a0e810283a1e9933adedd2"


def protect_initial(hello: bytes, dcid: bytes) -> bytes:
    """Build a client Initial carrying ``hello`` the way a QUIC client does."""
    import hashlib
    import hmac

    ciphers = pytest.importorskip("cryptography.hazmat.primitives.ciphers")
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from annotator.evidence.quic_initial import _expand_label

    salt = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
    client = _expand_label(hmac.new(salt, dcid, hashlib.sha256).digest(), b"client in", 32)
    key, iv, hp = (
        _expand_label(client, label, n)
        for label, n in ((b"quic key", 16), (b"quic iv", 12), (b"quic hp", 16))
    )
    frames = b"\x06\x00" + bytes([0x40 | len(hello) >> 8, len(hello) & 0xFF]) + hello
    pn = b"\x00\x00\x00\x02"
    payload = frames + bytes(1162 - len(frames))  # padded so the datagram is 1200 bytes
    length = len(pn) + len(payload) + 16
    header = b"\xc3\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid + b"\x00\x00"
    header += bytes([0x40 | length >> 8, length & 0xFF]) + pn
    nonce = (int.from_bytes(iv, "big") ^ 2).to_bytes(12, "big")
    sealed = AESGCM(key).encrypt(nonce, payload, header)
    pn_offset = len(header) - 4
    sample = sealed[:16]
    mask = (
        ciphers.Cipher(ciphers.algorithms.AES(hp), ciphers.modes.ECB()).encryptor().update(sample)
    )
    first = bytes([header[0] ^ (mask[0] & 0x0F)])
    protected_pn = bytes(b ^ m for b, m in zip(pn, mask[1:5], strict=True))
    return first + header[1:pn_offset] + protected_pn + sealed


def test_quic_initial_is_decrypted_for_sni_and_alpn() -> None:
    hello = client_hello(sni=b"quic.example.org")[5:]  # the handshake message, no record
    packet = protect_initial(hello, bytes.fromhex("8394c8f03e515708"))
    assert len(packet) >= 1200
    ev = udp(packet)
    assert ev.protocol == "quic" and ev.server_name == "quic.example.org"
    assert ev.fields["alpn"] == ["h2", "http/1.1"]
    tampered = packet[:-1] + bytes([packet[-1] ^ 1])  # the AEAD tag no longer verifies
    assert udp(tampered).server_name is None
