"""The Start sheet: the on-ramp a sales manager reads first.

Three steps to a working tracker, the tabs, each KPI and why it matters, setting targets,
getting data in, the Excel functions with examples that work as typed in this workbook, and at
the bottom how the numbers are computed. Every word comes from the language in force
(core.lang, section "start"); sheet, table and column names from the language's "sheets" and
"columns", so an example such as Сделки[ДатаЗакрытия] names what this workbook holds.
"""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.kpis import KPIS
from xlkpi.tracker.cells import print_setup, text_cell
from xlkpi.tracker.model import (
    CHANNELS,
    DATA_COLUMNS,
    DATA_SHEETS,
    EMAILS,
    LEADERBOARD,
    LEADS,
    OPPORTUNITIES,
    SETTINGS,
    SPEND,
    STAGES,
    START,
    TARGETS,
    TEAM,
    Settings,
    title,
)
from xlkpi.tracker.styles import HEADER_FILL, INPUT_FILL

# Column widths (characters). Texts span B:F; the KPI table uses every column. 165 characters
# print on one landscape page at about 75 %.
WIDTHS = {"A": 24, "B": 15, "C": 44, "D": 42, "E": 12, "F": 28}
LAST_COL = len(WIDTHS)
LINE_HEIGHT = 15  # points per line of 11-point text
# Fonts named, as the workbook's body font is: LibreOffice shows an unnamed font as a serif.
BODY = "Calibri"
TITLE = Font(name=BODY, size=16, bold=True, color="1F3864")
PROMISE = Font(name=BODY, size=12, color="595959")
SECTION = Font(name=BODY, size=13, bold=True, color="1F3864")
BOLD = Font(name=BODY, bold=True)
HEADER = Font(name=BODY, bold=True, color="FFFFFF")
FORMULA_FONT = Font(name="Consolas", size=10, color="1F3864")
TOP = Alignment(vertical="top", wrap_text=True)
# a little apart from the cell on its left (an indent needs a horizontal alignment)
INDENTED = Alignment(horizontal="left", vertical="top", wrap_text=True, indent=1)
ROW_RULE = Border(bottom=Side(style="thin", color="D9D9D9"))
# Who fills a tab in (the "tabs" table), as the key of the word for it.
_TYPED, _PASTED, _GENERATED = "start.tabs.typed", "start.tabs.pasted", "start.tabs.generated"


def _names() -> dict[str, str]:
    """The fields every start text may use: sheet titles ({settings}, {opportunities} …) and
    data-sheet column names ({owner_column}, {stage_column} …), in the language in force."""
    sheets = (START, SETTINGS, TARGETS, TEAM, LEADERBOARD, CHANNELS, STAGES, *DATA_SHEETS)
    names = {sheet.lower(): title(sheet) for sheet in sheets}
    for columns in DATA_COLUMNS.values():
        names.update({f"{column.lower()}_column": lang.text(f"columns.{column}")
                      for column in columns})
    return names


def table_reference(sheet_id: str, column: str) -> str:
    """Opportunities[CloseDate], or Сделки[ДатаЗакрытия] in Russian: a data sheet's table is
    named after its sheet, its columns after their headers."""
    return f"{title(sheet_id)}[{lang.text(f'columns.{column}')}]"


def function_example(function: str, *arguments: str) -> str:
    """=CLOSE_RATE(a, b, "2026-10") with the language's argument separator (";" in Russian
    Excel and LibreOffice)."""
    separator = lang.text("language.formula_separator")
    return f"={function}(" + f"{separator} ".join(arguments) + ")"


def _quoted(text: object) -> str:
    return '"' + str(text).replace('"', '""') + '"'


def examples(settings: Settings) -> list[tuple[str, str]]:
    """(what it computes, the formula as typed) for the Excel functions block."""
    year = settings.year
    rep = settings.reps[0] if settings.reps else lang.text("start.functions.example_rep")
    opportunity = {column: table_reference(OPPORTUNITIES, column)
                   for column in DATA_COLUMNS[OPPORTUNITIES]}
    email = {column: table_reference(EMAILS, column) for column in DATA_COLUMNS[EMAILS]}
    label = {"year": year, "rep": rep}
    return [
        (lang.text("start.functions.close_rate", **label),
         function_example("CLOSE_RATE", opportunity["Stage"], opportunity["CloseDate"],
                          _quoted(f"{year}-10"))),
        (lang.text("start.functions.won_revenue", **label),
         function_example("WON_REVENUE", opportunity["Amount"], opportunity["Stage"],
                          opportunity["CloseDate"], _quoted(year), opportunity["Owner"],
                          _quoted(rep))),
        (lang.text("start.functions.sql_count", **label),
         function_example("SQL_COUNT", table_reference(LEADS, "SQLDate"),
                          _quoted(f"{year}-Q4"))),
        (lang.text("start.functions.cost_per_lead", **label),
         function_example("COST_PER_LEAD", table_reference(SPEND, "Spend"),
                          table_reference(SPEND, "SpendDate"), table_reference(LEADS, "LeadDate"),
                          _quoted(f"{year}-10"))),
        (lang.text("start.functions.email_reply_rate", **label),
         function_example("EMAIL_REPLY_RATE", email["Replied"], email["Sent"], email["Bounced"],
                          email["SendDate"], _quoted(f"{year}-10"))),
    ]


