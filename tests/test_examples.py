"""The shipped example input files (``examples/``): each one builds its document, in both languages."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
import yaml

from tests.conftest import REPO, cli

EXAMPLES = REPO / "examples"


def _all_text(path: Path) -> str:
    document = docx.Document(str(path))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([*(p.text for p in document.paragraphs), *cells])


def _build(tmp_path: Path, kind: str, source: Path, lang: str) -> Path:
    out = tmp_path / f"{source.stem}.{lang}.docx"
    result = cli(tmp_path / "no-home", "template", kind, "--from", str(source), "--lang", lang, "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_a_minutes_and_a_report_file_in_chinese_and_english() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == [
        "minutes-en.yaml", "minutes-zh.yaml", "report-en.yaml", "report-zh.yaml"]
    assert all((EXAMPLES / name).read_bytes().startswith(b"%PDF-") for name in ("lease.pdf", "lease-signed.pdf"))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", ["minutes-zh", "minutes-en"])
def test_minutes_examples_build_their_minutes(name: str, lang: str, tmp_path: Path) -> None:
    source = EXAMPLES / f"{name}.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    text = _all_text(_build(tmp_path, "minutes", source, lang))
    for topic in data["topics"]:
        assert topic["title"] in text and topic["result"] in text
    for action in data["actions"] + data["follow_up"]:
        assert action["item"] in text and action["owner"] in text
    assert data["chair"] in text and data["place"] in text and "2026-11-06" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", ["report-zh", "report-en"])
def test_report_examples_build_their_report_with_computed_figures(name: str, lang: str, tmp_path: Path) -> None:
    source = EXAMPLES / f"{name}.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    document = docx.Document(str(_build(tmp_path, "report", source, lang)))
    survey = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
    assert [row[0] for row in survey[1:-1]] == [row["channel"] for row in data["satisfaction"]]
    assert survey[-1][1:] == ["1980", "1819", "91.8%"]  # computed from the channels (rates are cut, not rounded)
    text = _all_text(tmp_path / f"{name}.{lang}.docx")
    for issue in data["issues"]:
        assert issue["issue"] in text and issue["status"] in text
    assert "21.4%" in text  # complaints 14 -> 11, against the 20% target
