"""Text protocols: HTTP, mail, FTP, telnet, SIP, RTSP, SSDP, IRC, XMPP, syslog, Redis.

Where credentials are seen in clear the evidence says so, and the secret itself
appears nowhere in what is kept.
"""

from __future__ import annotations

import base64

import pytest

from annotator.evidence import identify
from annotator.evidence.base import without_userinfo

SECRET = "hunter2-Zq"


def tcp(c2s: bytes, s2c: bytes = b"", port: int = 80):
    return identify(c2s, s2c, transport="tcp", client_port=51000, server_port=port)


def udp(c2s: bytes, s2c: bytes = b"", port: int = 5060, server_ip: str | None = None):
    return identify(
        c2s, s2c, transport="udp", client_port=51000, server_port=port, server_ip=server_ip
    )


def assert_secret_not_kept(ev) -> None:
    assert SECRET not in repr(ev)
    assert base64.b64encode(SECRET.encode()).decode() not in repr(ev)


def test_http_request_and_response() -> None:
    ev = tcp(
        b"GET /a?b=c HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: curl/8.5\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nServer: x\r\n\r\n",
    )
    assert ev.protocol == "http"
    assert ev.server_name == "example.com"
    assert ev.fields["method"] == "GET" and ev.fields["status"] == 404
    assert ev.detail == "HTTP GET, Host example.com, 404"
    assert ev.credentials is False


