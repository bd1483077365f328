"""The "This month" dashboard, the charts and the printed pages.

The dashboard's numbers equal the Team tab's pacing block and the report's pacing of the as-of
month after a LibreOffice recalculation; every chart's value axis starts at 0 and an empty
tracker's charts have a sensible scale; each Team, rep, dashboard, rep view and Leaderboard tab
prints as one landscape page. Hand-worked numbers for typed reps: test_template_no_python.py.
"""

import datetime as dt
import io
import re
import zipfile

import openpyxl
import pytest

from tests import libreoffice
from xlkpi import demo
from xlkpi.core import lang
from xlkpi.core.kpis import KPI_BY_ID, KPIS
from xlkpi.report import report
from xlkpi.tracker import build, model
from xlkpi.tracker.charts import DASHBOARD_CHARTS, SMALL_RATES, chart_title_of
from xlkpi.tracker.dashboard import TABLE_ROW, TILE_KPIS, TILE_ROW
from xlkpi.tracker.leaderboard import rep_rows_count

AS_OF = dt.date(2026, 9, 17)
REPS = ["Anna", "Boris"]


@pytest.fixture(scope="module")
def demo_bytes():
    tracker = demo.demo_tracker(2026, reps=REPS, as_of=AS_OF)
    out = io.BytesIO()
    build.new_workbook(tracker, streamed=False).save(out)
    return tracker, out.getvalue()


def charts_of(data: bytes) -> dict[str, list[str]]:
    """Sheet title → the XML of its charts, read from the package."""
    package = zipfile.ZipFile(io.BytesIO(data))
    names = package.namelist()
    book = package.read("xl/workbook.xml").decode()
    rels = package.read("xl/_rels/workbook.xml.rels").decode()
    targets = {rid: target for target, rid in re.findall(
        r'Target="/?(?:xl/)?([^"]+)"[^>]*?Id="(rId\d+)"', rels)}
    found = {}
    for title, rid in re.findall(r'<sheet [^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', book):
        sheet = "xl/" + targets[rid]
        sheet_rels = sheet.replace("worksheets/", "worksheets/_rels/") + ".rels"
        charts = []
        if sheet_rels in names:
            for drawing in re.findall(r'Target="([^"]*drawings/[^"]+)"',
                                      package.read(sheet_rels).decode()):
                drawing = "xl/drawings/" + drawing.rsplit("/", 1)[1]
                drawing_rels = drawing.replace("drawings/", "drawings/_rels/") + ".rels"
                for chart in re.findall(r'Target="([^"]*charts/[^"]+)"',
                                        package.read(drawing_rels).decode()):
                    charts.append(package.read("xl/charts/" + chart.rsplit("/", 1)[1]).decode())
        found[title] = charts
    return found


def chart_title(xml: str) -> str:
    """The title's first line (a chart of several KPIs has a note under it)."""
    return re.findall(r"<a:t>([^<]*)</a:t>", xml.split("<plotArea>")[0])[0]


def test_every_value_axis_starts_at_zero(demo_bytes):
    _, data = demo_bytes
    charts = charts_of(data)
    tabs = [model.DASHBOARD, model.TEAM, *REPS, model.REP_VIEW, model.LEADERBOARD]
    for title in tabs:
        assert charts[title], title
        for xml in charts[title]:
            axes = re.findall(r"<valAx>.*?</valAx>", xml)
            assert axes, title
            for axis in axes:
                assert '<min val="0"/>' in axis, (title, chart_title(xml))


def series_names(xml: str) -> list[str]:
    return re.findall(r"<tx><v>([^<]*)</v></tx>", xml)


