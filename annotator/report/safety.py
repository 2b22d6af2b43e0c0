"""Making capture-derived strings inert in every place a report puts them.

Anything that came off the wire (TLS SNI, HTTP Host, banners, user agents) or
from the user's file system (capture file names) is attacker-controlled.  Each
output target has its own way of being subverted, so each gets its own guard:

* terminals obey escape sequences and control characters (``ESC[2J`` clears
  the screen, ``\\x07`` rings the bell) and rich obeys ``[bold]`` markup;
* Markdown turns ``[text](url)`` into links, ``|`` splits table cells and raw
  ``<tags>`` pass through to the HTML a ticket system renders;
* spreadsheets run cells that begin with ``=``, ``+``, ``-`` or ``@`` as
  formulas;
* matplotlib reads ``$...$`` as mathematics;
* Unicode bidirectional overrides (U+202E) make text display in a different
  order than it is stored, which can disguise a name in any target.

HTML is escaped by jinja2's autoescape; :func:`visible_controls` is applied
before it so invisible characters are shown rather than hidden.

:func:`defang` rewrites network indicators the way SOC tickets expect, so a
pasted report cannot be clicked into a live connection.
"""

from __future__ import annotations

import ipaddress
import re

# Terminal escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST),
# other two-byte ESC sequences, and 8-bit CSI (U+009B).
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, terminated or not
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -~]?"  # any other ESC and the byte after it
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)

# Control characters (C0 except none, DEL, C1), bidirectional controls,
# zero-width characters that hide text, line/paragraph separators.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"<U+{code:04X}>"


def visible_controls(text: object) -> str:
    """Replace control, bidi and zero-width characters by a visible notation.

    ``"a\\u202eb"`` becomes ``"a<U+202E>b"``: the analyst sees that something
    was hidden there, and nothing can reorder or hide the surrounding text.
    """
    return _INVISIBLE.sub(_show, str(text))


def terminal_safe(text: object) -> str:
    """A string a terminal shows literally: no escape sequences, no controls.

    Escape sequences are removed whole (their parameters would otherwise be
    left as noise like ``[2J``); any other invisible character is replaced by
    a visible notation.  The result still needs rich markup escaping (or
    wrapping in :class:`rich.text.Text`) before it meets rich markup.
    """
    return visible_controls(_ESCAPE_SEQUENCE.sub("", str(text)))


def rich_safe(text: object) -> str:
    """:func:`terminal_safe` plus rich markup escaping, for use inside markup."""
    from rich.markup import escape

    return escape(terminal_safe(text))


# Characters with a meaning in CommonMark/GFM inline text or tables.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~^])")
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def markdown_safe(text: object) -> str:
    """Escape a string for a Markdown table cell or paragraph (GitHub, GitLab).

    Markdown punctuation is backslash-escaped (so ``[click](http://evil)``
    stays text, its parentheses harmless once the brackets are escaped, and
    ``|`` cannot split a table cell), HTML's ``& < > "`` become
    entities (ticket systems pass raw HTML through), and line breaks become
    spaces (a newline would end the table row).  Bare URLs may still be
    auto-linked by the ticket system; ``defang=True`` is the answer to that.
    """
    clean = visible_controls(re.sub(r"[\r\n]+", " ", str(text)))
    clean = _MARKDOWN_SPECIAL.sub(r"\\\1", clean)
    return "".join(_HTML_SPECIAL.get(ch, ch) for ch in clean)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """Neutralise a spreadsheet formula: prefix a ``'`` when the cell starts
    with ``= + - @``, a tab or a carriage return (OWASP's CSV-injection rule)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def mathtext_safe(text: object) -> str:
    """Escape ``$`` so matplotlib shows it instead of starting mathematics,
    and make controls visible (chart labels have no room for hidden text)."""
    return visible_controls(str(text)).replace("$", r"\$")


# --- defanging --------------------------------------------------------------

_SCHEME = re.compile(r"\b(h)tt(ps?)(?=(?::|\[:\])//)|\b(f)tp(?=(?::|\[:\])//)", re.IGNORECASE)
_IPV4 = re.compile(r"\b((?:\d{1,3}\.){3})(\d{1,3})\b")
# A host name: two or more dot-separated labels ending in an alphabetic TLD.
_DOMAIN = re.compile(
    r"\b((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+)([A-Za-z][A-Za-z0-9-]{1,62})\b"
)


def _scheme(match: re.Match[str]) -> str:
    if match.group(1):  # http, https -> hxxp, hxxps (keeping the case of the h)
        return match.group(1) + "xx" + match.group(2)
    return match.group(3) + "xp"  # ftp -> fxp


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def defang(text: object) -> str:
    """Rewrite indicators so they cannot be clicked or resolved by accident.

    ``http://`` becomes ``hxxp://``, ``https://`` ``hxxps://``, ``ftp://``
    ``fxp://``; the last dot of an IPv4 address or host name becomes ``[.]``
    (``10.0.0[.]1``, ``example[.]com``); ``@`` in an address becomes ``[@]``.
    IPv6 addresses are left as they are (nothing resolves or links them),
    the IPv4-mapped ones (``::ffff:192.0.2.1``) included.
    """
    text = str(text)
    if ":" in text and _is_ipv6(text):
        return text
    out = _SCHEME.sub(_scheme, text)
    out = _IPV4.sub(lambda m: m.group(1)[:-1] + "[.]" + m.group(2), out)
    out = _DOMAIN.sub(lambda m: m.group(1)[:-1] + "[.]" + m.group(2), out)
    return re.sub(r"(?<=\w)@(?=\w)", "[@]", out)