def test_http_host_that_is_not_a_host_name_is_kept_inert_and_marked() -> None:
    ev = tcp(b"GET / HTTP/1.1\r\nHost: <script>\x1b]0;x\x07</script>\r\n\r\n")
    assert ev.protocol == "http"
    assert ev.server_name == "<script>?]0;x?</script>"
    assert ev.detail == "HTTP GET, Host (not a host name) <script>?]0;x?</script>"
    ipv6 = tcp(b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n")
    assert ipv6.server_name == "[2001:db8::1]" and ipv6.detail == "HTTP GET, Host [2001:db8::1]"


def test_http_basic_auth_is_credentials_in_clear() -> None:
    token = base64.b64encode(f"admin:{SECRET}".encode())
    ev = tcp(b"GET / HTTP/1.1\r\nHost: nas.local\r\nAuthorization: Basic " + token + b"\r\n\r\n")
    assert ev.credentials is True
    assert ev.fields["credentials_mechanism"] == "HTTP Basic"
    assert_secret_not_kept(ev)
    assert token.decode() not in repr(ev)


def test_http_request_line_longer_than_the_capture() -> None:
    ev = tcp(b"GET /" + b"a" * 3000)
    assert ev.protocol == "http"


def test_http_lookalikes_are_not_http() -> None:
    assert tcp(b"GETTING STARTED\r\n").protocol is None
    assert tcp(b"FETCH / HTTP/1.1\r\n\r\n").protocol is None


def test_http2_preface_and_h2c_upgrade() -> None:
    assert tcp(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04").protocol == "http2"
    ev = tcp(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
    )
    assert ev.protocol == "http2" and ev.fields["upgrade"] == "h2c"


def test_smtp_with_auth_plain_before_starttls() -> None:
    blob = base64.b64encode(f"\0user\0{SECRET}".encode())
    ev = tcp(
        b"EHLO client\r\nAUTH PLAIN " + blob + b"\r\nQUIT\r\n",
        b"220 mx.example ESMTP Postfix\r\n",
        25,
    )
    assert ev.protocol == "smtp" and ev.credentials is True
    assert ev.fields["credentials_mechanism"] == "SMTP AUTH PLAIN"
    assert_secret_not_kept(ev)


def test_smtp_auth_after_starttls_is_not_in_clear() -> None:
    ev = tcp(b"EHLO client\r\nSTARTTLS\r\n\x16\x03\x01\x02\x00", b"220 mx.example ESMTP\r\n", 587)
    assert ev.protocol == "smtp" and ev.credentials is False and ev.fields["starttls"] is True


def test_pop3_user_pass_and_apop() -> None:
    ev = tcp(f"USER bob\r\nPASS {SECRET}\r\n".encode(), b"+OK POP3 ready\r\n", 110)
    assert ev.protocol == "pop3" and ev.credentials is True
    assert_secret_not_kept(ev)
    ev = tcp(
        b"APOP bob c4c9334bac560ecc979e58001b3e22fb\r\n",
        b"+OK <1896.697170952@dbc.mtview.ca.us>\r\n",
        110,
    )
    assert ev.credentials is True and ev.fields["credentials_mechanism"] == "POP3 APOP"
    assert tcp(b"CAPA\r\nSTLS\r\n", b"+OK ready\r\n", 110).credentials is False


def test_imap_login_and_greeting() -> None:
    ev = tcp(
        f"a1 CAPABILITY\r\na2 LOGIN bob {SECRET}\r\n".encode(),
        b"* OK [CAPABILITY IMAP4rev1] ready\r\n",
        143,
    )
    assert ev.protocol == "imap" and ev.credentials is True
    assert_secret_not_kept(ev)
    ev = tcp(b"a1 STARTTLS\r\n", b"* OK ready\r\n", 143)
    assert ev.protocol == "imap" and ev.credentials is False


def test_ftp_login_anonymous_and_auth_tls() -> None:
    ev = tcp(f"USER alice\r\nPASS {SECRET}\r\nSYST\r\n".encode(), b"220 (vsFTPd 3.0.5)\r\n", 21)
    assert ev.protocol == "ftp" and ev.credentials is True
    assert ev.fields["credentials_mechanism"] == "FTP USER/PASS"
    assert_secret_not_kept(ev)
    anonymous = tcp(b"USER anonymous\r\nPASS guest@\r\n", b"220 FTP ready\r\n", 21)
    assert (
        anonymous.protocol == "ftp"
        and anonymous.credentials is False
        and anonymous.fields["anonymous"]
    )
    upgraded = tcp(b"AUTH TLS\r\n", b"220 FTP ready\r\n", 21)
    assert upgraded.fields["auth_tls"] is True and upgraded.credentials is False


def test_pop3_style_user_command_without_greeting_is_not_ftp() -> None:
    assert tcp(b"USER bob\r\nPASS x\r\n", b"", 21).protocol is None


def test_telnet_negotiation_and_login() -> None:
    server = b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27\r\nUbuntu 24.04\r\nlogin: "
    client = b"\xff\xfb\x18\xff\xfb\x20bob\r\n" + SECRET.encode() + b"\r\n"
    ev = tcp(client, server, 23)
    assert ev.protocol == "telnet" and ev.credentials is True
    assert_secret_not_kept(ev)
    assert tcp(b"\xff\xfb\x18", b"\xff\xfd\x18\xff\xfd\x20", 23).credentials is False


def test_sip_request_and_response() -> None:
    invite = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33\r\n\r\n"
    ev = udp(invite, b"SIP/2.0 100 Trying\r\n\r\n")
    assert ev.protocol == "sip" and ev.fields["method"] == "INVITE"
    assert udp(b"", b"SIP/2.0 200 OK\r\n\r\n").protocol == "sip"


def test_rtsp_is_not_mistaken_for_http() -> None:
    ev = tcp(
        b"OPTIONS rtsp://cam.local/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n", b"RTSP/1.0 200 OK\r\n", 554
    )
    assert ev.protocol == "rtsp" and ev.fields["method"] == "OPTIONS"


def test_ssdp_search_and_notify() -> None:
    search = (
        b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
        b'MAN: "ssdp:discover"\r\nST: ssdp:all\r\n\r\n'
    )
    ev = udp(search, port=1900, server_ip="239.255.255.250")
    assert ev.protocol == "ssdp" and ev.fields["search_target"] == "ssdp:all"
    assert udp(b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n", port=1900).protocol == "ssdp"


def test_irc_and_xmpp() -> None:
    ev = tcp(
        b"NICK bob\r\nUSER bob 0 * :Bob\r\n",
        b":irc.example.net NOTICE * :*** Looking up your hostname\r\n",
        6667,
    )
    assert ev.protocol == "irc"
    stream = (
        b"<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    )
    assert tcp(stream, port=5222).protocol == "xmpp"


def test_syslog_rfc3164_and_rfc5424() -> None:
    ev = udp(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick", port=514)
    assert (
        ev.protocol == "syslog"
        and ev.fields["facility"] == "auth"
        and ev.fields["severity"] == "crit"
    )
    ev = udp(
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - msg", port=514
    )
    assert ev.fields["format"] == "RFC 5424"
    assert udp(b"<999>nonsense", port=514).protocol is None


def test_redis_commands_and_auth() -> None:
    ev = tcp(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n", 6379)
    assert ev.protocol == "redis" and ev.fields["command"] == "PING" and not ev.credentials
    ev = tcp(f"*2\r\n$4\r\nAUTH\r\n${len(SECRET)}\r\n{SECRET}\r\n".encode(), b"+OK\r\n", 6379)
    assert ev.credentials is True
    assert_secret_not_kept(ev)
    assert tcp(b"*2\r\n$5\r\nPING\r\n").protocol is None  # the declared length must fit


def test_bare_login_prompt_without_negotiation() -> None:
    ev = tcp(b"admin\r\n" + SECRET.encode() + b"\r\n", b"\r\nRouter OS v2\r\nLogin: ", 23)
    assert ev.protocol == "telnet" and ev.credentials is True
    assert_secret_not_kept(ev)
    # Not for a greeting that another text protocol explains.
    assert tcp(b"USER bob\r\n", b"220 FTP server\r\nLogin: ", 21).protocol == "ftp"
    assert tcp(b"", b"Welcome to the service\r\n", 2323).protocol is None


@pytest.mark.parametrize(
    ("value", "cleaned", "password"),
    [
        (b"rtsp://admin:12345@10.0.0.5:554/live", b"rtsp://***@10.0.0.5:554/live", True),
        (b"rtsp://cam/live?next=a@b", b"rtsp://cam/live?next=a@b", False),
        (b"rtsp://viewer@cam/live", b"rtsp://viewer@cam/live", False),
        (b"sip:bob:s3cret@example.com;transport=udp", b"sip:***@example.com;transport=udp", True),
        (b"sip:alice@example.com", b"sip:alice@example.com", False),
        (b"user:hunter2@intranet.example:8080", b"***@intranet.example:8080", True),
        (b"a:b@c:d@host", b"***@host", True),
        (b"example.com:8080", b"example.com:8080", False),
    ],
)
def test_passwords_in_user_information_are_cut_out(value, cleaned, password) -> None:
    assert without_userinfo(value) == (cleaned, password)


def test_a_password_in_a_url_is_credentials_in_clear_but_never_repeated() -> None:
    http = identify(b"GET / HTTP/1.1\r\nHost: admin:pw1@intranet.example:8080\r\n\r\n", b"",
                    transport="tcp", client_port=40000, server_port=80)  # fmt: skip
    rtsp = identify(b"DESCRIBE rtsp://admin:pw2@cam/live RTSP/1.0\r\nCSeq: 1\r\n\r\n", b"",
                    transport="tcp", client_port=40000, server_port=554)  # fmt: skip
    sip = identify(b"REGISTER sip:bob:pw3@example.com SIP/2.0\r\nCSeq: 1 REGISTER\r\n\r\n", b"",
                   transport="udp", client_port=5060, server_port=5060)  # fmt: skip
    for found, secret in ((http, "pw1"), (rtsp, "pw2"), (sip, "pw3")):
        assert found.credentials, found
        shown = f"{found.server_name} {found.detail} {dict(found.fields)}"
        assert secret not in shown and "admin" not in shown and "bob" not in shown
    assert http.server_name == "intranet.example"
    assert rtsp.detail == "RTSP DESCRIBE rtsp://***@cam/live, password in the URL"