_NARROW = frozenset("ijlt.,;:'!|()[]fr-/")


def _char_width(char: str) -> float:
    """A character's width against an average lower-case Latin letter (11-point sans serif)."""
    if char in _NARROW:
        return 0.6
    if "А" <= char <= "я" or char in "Ёё":
        return 1.4 if char.isupper() else 1.15
    if char in "mwMW":
        return 1.5
    return 1.3 if char.isupper() else 1.0


def _lines(text: str, width: float, bold: bool = False, mono: bool = False) -> int:
    """How many lines ``text`` wraps to, word by word, in a cell ``width`` characters wide (a
    column's width unit holds about 1.05 average letters in LibreOffice's fallback font, more in
    Calibri; less 2 for the indent). A little generous: a cut text is worse than a blank
    line."""
    room = width - 2
    scale = 1.1 if bold else 1.0
    count = 0
    for paragraph in str(text).split("\n"):
        count, used = count + 1, 0.0
        for word in paragraph.split(" "):
            size = (1.1 * len(word) if mono else
                    sum(_char_width(char) for char in word) * scale)
            if used and used + 0.6 + size > room:
                count, used = count + 1, size
            else:
                used += (0.6 if used else 0.0) + size
    return count


def _width(first_col: int, last_col: int) -> int:
    return sum(list(WIDTHS.values())[first_col - 1:last_col])


class _Page:
    """Writes the sheet top to bottom; each row is as high as its longest wrapped text."""

    def __init__(self, ws: Worksheet, names: dict[str, str]):
        self.ws, self.names, self.row = ws, names, 1
        for letter, width in WIDTHS.items():
            ws.column_dimensions[letter].width = width

    def text(self, key: str, **values: object) -> str:
        return lang.text(key, **{**self.names, **values})

    def cell(self, col: int, value: str, font: Font | None = None, last_col: int | None = None,
             fill=None, border: Border | None = None) -> int:
        """Write ``value`` into ``col`` (merged through ``last_col``); the lines it takes."""
        last_col = last_col or col
        cell = text_cell(self.ws, self.row, col, value, font, fill=fill)
        cell.alignment = TOP if col == 1 else INDENTED
        if last_col > col:
            self.ws.merge_cells(start_row=self.row, start_column=col, end_row=self.row,
                                end_column=last_col)
        if border is not None:
            for column in range(col, last_col + 1):
                self.ws.cell(self.row, column).border = border
        return _lines(value, _width(col, last_col), bold=font is not None and bool(font.b),
                      mono=font is FORMULA_FONT)

    def finish_row(self, lines: int) -> None:
        self.ws.row_dimensions[self.row].height = LINE_HEIGHT * max(1, lines)
        self.row += 1

    def heading(self, key: str, new_page: bool = False) -> None:
        """A section's title; ``new_page``: printed at the top of a page."""
        if new_page:
            self.ws.row_breaks.append(Break(id=self.row))
        self.row += 1
        text_cell(self.ws, self.row, 1, self.text(key), SECTION)
        self.ws.row_dimensions[self.row].height = 24
        self.row += 1

    def line(self, label: str, text: str, text_font: Font | None = None) -> None:
        lines = max(self.cell(1, label, BOLD),
                    self.cell(2, text, text_font, last_col=LAST_COL))
        self.finish_row(lines)

    def keyed(self, key: str) -> None:
        """The line ``start.<key>_label`` | ``start.<key>``."""
        self.line(self.text(f"start.{key}_label"), self.text(f"start.{key}"))

    def table_header(self, labels: list[str]) -> None:
        """White on blue across the page; the last label spans the columns left."""
        lines = [self.cell(col, label, HEADER, fill=HEADER_FILL,
                           last_col=LAST_COL if col == len(labels) else None)
                 for col, label in enumerate(labels, 1)]
        for col in range(len(labels) + 1, LAST_COL + 1):
            self.ws.cell(self.row, col).fill = HEADER_FILL
        self.finish_row(max(lines))