def test_the_dashboard_charts_every_kpi(demo_bytes):
    _, data = demo_bytes
    charts = charts_of(data)[model.DASHBOARD]
    titles = [chart_title(xml) for xml in charts]
    assert titles == [chart_title_of(key) for key in DASHBOARD_CHARTS]
    charted = {name for xml in charts for name in series_names(xml)}
    names = {kpi.name for kpi in KPIS if kpi.id != "revenue_growth"}
    assert names <= charted
    # a rate's axis: 0 to 100 %, but a small rate's; the others keep a scale series in hidden
    # cells
    for key, xml in zip(DASHBOARD_CHARTS, charts, strict=True):
        kpis = [KPI_BY_ID[kpi_id] for kpi_id in DASHBOARD_CHARTS[key]]
        fixed = kpis[0].unit == "ratio" and not SMALL_RATES & set(DASHBOARD_CHARTS[key])
        assert ('<max val="1"/>' in xml) == fixed, key
        assert ("'This month'!$R$" in xml) == (not fixed), key
        assert '<plotVisOnly val="0"/>' in xml, key
        # several KPIs: the legend names the bars, the note under the title the dashed targets
        several = len(kpis) > 1
        assert (lang.text("charts.targets_dashed") in xml) == several, key
        deleted = re.findall(r'<legendEntry><idx val="(\d+)"/><delete val="1"/>', xml)
        targets = [str(len(kpis) + i) for i in range(len(kpis))]
        assert all(idx in deleted for idx in targets) == several, (key, deleted)


def test_the_dashboard_charts_share_an_axis_only_for_kpis_of_one_scale(demo_bytes):
    """A small KPI charted next to a large one is a flat line at 0 (the average deal next to
    won revenue, cost per lead next to acquisition cost, positive replies next to e-mails
    delivered): the KPIs of a chart are of one unit, and each reaches at least a sixth of the
    chart's top, over the demo year's actuals and targets (a rate on a 0-100 % axis, a sixth of
    100 %)."""
    tracker, data = demo_bytes
    charts = charts_of(data)[model.DASHBOARD]
    tops: dict[str, float] = {}
    for line in report(tracker, "all", None):
        if line["rep"] == model.TEAM_NAME and line["period"] != "YTD":
            values = [abs(v) for v in (line["actual"], line["target"]) if v is not None]
            tops[line["kpi"]] = max([tops.get(line["kpi"], 0), *values])
    by_name = {kpi.name: kpi for kpi in KPIS}
    for xml in charts:
        kpis = [by_name[name] for name in series_names(xml) if name in by_name]
        assert len({kpi.unit for kpi in kpis}) == 1, chart_title(xml)
        top = 1 if '<max val="1"/>' in xml else max(tops[kpi.id] for kpi in kpis)
        for kpi in kpis:
            assert tops[kpi.id] >= top / 6, (chart_title(xml), kpi.id, tops[kpi.id], top)


def test_the_leaderboard_chart_covers_every_ranked_row(demo_bytes):
    """A rep typed into Settings since the last refresh is ranked by formula on one of the spare
    rows: the chart's bars and names span them all, not only the reps of the last refresh."""
    _, data = demo_bytes
    (xml,) = charts_of(data)[model.LEADERBOARD]
    last = model.LEADERBOARD_FIRST_ROW + rep_rows_count(len(REPS)) - 1
    refs = re.findall(r"<f>([^<]*)</f>", xml)
    assert f"'Leaderboard'!$E${model.LEADERBOARD_FIRST_ROW}:$E${last}" in refs
    assert f"'Leaderboard'!$B${model.LEADERBOARD_FIRST_ROW}:$B${last}" in refs
    assert all(ref.endswith(f"${last}") for ref in refs), refs
    assert '<tickLblSkip val="1"/>' in xml  # every name shown


def test_generated_tabs_print_as_one_landscape_page(demo_bytes):
    _, data = demo_bytes
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for title in (model.DASHBOARD, model.TEAM, *REPS, model.REP_VIEW, model.LEADERBOARD):
        ws = wb[title]
        assert ws.page_setup.orientation == "landscape", title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, title
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 1), title
        assert ws.print_area, title
        assert ws.page_margins.left <= 0.3 and ws.page_margins.top <= 0.4, title
        assert not ws.row_breaks.brk, title


def test_the_dashboard_reads_the_team_pacing_block(demo_bytes):
    """Formulas, no scans: every number of the table and the tiles points at the Team tab."""
    _, data = demo_bytes
    ws = openpyxl.load_workbook(io.BytesIO(data))[model.DASHBOARD]
    for row in range(TABLE_ROW + 1, TABLE_ROW + 1 + len(KPIS)):
        for col in range(4, 9):
            assert re.fullmatch(r"='Team'!\$[C-G]\$\d+", ws.cell(row, col).value)
    assert ws.cell(TILE_ROW + 1, 1).value.startswith("='Team'!$E$")


