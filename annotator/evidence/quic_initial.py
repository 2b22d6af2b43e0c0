"""The TLS ClientHello inside a QUIC Initial packet (RFC 9001 section 5).

Initial packets are protected with keys anyone can derive from the client's
destination connection id, so the ClientHello (and its SNI and ALPN) can be
read without any secret.  This needs the ``cryptography`` package for
AES-128-GCM and AES-ECB; without it :func:`client_hello` returns None and a
QUIC flow simply has no server name.
"""

from __future__ import annotations

import hashlib
import hmac

# Per-version salt and HKDF label prefix (RFC 9001 5.2, RFC 9369 3.3.1).
_SALTS = {
    0x00000001: (bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), b"quic "),
    0x6B3343CF: (bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), b"quicv2 "),
}
_DRAFT_29_SALT = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")
_DRAFT_23_SALT = bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502")
CRYPTO_FRAME = 0x06


def _salt(version: int) -> tuple[bytes, bytes] | None:
    if version in _SALTS:
        return _SALTS[version]
    if version >> 8 == 0xFF0000 and 29 <= version & 0xFF <= 34:
        return _DRAFT_29_SALT, b"quic "
    if version >> 8 == 0xFF0000 and 23 <= version & 0xFF <= 28:
        return _DRAFT_23_SALT, b"quic "
    return None


def _expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    """TLS 1.3 HKDF-Expand-Label with an empty context (one SHA-256 block suffices)."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:length]


def _varint(data: bytes, pos: int) -> tuple[int, int] | None:
    """A QUIC variable-length integer at ``pos``: (value, position after it)."""
    if pos >= len(data):
        return None
    size = 1 << (data[pos] >> 6)
    if pos + size > len(data):
        return None
    value = data[pos] & 0x3F
    for byte in data[pos + 1 : pos + size]:
        value = value << 8 | byte
    return value, pos + size


def _decrypt_initial(packet: bytes) -> bytes | None:
    """The decrypted payload of a client Initial packet, or None."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:  # optional: without it QUIC flows carry no server name
        return None
    version = int.from_bytes(packet[1:5], "big")
    salt = _salt(version)
    if salt is None or len(packet) < 7:
        return None
    dcid = packet[6 : 6 + packet[5]]
    pos = 6 + len(dcid)
    pos += 1 + packet[pos]  # source connection id
    token = _varint(packet, pos)
    if token is None:
        return None
    length = _varint(packet, token[1] + token[0])
    if length is None or length[1] + length[0] > len(packet) or length[0] < 20:
        return None
    pn_offset, end = length[1], length[1] + length[0]
    initial = hmac.new(salt[0], dcid, hashlib.sha256).digest()
    client = _expand_label(initial, b"client in", 32)
    key = _expand_label(client, salt[1] + b"key", 16)
    iv = _expand_label(client, salt[1] + b"iv", 12)
    hp = _expand_label(client, salt[1] + b"hp", 16)
    sample = packet[pn_offset + 4 : pn_offset + 20]
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(sample)
    first = packet[0] ^ (mask[0] & 0x0F)
    pn_len = (first & 3) + 1
    pn = bytes(
        b ^ m for b, m in zip(packet[pn_offset : pn_offset + pn_len], mask[1:], strict=False)
    )
    header = bytes([first]) + packet[1:pn_offset] + pn
    nonce = (int.from_bytes(iv, "big") ^ int.from_bytes(pn, "big")).to_bytes(12, "big")
    try:
        return AESGCM(key).decrypt(nonce, packet[pn_offset + pn_len : end], header)
    except Exception:  # cryptography's InvalidTag: not a client Initial after all
        return None


def _crypto_stream(payload: bytes) -> bytes:
    """The contiguous start of the CRYPTO stream carried by an Initial's frames."""
    pieces: dict[int, bytes] = {}
    pos = 0
    while pos < len(payload):
        frame = payload[pos]
        if frame in (0x00, 0x01):  # PADDING, PING
            pos += 1
            continue
        if frame != CRYPTO_FRAME:
            break  # ACK and others do not appear in a client's first Initial
        offset = _varint(payload, pos + 1)
        size = _varint(payload, offset[1]) if offset else None
        if offset is None or size is None:
            break
        pieces[offset[0]] = payload[size[1] : size[1] + size[0]]
        pos = size[1] + size[0]
    stream = b""
    while len(stream) in pieces:
        stream += pieces.pop(len(stream))
    return stream


def client_hello(packet: bytes) -> bytes | None:
    """The handshake bytes (starting with the ClientHello) of a client Initial."""
    payload = _decrypt_initial(packet)
    if payload is None:
        return None
    stream = _crypto_stream(payload)
    return stream if stream[:1] == b"\x01" else None
