"""Whatever the bytes, loading a registry gives a Registry or a one-line RegistryError.

Property tests: random bytes behind each format's opening, and valid small
registries in each form cut short or with bytes overwritten.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotator.errors import RegistryError
from annotator.registry import Registry, load_registry
from annotator.registry.export import CSV_HEADER

CSV = (
    ",".join(CSV_HEADER) + "\nhttp,80,tcp,World Wide Web,[A],[B],2001-01,2020-02-02,[RFC9110],,,\n"
)
XML = (
    '<?xml version="1.0"?><registry xmlns="http://www.iana.org/assignments">'
    "<updated>2026-01-01</updated><record><name>http</name><protocol>tcp</protocol>"
    "<description>Web<br/>text</description><number>80</number></record>"
    '<people><person id="A"><name>A</name></person></people></registry>'
)
PIPE = (
    "| " + " | ".join(CSV_HEADER) + " |\n|---|---|\n"
    "| http | 80 | tcp | World Wide Web | [A] | [B] | 2001-01 | |||\n"
    "| 5030 | tcp | Reserved | 2006-12 | 2022-01-10 | De-Assigned on 2022-01-10 | |\n"
    "Contact Information\n| ID | Name |\n| [A] | Person A | mailto:a& | 2001-01 |\n"
)
PLAIN = (
    " ".join(CSV_HEADER) + "\nhttp 80 tcp World Wide Web [A] [B]\n\ncontinued text\n"
    "6302-6305 Unassigned\nContact Information\n[A] Person A mailto:a&\n"
)
VALID = [CSV.encode(), XML.encode(), PIPE.encode(), PLAIN.encode()]

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loads_or_refuses(data: bytes) -> None:
    try:
        reg = load_registry(data)
    except RegistryError as err:
        assert "\n" not in str(err) and str(err).startswith("<registry bytes>: ")
        return
    assert isinstance(reg, Registry) and len(reg) > 0
    reg.slots  # noqa: B018 - the lookup tables build for anything that loaded
    assert reg.meta.skipped_rows >= 0


@FUZZ
@given(
    st.sampled_from([b"<?xml version='1.0'?>", b"Service Name,", b"| Service Name | Port Number"]),
    st.binary(max_size=400),
)
def test_random_bytes_behind_a_format_opening(opening, tail):
    loads_or_refuses(opening + tail)


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_valid_registries_cut_short_or_overwritten(valid, data):
    cut = data.draw(st.integers(0, len(valid)))
    damaged = bytearray(valid[:cut])
    for _ in range(data.draw(st.integers(0, 4))):
        if damaged:
            at = data.draw(st.integers(0, len(damaged) - 1))
            damaged[at] = data.draw(st.integers(0, 255))
    loads_or_refuses(bytes(damaged))


def test_each_valid_sample_loads():
    assert [len(load_registry(v)) for v in VALID] == [1, 1, 2, 2]
