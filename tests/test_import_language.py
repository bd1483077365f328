"""xlkpi import into a Russian tracker: the rows land on its Russian data sheets, under its
Russian headers, the stages on «Этапы», and the report counts them as in an English one."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlkpi.cli import cli
from xlkpi.core import lang

AMOCRM = Path(__file__).parent / "fixtures" / "exports" / "amocrm_deals_utf8_bom.csv"


def run(*args):
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def march(path: Path) -> dict:
    rows = json.loads(run("report", path, "--period", "2026-03", "--format", "json",
                          "--rep", "Team").stdout)
    return {row["kpi"]: row["actual"] for row in rows}


@pytest.mark.slow
def test_amocrm_export_imports_into_a_russian_tracker_as_into_an_english_one(tmp_path):
    figures = {}
    for code in ("en", "ru"):
        path = tmp_path / f"{code}.xlsx"
        run("new", path, "--year", "2026", "--reps", "Анна Петрова,Борис", "--as-of",
            "2026-12-31", "--lang", code)
        first = run("import", path, AMOCRM).stdout
        # the built-in amoCRM names are mapped in either language's Stages sheet
        assert "'Успешно реализовано'" not in first and "'Переговоры'" in first
        again = run("import", path, AMOCRM).stdout
        assert again.rstrip().endswith({"en": "nothing to save",
                                        "ru": "сохранять нечего"}[code]), again
        figures[code] = march(path)
        words = lang.load(code)
        wb = openpyxl.load_workbook(path)
        deals = wb[words.sheet("Opportunities")]
        header = [cell.value for cell in deals[1]]
        assert header[:6] == [words.text(f"columns.{name}") for name in (
            "Opportunity", "Owner", "CreatedDate", "CloseDate", "Stage", "Amount")]
        names = [row[0] for row in deals.iter_rows(min_row=2, values_only=True) if row[0]]
        assert "Поставка серверов" in names and "Лицензии" in names
        stages = [row[0] for row in wb[words.sheet("Stages")].iter_rows(values_only=True)]
        assert "Переговоры" in stages  # the pipeline's own stage, added as Open
        wb.close()
    # 14.03.2026 created, 28.03.2026 closed «Успешно реализовано» (amoCRM's won), 350 000
    assert figures["ru"]["deals_won"] == figures["en"]["deals_won"] == 1
    assert figures["ru"]["won_revenue"] == figures["en"]["won_revenue"] == 350000
    assert figures["ru"] == figures["en"]
