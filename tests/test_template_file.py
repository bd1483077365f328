"""The committed workbook_template/ must be what the builder makes today.

Bytes differ between saves (zip timestamps), so the comparison is of content: sheets and their
visibility, every cell's value and number format, merged cells, frozen panes, data validations,
conditional formats, tables, charts and defined names. When this fails, run `xlkpi template`.
"""

from io import BytesIO
from pathlib import Path

import openpyxl

from xlkpi.tracker import build as workbook

TEMPLATE = Path(__file__).resolve().parent.parent / "workbook_template" / "xlkpi-tracker.xlsx"


def content(wb: openpyxl.Workbook) -> dict:
    sheets = {}
    for ws in wb.worksheets:
        sheets[ws.title] = {
            "state": ws.sheet_state,
            "cells": [(c.coordinate, c.value, c.number_format) for row in ws.iter_rows()
                      for c in row if c.value is not None],
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "freeze": ws.freeze_panes,
            "validations": sorted((dv.type, dv.formula1, str(dv.sqref))
                                  for dv in ws.data_validations.dataValidation),
            "conditional": sorted((str(rng.sqref), rule.type, tuple(rule.formula or ()))
                                  for rng in ws.conditional_formatting for rule in rng.rules),
            "tables": sorted((t.displayName, t.ref) for t in ws.tables.values()),
            "charts": len(ws._charts),
        }
    names = sorted((name, defined.attr_text) for name, defined in wb.defined_names.items())
    return {"sheets": sheets, "order": wb.sheetnames, "names": names}


def test_committed_template_matches_the_builder():
    saved = BytesIO()
    workbook.template_workbook().save(saved)
    built = openpyxl.load_workbook(BytesIO(saved.getvalue()))
    committed = openpyxl.load_workbook(TEMPLATE)
    assert content(committed) == content(built), (
        "workbook_template/ is out of date: run `xlkpi template` and commit the file")


def test_the_comparison_sees_a_changed_cell():
    committed = openpyxl.load_workbook(TEMPLATE)
    before = content(committed)
    committed["Settings"]["B3"] = "changed"
    assert content(committed) != before
