"""annotator.plot: three charts returning Axes, lazy matplotlib, inert labels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from annotator import plot


def test_bytes_by_service_bars_and_rest(crafted) -> None:
    ax = plot.bytes_by_service(crafted, top=2)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "https/tcp"  # the largest on top
    assert labels[0] == "(all others)"
    widths = [bar.get_width() for bar in ax.patches]
    assert sum(widths) == crafted.flows["bytes"].sum()


def test_flows_by_class_counts_every_flow(any_result) -> None:
    ax = plot.flows_by_class(any_result)
    assert sum(bar.get_width() for bar in ax.patches) == len(any_result.flows)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "consistent",
        "contradicts",
        "none",
    ]


def test_flag_timeline_counts_flagged_flows(any_result) -> None:
    ax = plot.flag_timeline(any_result)
    heights = sum(bar.get_height() for bar in ax.patches)
    assert heights == any_result.flows["severity"].notna().sum()


def test_large_counts_are_written_out_not_scaled_by_an_offset() -> None:
    """A flood's million flows read as 1,000,000 on the axis, not 1.0 and a "1e6"."""
    stamps = pd.date_range("2026-01-01", periods=1_200_000, freq="ms", tz="UTC")
    flows = pd.DataFrame(
        {
            "port_class": "system",
            "evidence": "none",
            "severity": "info",
            "first_seen": stamps,
        }
    )
    result = type("Flood", (), {"flows": flows})()
    for ax, axis in (
        (plot.flows_by_class(result), "xaxis"),
        (plot.flag_timeline(result, bins=2), "yaxis"),
    ):
        ax.figure.canvas.draw()
        ticks = getattr(ax, axis)
        labels = [t.get_text() for t in ticks.get_ticklabels() if t.get_text()]
        assert ticks.get_offset_text().get_text() == ""
        assert all(label.replace(",", "").isdigit() for label in labels), labels
        assert max(int(label.replace(",", "")) for label in labels) >= 500_000, labels


def test_dollar_signs_stay_literal(crafted) -> None:
    crafted.flows["service"] = pd.array(
        ["$x^2$", *crafted.flows["service"].tolist()[1:]], dtype="str"
    )
    ax = plot.bytes_by_service(crafted)
    svg = plot.to_svg(ax)
    assert "$x^2$" in svg  # drawn as the characters, not as mathematics


def test_draws_on_a_given_axes(any_result) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 3)
    assert plot.bytes_by_service(any_result, ax=axes[0]) is axes[0]
    assert plot.flows_by_class(any_result, ax=axes[1]) is axes[1]
    assert plot.flag_timeline(any_result, ax=axes[2]) is axes[2]


def test_svg_is_inline_ready(any_result) -> None:
    svg = plot.to_svg(plot.flows_by_class(any_result))
    assert svg.startswith("<svg") and "<?xml" not in svg and "<metadata" not in svg


def test_empty_result_still_draws(any_result) -> None:
    any_result.flows = any_result.flows.iloc[0:0]
    for chart in (plot.bytes_by_service, plot.flows_by_class, plot.flag_timeline):
        assert chart(any_result) is not None


def test_matplotlib_is_not_imported_by_annotator_or_the_report_stage() -> None:
    code = (
        "import sys, annotator, annotator.report\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
        "import annotator.plot\n"
        "assert 'matplotlib' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_charts_leave_pyplot_alone() -> None:
    folder = str(Path(__file__).parent)
    code = (
        "import sys\n"
        f"sys.path.insert(0, {folder!r})\n"
        "import conftest\n"
        "from annotator import plot\n"
        "r = conftest.make_result()\n"
        "plot.to_svg(plot.bytes_by_service(r))\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