@pytest.mark.libreoffice
@pytest.mark.skipif(libreoffice.soffice() is None, reason="no LibreOffice")
def test_the_dashboard_equals_the_team_pacing_block_and_the_report(demo_bytes, tmp_path):
    tracker, data = demo_bytes
    path = tmp_path / "demo.xlsx"
    path.write_bytes(data)
    wb = openpyxl.load_workbook(libreoffice.convert(path, tmp_path / "out"), data_only=True)
    ws, team = wb[model.DASHBOARD], wb[model.TEAM]
    month = f"{AS_OF:%Y-%m}"
    expected = {line["kpi"]: line for line in report(tracker, month, None)
                if line["rep"] == model.TEAM_NAME}
    keys = ("target", "expected", "actual", "projected", "pace")
    pacing_rows = {}  # the last row of a KPI's name: its row of the pacing block
    for (cell,) in team.iter_rows(min_col=1, max_col=1):
        pacing_rows[cell.value] = cell.row
    for offset, kpi in enumerate(KPIS):
        row = TABLE_ROW + 1 + offset
        assert ws.cell(row, 1).value == kpi.name
        pacing_row = pacing_rows[kpi.name]
        for col, key in enumerate(keys, 4):
            got = ws.cell(row, col).value
            assert got == team.cell(pacing_row, col - 1).value, (kpi.id, key)
            want = expected[kpi.id][key]
            if want is None:
                assert got in (None, ""), (kpi.id, key, got)
            else:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (kpi.id, key)
    for index, kpi_id in enumerate(TILE_KPIS):
        assert ws.cell(TILE_ROW + 1, 1 + 2 * index).value == pytest.approx(
            expected[kpi_id]["actual"])
    # the reps for the month, ranked by won revenue, as the report has them
    won = {rep: next(line["actual"] for line in report(tracker, month, rep)
                     if line["kpi"] == "won_revenue") for rep in REPS}
    ranked = sorted(REPS, key=lambda rep: -won[rep])
    from xlkpi.tracker.dashboard import REPS_COL

    lines = {(rep, line["kpi"]): line for rep in REPS
             for line in report(tracker, month, rep)}
    for position, rep in enumerate(ranked, 1):
        row = TABLE_ROW + position
        assert ws.cell(row, REPS_COL).value == position
        assert ws.cell(row, REPS_COL + 1).value == rep
        assert ws.cell(row, REPS_COL + 2).value == pytest.approx(won[rep])
        # the month's target and attainment (blank on the reps' rows once: a regression)
        target = lines[rep, "won_revenue"]["target"]
        assert target is not None
        assert ws.cell(row, REPS_COL + 3).value == pytest.approx(target)
        assert ws.cell(row, REPS_COL + 4).value == pytest.approx(
            lines[rep, "won_revenue"]["attainment"])
        assert ws.cell(row, REPS_COL + 5).value == lines[rep, "deals_won"]["actual"]


@pytest.mark.libreoffice
@pytest.mark.skipif(libreoffice.soffice() is None, reason="no LibreOffice")
def test_an_empty_trackers_charts_have_a_sensible_scale(tmp_path):
    """The scale cells hold the top of an empty chart (10 deals, 10,000 of money, 30 days, 10 %
    for a small rate)."""
    path = tmp_path / "empty.xlsx"
    build.template_workbook().save(path)
    wb = openpyxl.load_workbook(libreoffice.convert(path, tmp_path / "out"), data_only=True)
    ws = wb[model.DASHBOARD]
    from xlkpi.tracker.dashboard import HELPER_COL

    charts_top = TABLE_ROW + len(KPIS) + 2  # under the table (and the 10 spare rep rows)
    scale = sorted({ws.cell(row, HELPER_COL + 5).value
                    for row in range(charts_top, ws.max_row + 1)}
                   - {None})
    assert scale == [0.1, 10, 30, 10000]
