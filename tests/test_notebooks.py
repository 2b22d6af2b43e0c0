"""The notebooks in notebooks/ run from top to bottom and show what they promise.

Each notebook is executed with nbclient in a fresh python3 kernel (this
environment's interpreter), from the notebooks/ folder as Jupyter would run it.
The committed files must carry no outputs or execution counts, and must be what
notebooks/make_notebooks.py writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("flow_analysis.ipynb", "triage.ipynb")


def execute(name: str) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel with notebooks/ as its working folder."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Every stream and plain-text result the notebook produced, joined."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"cell {cell.id}: {out.get('ename')}"
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out:
                parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_have_no_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [], f"{name}: cell {cell.id} has outputs"
        assert cell.execution_count is None, f"{name}: cell {cell.id} has an execution count"


def test_committed_notebooks_are_what_the_builder_writes(tmp_path: Path) -> None:
    """Regenerating the notebooks changes nothing (cells live in make_notebooks.py)."""
    script = NOTEBOOKS / "make_notebooks.py"
    copy = tmp_path / "make_notebooks.py"
    copy.write_text(script.read_text(encoding="utf-8"), encoding="utf-8")
    run = subprocess.run([sys.executable, str(copy)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    for name in NAMES:
        assert (tmp_path / name).read_text() == (NOTEBOOKS / name).read_text(), name


def test_flow_analysis_notebook_runs() -> None:
    nb = execute("flow_analysis.ipynb")
    text = outputs_text(nb)
    assert "17 flows, 9 findings" in text
    # services by bytes, evidence verdicts, flagged flows
    assert "https" in text and "personal-agent" in text
    assert "contradicts" in text and "protocol-mismatch" in text
    # registry lookups: 5555 with its unauthorized-use note, 8180 unassigned
    assert "UNAUTHORIZED" in text and "8180 unassigned" in text
    images = [
        out
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if "data" in out and "image/png" in out.data
    ]
    assert len(images) == 3, "one image per chart"


def test_triage_notebook_writes_the_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "reports"
    monkeypatch.setenv("ANNOTATOR_NOTEBOOK_OUT", str(out))  # the kernel inherits it
    nb = execute("triage.ipynb")
    text = outputs_text(nb)
    assert "A registered port is not a verdict on the traffic" in text
    assert "high protocol-mismatch" in text
    for name in ("report.html", "report.md", "report.json", "flows.csv"):
        assert (out / name).stat().st_size > 0, name
        assert str(out / name) in text, f"the notebook says where {name} went"
    assert len(json.loads((out / "report.json").read_text(encoding="utf-8"))["flows"]) == 17
    assert "<html" in (out / "report.html").read_text(encoding="utf-8").lower()
    assert not list(NOTEBOOKS.glob("report.*")), "nothing is written into the repository"
