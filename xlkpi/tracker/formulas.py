"""The formula text of the Team and rep tabs: periods, owner blocks, targets, actuals, attainment.

Each KPI's Actual formula is rendered from its recipe (:mod:`xlkpi.core.recipes`): a Count or a
Total becomes COUNTIFS/SUMIFS over whole data columns (rows pasted below a table still count),
for the team (no owner criterion) or for one rep (the criterion cell); on a rep tab, also over
only the rows of each sheet's owner block, with no owner criterion (see tabs.owner_blocks).
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from xlkpi.core.goals import MISMATCH_TOLERANCE, sums
from xlkpi.core.kpis import KPI_BY_ID, Kpi
from xlkpi.core.pacing import accrues
from xlkpi.core.recipes import (
    Actual,
    Before,
    Complement,
    Count,
    Minus,
    Plus,
    Ratio,
    Retained,
    Term,
    Total,
    parts,
)
from xlkpi.tracker.cells import absolute, whole_column
from xlkpi.tracker.model import (
    DATA_COLUMNS,
    OPPORTUNITIES,
    S_AS_OF,
    S_MONTHS_TO_DATE,
    STAGE_CLASS_COLUMN,
    TAB_BLOCK_COUNT_COL,
    TAB_BLOCK_FIRST_COL,
    TAB_BLOCK_LAST_COL,
    TAB_BLOCK_OK_COL,
    TAB_CRITERION_COL,
    TAB_FIRST_MONTH_COL,
    TAB_HEADER_ROW,
    TAB_MATCH_ROW,
    TAB_TARGET_CANDIDATE_COL,
    TAB_TARGET_COUNT_COL,
    TAB_TARGET_ROW_COL,
    TAB_TARGETS_WHO_ROW,
    TAB_THROUGH_ROW,
    TAB_WHO_ROW,
    TAB_YTD_COL,
    TARGETS,
    TARGETS_FIRST_MONTH_COL,
    TARGETS_HEADER_ROW,
    TARGETS_PLAN_COL,
    TARGETS_REP_FLAG_COL,
    TARGETS_SHAPE_COL,
    TARGETS_SHAPE_OK_COL,
    TARGETS_TEAM_FLAG_COL,
    TARGETS_YEAR_COL,
    sheet_ref,
)


def owner_criterion(who: str) -> str:
    """The COUNTIFS criterion that matches exactly ``who``: "=" first (a name starting with
    = < > is not an operator) and the wildcards * ? ~ escaped with ~."""
    return "=" + who.replace("~", "~~").replace("*", "~*").replace("?", "~?")


# --- periods -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """A period as formula expressions: first day, end (first day after), and the same for the
    period before it (for a recipe's Before)."""

    start: str
    end: str
    prev_start: str = ""
    prev_end: str = ""

    def before(self) -> Window:
        assert self.prev_start, "a recipe's Before inside a Before"
        return Window(self.prev_start, self.prev_end)


def month_window(col: int) -> Window:
    c = get_column_letter(col)
    first, through = f"{c}${TAB_HEADER_ROW}", f"{c}${TAB_THROUGH_ROW}"
    return Window(first, f"({through}+1)", f"(EOMONTH({first},-2)+1)", first)


def running_window(end: str) -> Window:
    """Every row dated before ``end`` (a formula expression), from the first row on."""
    return Window("", end)


def ytd_window() -> Window:
    first = f"${get_column_letter(TAB_FIRST_MONTH_COL)}${TAB_HEADER_ROW}"
    through = f"${get_column_letter(TAB_YTD_COL)}${TAB_THROUGH_ROW}"
    # Period.previous of a range: the same months a year earlier.
    return Window(first, f"({through}+1)", f"(EOMONTH({first},-13)+1)",
                  f"(EOMONTH({through},-12)+1)")


# --- actuals -------------------------------------------------------------------------------

@dataclass(frozen=True)
class OwnerBlock:
    """A rep's owner block on one data sheet, as cells of the rep tab: its first and last row,
    and whether it holds all and only the rep's rows."""

    first: str
    last: str
    ok: str


class _Columns:
    """Data columns as references: whole columns, or only a rep's owner block of each sheet in
    ``blocks``; with the owner criterion ``criterion`` (None for the team) where not a block."""

    def __init__(self, letters: dict[str, dict[str, str]], criterion: str | None,
                 blocks: dict[str, OwnerBlock], filters: dict[str, tuple[str, str]] | None = None):
        self.letters = letters
        self.criterion = criterion
        self.blocks = blocks
        self.filters = filters or {}  # sheet → (column, criterion cell): Channels' filter

    def col(self, sheet: str, column: str) -> str:
        whole = whole_column(sheet, self.letters[sheet][column])
        block = self.blocks.get(sheet)
        if block is None:
            return whole
        return f"INDEX({whole},{block.first}):INDEX({whole},{block.last})"

    def owner(self, sheet: str) -> str:
        """The owner criterion pair of a COUNTIFS/SUMIFS ("" for the team, a block, or a sheet
        with no Owner column: its rows are the team's)."""
        if sheet in self.filters:
            column, criterion = self.filters[sheet]
            return f",{self.col(sheet, column)},{criterion}"
        if self.criterion is None or sheet in self.blocks or "Owner" not in DATA_COLUMNS[sheet]:
            return ""
        return f",{self.col(sheet, 'Owner')},{self.criterion}"

    def criteria(self, term: Count | Total, w: Window) -> str:
        """The rows of the term's sheet dated in ``w`` (and of its stage class, and with its
        ``filled`` date column holding a date).

        "Filled" is the criterion ">0", not "<>": a date is a number ≥ 1, and a numeric
        criterion matches numbers only, alike in Excel, LibreOffice and Gnumeric, whereas "<>"
        also matches text (a date typed as text, which the report and every other date
        criterion read as blank) and, in Excel, a formula's "" result."""
        sheet = term.sheet
        ref = self.col(sheet, term.dated_by)
        # no start: everything dated before the end (a running count, channels.py)
        dated = (f'{ref},">="&{w.start},{ref},"<"&{w.end}' if w.start else
                 f'{ref},"<"&{w.end}')
        if term.stage is not None:
            dated += f',{self.col(OPPORTUNITIES, STAGE_CLASS_COLUMN)},"{term.stage}"'
        if term.filled is not None:
            dated += f',{self.col(sheet, term.filled)},">0"'
        return dated + self.owner(sheet)

    def retained(self, term: Retained, w: Window) -> str:
        """Of the rows active on the first day, the share still active on the last: a row is
        active on day d when start ≤ d and (end blank or end > d); whole days, so a time of day
        is compared against d + 1. Blank ends are never tested with a "" criterion. Three
        COUNTIFS, each once: 1 − (started by the first day and ended after it but before the
        period's end) ÷ (started by the first day − ended by it)."""
        starts, ends = self.col(term.sheet, term.start), self.col(term.sheet, term.end)
        day_after_first = f"({w.start}+1)"
        owner = self.owner(term.sheet)
        started = f'COUNTIFS({starts},"<"&{day_after_first}{owner})'
        ended_by_first = (f'COUNTIFS({starts},"<"&{day_after_first},'
                          f'{ends},"<"&{day_after_first}{owner})')
        left = (f'COUNTIFS({starts},"<"&{day_after_first},{ends},">="&{day_after_first},'
                f'{ends},"<"&{w.end}{owner})')
        return f'IFERROR(1-{left}/({started}-{ended_by_first}),"")'


def previous_actuals(term: Term) -> list[str]:
    """The KPIs whose actual in the period before ``term`` uses (Before(Actual(x))), in order:
    on the first month and the year to date their tab holds it in a hidden helper cell."""
    if isinstance(term, Before) and isinstance(term.term, Actual):
        return [term.term.kpi_id]
    found: list[str] = []
    for part in parts(term):
        found += [kpi_id for kpi_id in previous_actuals(part) if kpi_id not in found]
    return found


@dataclass(frozen=True)
class _Scope:
    """Where a term is rendered: the period, the Actual cells of the tab's KPIs in the same
    column (``here``), and those for the period before (``before``: the previous month's
    column, or the hidden helper cells)."""

    window: Window
    here: dict[str, str]
    before: dict[str, str]


def _inline(term: Term, scope: _Scope) -> tuple[Term, _Scope]:
    """The term whose text ``term`` is in ``scope``: another KPI's recipe where no cell holds
    its actual, the term itself over the period before where no cell holds it."""
    while True:
        if isinstance(term, Actual) and term.kpi_id not in scope.here:
            term = KPI_BY_ID[term.kpi_id].recipe
        elif isinstance(term, Before) and not (isinstance(term.term, Actual)
                                               and term.term.kpi_id in scope.before):
            term, scope = term.term, _Scope(scope.window.before(), {}, {})
        else:
            return term, scope


def _render(term: Term, scope: _Scope, columns: _Columns) -> str:
    """``term`` as a formula expression (no leading "=")."""
    term, scope = _inline(term, scope)

    def operand(part: Term) -> str:
        text = _render(part, scope, columns)
        return f"({text})" if isinstance(_inline(part, scope)[0], Plus | Minus) else text

    if isinstance(term, Count):
        return f"COUNTIFS({columns.criteria(term, scope.window)})"
    if isinstance(term, Total):
        return (f"SUMIFS({columns.col(term.sheet, term.column)},"
                f"{columns.criteria(term, scope.window)})")
    if isinstance(term, Retained):
        return columns.retained(term, scope.window)
    if isinstance(term, Actual):
        return scope.here[term.kpi_id]
    if isinstance(term, Before):
        return scope.before[term.term.kpi_id]
    if isinstance(term, Plus):
        return f"{_render(term.left, scope, columns)}+{_render(term.right, scope, columns)}"
    if isinstance(term, Minus):
        return f"{_render(term.left, scope, columns)}-{operand(term.right)}"
    if isinstance(term, Ratio):
        return f'IFERROR({operand(term.numerator)}/{operand(term.denominator)},"")'
    if isinstance(term, Complement):
        return f'IFERROR(1-{operand(term.term)},"")'
    raise AssertionError(term)


class ActualFormulas:
    """The Actual formulas of one tab: for the team (``criterion`` None), or for one rep, whose
    formulas read the rep's owner ``blocks`` when they are contiguous and whole columns with the
    owner criterion when not."""

    def __init__(self, letters: dict[str, dict[str, str]], criterion: str | None,
                 blocks: dict[str, OwnerBlock] | None = None,
                 filters: dict[str, tuple[str, str]] | None = None):
        self.whole = _Columns(letters, criterion, {}, filters)
        self.fast = None if blocks is None else _Columns(letters, None, blocks)

    def formula(self, term: Term, window: Window, here: dict[str, str],
                before: dict[str, str]) -> str:
        """``term`` for the period ``window``. ``here`` gives the Actual cells of the tab's
        KPIs in the same column, ``before`` those holding their actuals in the period before
        (the previous month's column, or helper cells; see previous_actuals): a KPI built on
        another reuses its cell instead of counting the rows again. On a rep tab:
        IF(the rep's blocks are contiguous, the formula over the blocks, over whole columns)."""
        scope = _Scope(window, here, before)
        whole = "=" + _render(term, scope, self.whole)
        if self.fast is None:
            return whole
        quick = "=" + _render(term, scope, self.fast)
        if quick == whole:
            return whole
        oks = [block.ok for sheet, block in self.fast.blocks.items()
               if f"{sheet_ref(sheet)}!" in quick]
        ok = oks[0] if len(oks) == 1 else f"AND({','.join(oks)})"
        return f"=IF({ok},{quick[1:]},{whole[1:]})"


def owner_block_formulas(sheet: str, owner_letter: str, row: int
                         ) -> tuple[OwnerBlock, list[tuple[int, str]]]:
    """The hidden cells of row ``row`` that find a rep's rows on ``sheet`` (see
    tabs.owner_blocks): the block, and (column, formula) for its count, first, last and ok."""
    criterion = absolute(TAB_CRITERION_COL, TAB_WHO_ROW)
    name = absolute(TAB_CRITERION_COL, TAB_MATCH_ROW)
    owners = whole_column(sheet, owner_letter)
    count, first, last, ok = (absolute(col, row) for col in (
        TAB_BLOCK_COUNT_COL, TAB_BLOCK_FIRST_COL, TAB_BLOCK_LAST_COL, TAB_BLOCK_OK_COL))
    return OwnerBlock(first, last, ok), [
        (TAB_BLOCK_COUNT_COL, f"=COUNTIF({owners},{criterion})"),
        (TAB_BLOCK_FIRST_COL, f"=IF({count}=0,1,IFERROR(MATCH({name},{owners},0),1))"),
        (TAB_BLOCK_LAST_COL, f"={first}+MAX({count},1)-1"),
        (TAB_BLOCK_OK_COL, f"=IFERROR(COUNTIF(INDEX({owners},{first}):INDEX({owners},{last}),"
                           f"{criterion})={count},FALSE)"),
    ]


# --- targets and attainment ----------------------------------------------------------------

def target_formula(row: int, col: int) -> str:
    """The typed Targets value for (this tab's who, this row's KPI, this month), or "" when
    blank or not a number (a note); several rows for the same (who, KPI) add up.

    When there is exactly one such row (the usual case), target_helper_formulas has found its
    number and the cell reads it with INDEX; otherwise (none: blank; several) COUNTIFS and
    SUMIFS over the whole Targets columns, as the definition says."""
    index = col - TAB_FIRST_MONTH_COL
    target_col = get_column_letter(TARGETS_FIRST_MONTH_COL + index)
    plan_col = get_column_letter(TARGETS_PLAN_COL + index)
    targets = sheet_ref(TARGETS)
    month = f"{targets}!${plan_col}:${plan_col}"
    who = absolute(TAB_CRITERION_COL, TAB_WHO_ROW)
    match = f'{targets}!$A:$A,{who},{targets}!$B:$B,"="&$A{row}'
    found = f"${get_column_letter(TAB_TARGET_ROW_COL)}{row}"
    count = f"${get_column_letter(TAB_TARGET_COUNT_COL)}{row}"
    planned = f"INDEX({month},{found})"
    typed = f"INDEX({targets}!${target_col}:${target_col},{found})"  # a row added since refresh
    # several rows: their planned months, and the typed ones of rows with none (added since)
    typed_col = f"{targets}!${target_col}:${target_col}"
    unplanned = f'{month},"="'
    numbers = (f'COUNTIFS({match},{month},">-1E+300")'
               f'+COUNTIFS({match},{typed_col},">-1E+300",{unplanned})')
    total = f"SUMIFS({month},{match})+SUMIFS({typed_col},{match},{unplanned})"
    return (f'=IF({found}>0,IF(ISNUMBER({planned}),{planned},IF(ISNUMBER({typed}),{typed},"")),'
            f'IF({count}=0,"",IF({numbers}=0,"",{total})))')


# --- target planning on Targets (goals.plan_months, team_months, mismatches) --------------------

def _letter(col: int) -> str:
    return get_column_letter(col)


def plan_formula(kpi: Kpi, row: int, index: int, team: bool, shape_row: int | None) -> str:
    """goals.plan_months (and for the Team, team_months) of one Targets cell: the typed month;
    else, with a typed Year figure, its share; else for the Team's counts and amounts the sum
    of the current reps' planned targets (the rows flagged in TARGETS_REP_FLAG_COL, above and
    below this row, so that the cell never reads itself). ``shape_row``: the Team row of the
    KPI, whose hidden cells hold last year's shape."""
    month = f"{_letter(TARGETS_FIRST_MONTH_COL + index)}{row}"
    first, last = _letter(TARGETS_FIRST_MONTH_COL), _letter(TARGETS_FIRST_MONTH_COL + 11)
    months = f"${first}{row}:${last}{row}"
    year = f"${_letter(TARGETS_YEAR_COL)}{row}"
    if not sums(kpi):
        spread = year
    elif shape_row is None:
        spread = f"MAX(0,{year}-SUM({months}))/(12-COUNT({months}))"
    else:
        ok = f"${_letter(TARGETS_SHAPE_OK_COL)}${shape_row}"
        weight = f"{_letter(TARGETS_SHAPE_COL + index)}${shape_row}"
        # the weights of the blank months term by term: LibreOffice gives #VALUE! for
        # SUMPRODUCT(--NOT(ISNUMBER(range)),…) inside this IF
        blank = "+".join(
            f"IF(ISNUMBER(${_letter(TARGETS_FIRST_MONTH_COL + i)}{row}),0,"
            f"${_letter(TARGETS_SHAPE_COL + i)}${shape_row})" for i in range(12))
        spread = (f"MAX(0,{year}-SUM({months}))*IF({ok}=1,{weight},1)/IF({ok}=1,"
                  f"{blank},12-COUNT({months}))")
    default = '""'
    if team and sums(kpi):
        plan = _letter(TARGETS_PLAN_COL + index)
        flag = _letter(TARGETS_REP_FLAG_COL)
        top, last = TARGETS_HEADER_ROW, 1048576
        parts = [(f"{plan}${top}:{plan}{row - 1}", f"$B${top}:$B{row - 1}",
                  f"${flag}${top}:${flag}{row - 1}"),
                 (f"{plan}{row + 1}:{plan}${last}", f"$B{row + 1}:$B${last}",
                  f"${flag}{row + 1}:${flag}${last}")]
        crit = f'"="&$B{row}'
        counts = "+".join(f'COUNTIFS({b},{crit},{f},1,{p},">-1E+300")' for p, b, f in parts)
        total = "+".join(f"SUMIFS({p},{b},{crit},{f},1)" for p, b, f in parts)
        default = f'IF({counts}=0,"",{total})'
    return f"=IF(ISNUMBER({month}),{month},IF(ISNUMBER({year}),{spread},{default}))"


def shape_ok_formula(row: int) -> str:
    """goals.year_shape: 1 when all twelve of last year's months have an actual above 0."""
    cells = f"{_letter(TARGETS_SHAPE_COL)}{row}:{_letter(TARGETS_SHAPE_COL + 11)}{row}"
    return f'=IF(COUNTIF({cells},">0")=12,1,0)'


def last_year_window(index: int) -> Window:
    """The month ``index`` of the fiscal year a year earlier, from the Targets month header."""
    head = f"{_letter(TARGETS_FIRST_MONTH_COL + index)}${TARGETS_HEADER_ROW}"
    return Window(f"DATE(YEAR({head})-1,MONTH({head}),1)",
                  f"DATE(YEAR({head})-1,MONTH({head})+1,1)")


def mismatch_rule(first_row: int) -> str:
    """The conditional format of the Targets month cells (top-left C{first_row}): a Team count
    or amount whose planned target differs from the current reps' sum (goals.mismatches)."""
    plan = _letter(TARGETS_PLAN_COL)
    flag = f"${_letter(TARGETS_REP_FLAG_COL)}:${_letter(TARGETS_REP_FLAG_COL)}"
    own = f"{plan}{first_row}"
    criteria = f'$B:$B,"="&$B{first_row},{flag},1'
    total = f"SUMIFS({plan}:{plan},{criteria})"
    return (f"AND(${_letter(TARGETS_TEAM_FLAG_COL)}{first_row}=1,ISNUMBER({own}),"
            f'COUNTIFS({criteria},{plan}:{plan},">-1E+300")>0,'
            f"ABS({own}-{total})>{MISMATCH_TOLERANCE}*MAX(1,ABS({total})))")


def target_helper_formulas(row: int) -> list[tuple[int, str]]:
    """(column, formula) of the hidden cells of a Target row that find its (who, KPI) row on
    Targets once, so that its thirteen cells need no COUNTIFS/SUMIFS over the Targets columns
    each: Q counts the rows (the same criteria as the cells' own formula); R is the first row
    from the who's first row (P4) whose KPI is this one; P is R when Q is 1 and R's who and KPI
    meet those criteria (so R is that one row, whatever MATCH found), else 0."""
    who = absolute(TAB_CRITERION_COL, TAB_WHO_ROW)
    first = absolute(TAB_CRITERION_COL, TAB_TARGETS_WHO_ROW)
    count = f"${get_column_letter(TAB_TARGET_COUNT_COL)}{row}"
    candidate = f"${get_column_letter(TAB_TARGET_CANDIDATE_COL)}{row}"
    kpi = f"$A{row}"
    whos, kpis = f"{sheet_ref(TARGETS)}!$A:$A", f"{sheet_ref(TARGETS)}!$B:$B"
    return [
        (TAB_TARGET_COUNT_COL, f'=COUNTIFS({whos},{who},{kpis},"="&{kpi})'),
        (TAB_TARGET_CANDIDATE_COL,
         f"=IF(OR({count}<>1,{first}=0),0,IFERROR({first}-1+MATCH({kpi},"
         f"INDEX({kpis},{first}):INDEX({kpis},1048576),0),0))"),
        (TAB_TARGET_ROW_COL,
         f"=IF({candidate}=0,0,IF(COUNTIFS(INDEX({whos},{candidate}),{who},"
         f'INDEX({kpis},{candidate}),"="&{kpi})=1,{candidate},0))'),
    ]


def ytd_target_formula(kpi: Kpi, row: int) -> str:
    """goals.ytd_target over the tab's own Target cells (numbers or "") through the as-of
    month."""
    first = get_column_letter(TAB_FIRST_MONTH_COL)
    last = get_column_letter(TAB_YTD_COL - 1)
    months = f"{first}{row}:INDEX({first}{row}:{last}{row},1,{S_MONTHS_TO_DATE})"
    empty = f'IF(COUNT({months})=0,"",'
    if kpi.ytd_target == "sum":
        return f"={empty}SUM({months}))"
    if kpi.ytd_target == "mean":
        return f"={empty}AVERAGE({months}))"
    if kpi.ytd_target == "compound loss":
        factors = []
        for index in range(12):
            cell = f"{get_column_letter(TAB_FIRST_MONTH_COL + index)}{row}"
            factors.append(f"IF(AND({index + 1}<={S_MONTHS_TO_DATE},ISNUMBER({cell})),"
                           f"1-{cell},1)")
        return f"={empty}1-" + "*".join(factors) + ")"
    return f"={empty}PRODUCT({months}))"


def attainment_formula(kpi: Kpi, target: str, actual: str) -> str:
    """goals.attainment: actual ÷ target ("up"), target ÷ actual ("down"); blank where the
    target is blank or ≤ 0 or the actual blank; a "down" KPI with actual ≤ 0 is met (1).
    "growth": (1 + actual) ÷ (1 + target), blank where 1 + target ≤ 0, 0 where the actual is
    −100 % or less."""
    blank = f'=IF(OR({target}="",{actual}=""),"",'
    if kpi.direction == "growth":
        return f'{blank}IF(1+{target}<=0,"",MAX(0,(1+{actual})/(1+{target}))))'
    guard = f'{blank}IF({target}<=0,"",'
    if kpi.direction == "up":
        return f"{guard}{actual}/{target}))"
    assert kpi.direction == "down", kpi.direction
    return f"{guard}IF({actual}<=0,1,{target}/{actual})))"


# --- the as-of date: months after it, pacing -----------------------------------------------

def shown_actual_formula(col: int, raw: str) -> str:
    """A month's visible Actual: the hidden actual ``raw`` through the as-of month, blank after
    it (no actual yet, not 0). Only this cell reads the as-of date, not the scan."""
    return f'=IF({get_column_letter(col)}${TAB_HEADER_ROW}>{S_AS_OF},"",{raw})'


def as_of_position_formula() -> str:
    """The as-of month's position among the tab's twelve months; blank outside them."""
    first, last = (get_column_letter(col) for col in (TAB_FIRST_MONTH_COL, TAB_YTD_COL - 1))
    return (f'=IFERROR(MATCH(EOMONTH({S_AS_OF},-1)+1,${first}${TAB_HEADER_ROW}:'
            f'${last}${TAB_HEADER_ROW},0),"")')


def pacing_formulas(kpi: Kpi, position: str, target_row: int, actual_row: int,
                    cells: tuple[str, str, str, str, str]) -> list[str]:
    """core.pacing as formulas, for one KPI of a tab: the as-of month's target and actual (read
    from the tab's own cells with INDEX, no data scanned again), expected to date, projected
    month end and pace. ``cells`` are the five cells' addresses, in PACING_HEADERS order."""
    target, expected, actual, projected, _ = cells
    first, last = (get_column_letter(col) for col in (TAB_FIRST_MONTH_COL, TAB_YTD_COL - 1))

    def month(row: int) -> str:
        return f'=IF({position}="","",INDEX(${first}${row}:${last}${row},1,{position}))'

    elapsed, days = f"DAY({S_AS_OF})", f"DAY(EOMONTH({S_AS_OF},0))"
    if accrues(kpi):
        expect = f'=IF({target}="","",{target}*{elapsed}/{days})'
        project = f'=IF({actual}="","",{actual}/{elapsed}*{days})'
    else:
        expect, project = f'=IF({target}="","",{target})', f'=IF({actual}="","",{actual})'
    return [month(target_row), expect, month(actual_row), project,
            attainment_formula(kpi, target, projected)]
