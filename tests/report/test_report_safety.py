"""Escaping, sanitizing and defanging for each output target."""

from __future__ import annotations

import pytest

from annotator.report.safety import (
    csv_safe,
    defang,
    markdown_safe,
    mathtext_safe,
    rich_safe,
    terminal_safe,
    visible_controls,
)


@pytest.mark.parametrize(
    "raw",
    [
        "a\x1b[2Jb",  # clear screen
        "a\x1b]0;owned title\x07b",  # OSC window title
        "a\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\b",  # OSC 8 hyperlink
        "a\x9b31mb",  # 8-bit CSI
        "a\x07b\x00c\x7fd",  # bell, NUL, DEL
        "a\u202eb\u2066c",  # bidi override and isolate
    ],
)
def test_terminal_safe_leaves_no_control_or_escape_characters(raw: str) -> None:
    out = terminal_safe(raw)
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in out)
    assert "\u202e" not in out and "\u2066" not in out
    assert out.startswith("a")


def test_escape_sequences_are_removed_whole_and_controls_shown() -> None:
    assert terminal_safe("x\x1b[2Jy") == "xy"
    assert terminal_safe("bell\x07") == "bell\\x07"
    assert visible_controls("evil\u202egpj.exe") == "evil<U+202E>gpj.exe"


def test_rich_markup_is_escaped() -> None:
    from rich.console import Console

    console = Console(record=True, width=80)
    console.print(f"name: {rich_safe('[bold red]boom[/bold red]')}")
    assert "[bold red]boom[/bold red]" in console.export_text()


def test_markdown_injection_stays_text() -> None:
    out = markdown_safe("[click](http://evil) | x | `y` <b>z</b>\nnext")
    assert "\\[click\\]" in out
    assert "\\|" in out and " | " not in out.replace("\\|", "")
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert "\n" not in out
    assert "\\`y\\`" in out


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_formula_guard(start: str) -> None:
    assert csv_safe(start + "HYPERLINK(1)") == "'" + start + "HYPERLINK(1)"


def test_csv_plain_cells_unchanged() -> None:
    assert csv_safe("example.com") == "example.com"
    assert csv_safe("a=b") == "a=b"


def test_mathtext_dollars_escaped() -> None:
    assert mathtext_safe("cost $5 and $x^2$") == r"cost \$5 and \$x^2\$"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://evil.example.com/a", "hxxp://evil.example[.]com/a"),
        ("https://example.com", "hxxps://example[.]com"),
        ("ftp://10.1.2.3/x", "fxp://10.1.2[.]3/x"),
        ("10.0.0.1", "10.0.0[.]1"),
        ("www.example.co.uk", "www.example.co[.]uk"),
        ("admin@corp.example", "admin[@]corp[.]example"),
        ("fd00::1", "fd00::1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),  # IPv4-mapped IPv6: an IPv6 address
        ("SSH-2.0-OpenSSH_9.6", "SSH-2.0-OpenSSH_9.6"),
    ],
)
def test_defang(raw: str, expected: str) -> None:
    assert defang(raw) == expected