def write_start(ws: Worksheet, settings: Settings, titles: dict[str, str]) -> None:
    page = _Page(ws, _names())
    text_cell(ws, 1, 1, page.text("start.title"), TITLE)
    ws.row_dimensions[1].height = 27
    page.row = 2
    page.finish_row(page.cell(1, page.text("start.promise"), PROMISE, last_col=LAST_COL) * 1.1)
    _steps(page)
    _tabs(page, titles)
    _kpis(page)
    _targets(page)
    _data(page)
    _functions(page, settings)
    _computed(page)
    ws.sheet_view.showGridLines = False
    print_setup(ws, f"A1:F{page.row - 1}", None)


def _steps(page: _Page) -> None:
    page.heading("start.steps.heading")
    sheets = ", ".join(title(sheet) for sheet in DATA_SHEETS)
    for step in ("one", "two", "three"):
        page.line(page.text(f"start.steps.{step}_label"),
                  page.text(f"start.steps.{step}", data_sheets=sheets))
    page.keyed("steps.no_python")


def _tabs(page: _Page, titles: dict[str, str]) -> None:
    page.heading("start.tabs.heading")
    page.table_header([page.text("start.tabs.col_tab"), page.text("start.tabs.col_who"),
                       page.text("start.tabs.col_what")])
    rep_tabs = ", ".join(rep if rep == tab else page.text("start.tabs.rep_tab", rep=rep, tab=tab)
                         for rep, tab in titles.items()) or page.text("start.tabs.no_reps")
    rows = [(title(START), _GENERATED, page.text("start.tabs.start")),
            (title(SETTINGS), _TYPED, page.text("start.tabs.settings")),
            (title(TARGETS), _TYPED, page.text("start.tabs.targets")),
            (title(TEAM), _GENERATED, page.text("start.tabs.team")),
            (page.text("start.tabs.reps_label"), _GENERATED,
             page.text("start.tabs.reps", reps=rep_tabs)),
            (title(LEADERBOARD), _GENERATED, page.text("start.tabs.leaderboard")),
            (title(CHANNELS), _GENERATED, page.text("start.tabs.channels"))]
    for sheet in DATA_SHEETS:
        columns = ", ".join(lang.text(f"columns.{column}") for column in DATA_COLUMNS[sheet])
        key = "start.tabs.data_opportunities" if sheet == OPPORTUNITIES else "start.tabs.data"
        rows.append((title(sheet), _PASTED, page.text(key, columns=columns)))
    rows.append((title(STAGES), _TYPED, page.text("start.tabs.stages")))
    for name, who, what in rows:
        fill = INPUT_FILL if who != _GENERATED else None
        lines = max(page.cell(1, name, BOLD, border=ROW_RULE),
                    page.cell(2, page.text(who), fill=fill, border=ROW_RULE),
                    page.cell(3, what, last_col=LAST_COL, border=ROW_RULE))
        page.finish_row(lines)


def _kpis(page: _Page) -> None:
    page.heading("start.kpis.heading", new_page=True)
    page.line(page.text("start.kpis.intro_label"), page.text("start.kpis.intro"))
    page.table_header([page.text(f"start.kpis.col_{column}") for column in
                       ("kpi", "better", "why", "definition", "where", "function")])
    for kpi in KPIS:
        better = "down" if kpi.direction == "down" else "up"
        where = "start.kpis.team_only" if kpi.team_only else "start.kpis.team_and_reps"
        lines = max(
            page.cell(1, lang.active().kpi_name(kpi.id), BOLD, border=ROW_RULE),
            page.cell(2, page.text(f"start.kpis.better_{better}"), border=ROW_RULE),
            page.cell(3, page.text(f"start.why.{kpi.id}"), border=ROW_RULE),
            page.cell(4, lang.text(f"kpis.{kpi.id}.definition"), border=ROW_RULE),
            page.cell(5, page.text(where), border=ROW_RULE),
            page.cell(6, kpi.function, FORMULA_FONT, border=ROW_RULE))
        page.finish_row(lines)


def _targets(page: _Page) -> None:
    page.heading("start.targets.heading")
    for key in ("monthly", "year", "team", "typed", "advice"):
        page.keyed(f"targets.{key}")


def _data(page: _Page) -> None:
    page.heading("start.data.heading")
    for key in ("import", "paste", "stages", "owners", "refresh"):
        page.keyed(f"data.{key}")


def _functions(page: _Page, settings: Settings) -> None:
    page.heading("start.functions.heading")
    page.keyed("functions.intro")
    for label, formula in examples(settings):
        page.line(label, formula, text_font=FORMULA_FONT)
    page.line(page.text("start.functions.periods_label"),
              page.text("start.functions.periods", year=settings.year))


def _computed(page: _Page) -> None:
    page.heading("start.computed.heading")
    for key in ("period", "attainment", "colours", "team", "ytd", "customers", "more"):
        page.keyed(f"computed.{key}")
