"""The "xlkpi ID" column an import adds to a data sheet is hidden in the saved file, and stays
hidden through refresh. The save patches the original sheet XML (lossless refresh), whose
<cols> said nothing of the new column: it showed."""

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils import get_column_letter

from xlkpi.cli import cli
from xlkpi.tracker.merge import ID_HEADER
from xlkpi.xlsx import sheetpatch

EXPORT = Path(__file__).parent / "fixtures" / "exports" / "hubspot_deals.csv"


def run(*args: object):
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def id_column(path: Path):
    ws = openpyxl.load_workbook(path)["Opportunities"]
    header = [cell.value for cell in ws[1]]
    return ws.column_dimensions[get_column_letter(header.index(ID_HEADER) + 1)]


@pytest.mark.slow
def test_the_id_column_is_hidden_after_import_and_refresh(tmp_path):
    path = tmp_path / "tracker.xlsx"
    run("new", path, "--year", 2026, "--reps", "Anna,Boris")
    run("import", path, EXPORT)
    assert id_column(path).hidden
    run("refresh", path)
    assert id_column(path).hidden
    assert id_column(path).width == 13  # the original's other columns as they were


def test_a_column_the_original_describes_is_left_as_the_person_set_it():
    head = (b'<worksheet><cols><col min="1" max="2" width="20" customWidth="1"/></cols>'
            b"<sheetData>")
    generated = (b'<worksheet><cols><col min="2" max="2" width="9" hidden="1"/>'
                 b'<col min="5" max="5" width="13" hidden="1"/></cols><sheetData>')
    assert sheetpatch._with_hidden_columns(head, generated) == (  # noqa: SLF001
        b'<worksheet><cols><col min="1" max="2" width="20" customWidth="1"/>'
        b'<col min="5" max="5" width="13" hidden="1" customWidth="1"/></cols><sheetData>')
    assert sheetpatch._with_hidden_columns(b"<worksheet><sheetData>", generated) == (  # noqa: SLF001
        b'<worksheet><cols><col min="2" max="2" width="9" hidden="1" customWidth="1"/>'
        b'<col min="5" max="5" width="13" hidden="1" customWidth="1"/></cols><sheetData>')
