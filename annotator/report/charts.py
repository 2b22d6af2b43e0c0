"""Charts of an annotation: bytes by service, flows by port class and evidence,
flagged flows over time (public as :mod:`annotator.plot`).

Each function takes an :class:`~annotator.result.AnnotateResult`, draws on
``ax`` (or on a new figure when ``ax`` is None) and returns the matplotlib
Axes, so the same charts serve notebooks and the HTML report (which embeds
them as SVG).  matplotlib is imported here only, on first use, never by
``import annotator``; new figures are made with :class:`matplotlib.figure.Figure`
directly, so pyplot's global state and backend are left alone.  Labels that
may come from the capture are escaped so ``$...$`` is never read as
mathematics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annotator._units import human_bytes
from annotator.report.safety import mathtext_safe
from annotator.triage.severity import SEVERITIES

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Colours shared with the HTML report's severity badges.
__all__ = [
    "EVIDENCE_COLORS",
    "PORT_CLASSES",
    "SEVERITY_COLORS",
    "bytes_by_service",
    "flag_timeline",
    "flows_by_class",
    "to_svg",
]

SEVERITY_COLORS = {"high": "#c62828", "medium": "#ef6c00", "low": "#f9a825", "info": "#1e88e5"}
EVIDENCE_COLORS = {"consistent": "#2e7d32", "contradicts": "#c62828", "none": "#9e9e9e"}
PORT_CLASSES = ("system", "user", "dynamic")

_RC: dict[Any, Any] = {
    "text.usetex": False,
    "svg.fonttype": "none",
    "font.size": 9,
    "svg.hashsalt": "annotator",
}


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    return fig.add_subplot()


def _style(ax: Axes, title: str) -> None:
    ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _count_axis(axis: Any) -> None:
    """Whole counts, written out with thousands separators (1,000,000, not
    1.0 under a "1e6" offset)."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def bytes_by_service(result: Any, *, top: int = 10, ax: Axes | None = None) -> Axes:
    """Horizontal bars: bytes per registered service (top ``top``), rest summed.

    Flows without a registration are labelled by port (``unregistered``) so the
    chart shows where the volume goes, labelled or not.
    """
    import matplotlib

    with matplotlib.rc_context(_RC):
        ax = _axes(ax, (6.5, 3.2))
        flows = result.flows
        label = flows["service"].astype(object).fillna("(unregistered)").astype(str)
        label = label + "/" + flows["transport"].astype(str)
        totals = flows["bytes"].groupby(label.to_numpy()).sum().sort_values(ascending=False)
        if len(totals) > top:
            rest = totals.iloc[top:].sum()
            totals = pd.concat([totals.iloc[:top], pd.Series({"(all others)": rest})])
        names = [mathtext_safe(n) for n in totals.index][::-1]
        values = totals.to_numpy(dtype=float)[::-1]
        bars = ax.barh(names, values, color="#37474f")
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                human_bytes(value),
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_xlabel("bytes")
        ax.xaxis.set_major_formatter(lambda v, _pos: human_bytes(v))
        if not len(values):
            ax.text(0.5, 0.5, "no flows", transform=ax.transAxes, ha="center")
        _style(ax, f"Bytes by service (top {top})")
    return ax


def flows_by_class(result: Any, *, ax: Axes | None = None) -> Axes:
    """Stacked bars: flows per port class (system, user, dynamic), split by
    the evidence verdict (consistent, contradicts, none)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        ax = _axes(ax, (6.5, 2.6))
        flows = result.flows
        counts = (
            pd.crosstab(flows["port_class"].astype(str), flows["evidence"].astype(str))
            if len(flows)
            else pd.DataFrame()
        )
        classes = list(PORT_CLASSES) + [c for c in counts.index if c not in PORT_CLASSES]
        counts = counts.reindex(index=classes, columns=list(EVIDENCE_COLORS), fill_value=0)
        left = np.zeros(len(classes))
        for verdict, colour in EVIDENCE_COLORS.items():
            values = counts[verdict].to_numpy(dtype=float)
            ax.barh(classes, values, left=left, color=colour, label=verdict)
            left += values
        ax.invert_yaxis()
        _count_axis(ax.xaxis)
        ax.set_xlabel("flows")
        ax.legend(
            title="evidence",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
        )
        _style(ax, "Flows by port class and evidence verdict")
    return ax


def flag_timeline(result: Any, *, ax: Axes | None = None, bins: int = 40) -> Axes:
    """Stacked histogram over time of flagged flows (by first packet), one
    colour per severity."""
    import matplotlib
    import matplotlib.dates as mdates

    with matplotlib.rc_context(_RC):
        ax = _axes(ax, (6.5, 2.6))
        flows = result.flows
        flagged = flows[flows["severity"].notna()] if len(flows) else flows
        if len(flagged):
            times = flagged["first_seen"].dt.tz_convert("UTC").dt.tz_localize(None)
            numbers = mdates.date2num(times.to_numpy())
            low, high = numbers.min(), numbers.max()
            if high <= low:
                high = low + 1 / 86400
            edges = np.linspace(low, high, bins + 1)
            severity = flagged["severity"].astype(str).to_numpy()
            series = [numbers[severity == s] for s in SEVERITIES]
            ax.hist(
                series,
                bins=edges.tolist(),
                stacked=True,
                color=[SEVERITY_COLORS[s] for s in SEVERITIES],
                label=list(SEVERITIES),
            )
            locator = mdates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        else:
            ax.text(0.5, 0.5, "no flagged flows", transform=ax.transAxes, ha="center")
        _count_axis(ax.yaxis)
        ax.set_ylabel("flagged flows")
        _style(ax, "Flagged flows over time (UTC)")
    return ax


def to_svg(ax: Axes) -> str:
    """The figure of ``ax`` as an inline ``<svg>`` element (no XML prolog, no
    metadata, no external references), for embedding in HTML."""
    import io
    import re

    import matplotlib

    figure = ax.get_figure(root=True)
    if figure is None:
        raise ValueError("to_svg: the axes belong to no figure")
    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
        )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
