"""The KPIs as Excel worksheet functions, for xlwings ("UDF Modules": xlkpi.udfs).

One function per Excel function of DESIGN.md: ``close_rate`` is ``=CLOSE_RATE``. This layer only
converts: the KPI logic is in :mod:`xlkpi.core.engine`, which takes the same arguments in the
same order.

What arrives, in every runtime (classic desktop UDFs, xlwings Server, xlwings Lite):

- column arguments are read with ``ndim=2``, so a range is a list of rows even for one cell; a
  single row is flattened, a single column (a list of one-cell rows) is handed to the engine as
  a columns.OneCellRows, which unpacks only the rows the KPI reads (see below), and a block of
  several rows and columns is an InputError. An
  Office.js argument that is one blank cell arrives as None, as does an omitted one: that is a
  one-blank-cell column (for ``owners``, in every runtime: no owner column).
- ``err_to_str=True``: an error cell arrives as its text ("#N/A"), not as None, so that a
  #N/A in a date or number column is reported with its row instead of counting as blank.
- period, owner, direction, actual and target are single cells: a one-cell range or a literal.

Which cells are read: every cell of a date column, but a number, stage or owner cell only in the
rows that count (dated in the period, of the owner): a bad cell elsewhere is ignored, as SUMIFS
and COUNTIFS ignore it in the workbook's own formulas.

What goes back: a number (counts as int); "#DIV/0!" where the KPI divides by zero, and "#NUM!"
where the result is past the range of numbers (about 1.8e308; Excel's own =SUM(1E308,1E308) is
#NUM! too), which the Office.js runtimes turn into real errors while classic xlwings shows them
as text. Bad
input raises the engine's InputError, as an ExcelInputError that is also an XlwingsError:
Office.js shows #VALUE! with the message (xlwings Server, in production, shows the message only
of an XlwingsError). Classic xlwings would write a raised exception's whole traceback into the
cell, so there the function returns "#VALUE! " and the message instead.
"""

from __future__ import annotations

import functools
import inspect
import numbers

import numpy as np
from xlwings import XlwingsError, arg, func

from xlkpi.core import engine, goals
from xlkpi.core.cells import OneCellRows, not_a_number, shape_message
from xlkpi.core.errors import InputError
from xlkpi.core.stages import StageMap

__all__ = ["attainment", "average_deal_size", "churn_rate", "close_rate", "cost_per_lead",
           "customer_acquisition_cost", "deals_won", "email_open_rate", "email_reply_rate",
           "emails_delivered", "lead_to_sql_rate", "new_opportunities", "positive_replies",
           "retention_rate", "revenue_growth", "sales_cycle_days", "sql_count", "won_revenue"]

# Classic desktop xlwings (Windows), where ``func`` comes from xlwings.udfs.
CLASSIC = getattr(func, "__module__", "") == "xlwings.udfs"
DIV0 = "#DIV/0!"
NUM = "#NUM!"  # a result past the range of numbers, as Excel shows =SUM(1E308,1E308)
# What an error cell holds (err_to_str), and what classic xlwings shows for our own "#DIV/0!".
ERROR_TEXTS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!",
                         "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!",
                         "#UNKNOWN!", "#GETTING_DATA"})
SCALARS = frozenset({"period", "owner", "direction", "actual", "target"})
_PERIODS = '"2026-10" a month, "2026-Q4" a quarter, 2026 a year, a date its month'

# The function wizard's help for each argument; a function may override one (see _excel).
ARG_DOCS = {
    "spend": "Spend amounts, one per row (marketing and sales costs)",
    "spend_dates": "Date of each spend row",
    "lead_dates": "Date each lead was created",
    "stages": 'Stage of each opportunity: "Won" or "Closed Won" is won, "Lost" or '
              '"Closed Lost" is lost, anything else is open',
    "close_dates": "Close date of each opportunity",
    "sql_dates": "Date each lead became sales-qualified (blank if it has not)",
    "dates": "Date of each row",
    "start_dates": "Date each customer became a customer",
    "end_dates": "Date each customer left (blank while still a customer)",
    "sent": "Emails sent, per row",
    "bounced": "Emails bounced, per row",
    "opened": "Emails opened, per row",
    "replied": "Emails replied to, per row",
    "positive": "Positive replies (replies that showed interest), per row",
    "created_dates": "Date each opportunity was created",
    "amounts": "Amount of each opportunity",
    "period": f"Period: blank = all rows; {_PERIODS}",
    "owners": "Owner (rep) of each row; needed only with owner",
    "owner": "The rep whose rows count; blank = the whole team",
    "stage_map": "Stage name and Won/Lost/Open, two columns (the tracker's Stages!A:B); "
                 "a stage it does not list is Open; blank = the built-in names",
    "actual": "The KPI's actual value",
    "target": "The target; blank, 0 or negative = no attainment (for growth: -100 % or less)",
    "direction": '"up" (default): actual ÷ target; "down" for KPIs where lower is better '
                 '(costs, churn): target ÷ actual; "growth" for revenue growth: '
                 "(1 + actual) ÷ (1 + target)",
}
_REQUIRED_PERIOD = f"Period (required): {_PERIODS}"


class ExcelInputError(InputError, XlwingsError):
    """Bad input, as an XlwingsError too, so that xlwings Server shows its message."""


def _excel(**docs):
    """Register a function with xlwings: help text for every argument, columns as 2-D lists,
    bad input reported as the runtime can show it."""
    def register(f):
        f.__doc__ = " ".join(f.__doc__.split())  # one paragraph in the function wizard

        @functools.wraps(f)  # xlwings reads the signature through __wrapped__
        def excel_function(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except InputError as error:
                if CLASSIC:
                    return f"#VALUE! {error}"
                raise ExcelInputError(str(error)) from None

        for name in inspect.signature(f).parameters:
            options = {} if name in SCALARS else {"ndim": 2}
            excel_function = arg(name, doc=docs.get(name, ARG_DOCS[name]), err_to_str=True,
                                 **options)(excel_function)
        return func(excel_function)
    return register


def _column(value, argument: str):
    """A range (list of rows), a flat list or one cell as a column of cell values: a list, or a
    OneCellRows for a column of several one-cell rows (Excel's usual argument)."""
    if isinstance(value, np.ndarray):  # from a Python caller, or xlwings' np.array converter
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        cells = [value]
    elif not value or not isinstance(value[0], (list, tuple)):
        cells = list(value)
    elif len(value) == 1:
        cells = list(value[0])
    elif len(value[0]) == 1 == _width(value[-1]):
        # a column; a ragged row in between (Python callers only: Excel's ranges are
        # rectangular) is an InputError when the engine reads it
        return OneCellRows(value, argument)
    else:
        raise InputError(shape_message(value, argument))
    if argument == "owners" and cells == [None]:
        return None  # omitted, or one blank cell: Office.js sends both as null
    return cells


def _width(row) -> int | None:
    return len(row) if isinstance(row, (list, tuple)) else None


def _scalar(value, argument: str):
    """One cell's value; a one-cell range is unwrapped, a larger one is an InputError."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return value
    cells = [cell for row in value
             for cell in (row if isinstance(row, (list, tuple)) else [row])]
    if len(cells) != 1:
        raise InputError(f"{argument}: give a single cell, not a range of {len(cells)} cells")
    return cells[0]


def _number_or_blank(value, argument: str) -> float | None:
    """A number, or None for a blank or an error (an actual of #DIV/0! has no attainment)."""
    value = _scalar(value, argument)
    if value is None or (isinstance(value, str) and (not value.strip() or value in ERROR_TEXTS)):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int past the float range
            pass
    raise InputError(not_a_number(argument, value))


def _stage_map(value) -> StageMap | None:
    """The optional stage_map range as a StageMap; None (the built-in names) when blank."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if value is None or value == [[None]] or value == [None]:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(row, (list, tuple))
                                                       for row in value):
        raise InputError("stage_map: give a range of two columns, stage name and "
                         "Won/Lost/Open")
    return StageMap.from_cells(value)


def _kpi(compute, args: dict):
    """Call the engine with the Excel arguments converted; None (zero denominator) is #DIV/0!,
    a result past the range of numbers #NUM!."""
    try:
        value = compute(**{name: _scalar(value, name) if name in SCALARS
                           else _stage_map(value) if name == "stage_map"
                           else _column(value, name) for name, value in args.items()})
    except engine.ResultTooLarge:
        return NUM
    return DIV0 if value is None else value


# Each body passes its own arguments, locals(), on by name: the engine's names are the same.

@_excel()
def cost_per_lead(spend, spend_dates, lead_dates, period=None):
    """Cost per lead: spend dated in the period ÷ leads created in the period (#DIV/0! when no
    lead)."""
    return _kpi(engine.cost_per_lead, locals())


@_excel()
def customer_acquisition_cost(spend, spend_dates, stages, close_dates, period=None, stage_map=None):
    """Customer acquisition cost: spend in the period ÷ deals won (closed in the period)
    (#DIV/0! when none was won)."""
    return _kpi(engine.customer_acquisition_cost, locals())


@_excel()
def sql_count(sql_dates, period=None, owners=None, owner=None):
    """Sales-qualified leads: leads whose SQL date is in the period."""
    return _kpi(engine.sql_count, locals())


@_excel(dates="Close date of each opportunity, or its created date for the cohort view")
def close_rate(stages, dates, period=None, owners=None, owner=None, stage_map=None):
    """Close rate: won ÷ (won + lost) among the opportunities dated in the period; open ones are
    left out (#DIV/0! when none closed)."""
    return _kpi(engine.close_rate, locals())


@_excel(period=_REQUIRED_PERIOD)
def retention_rate(start_dates, end_dates, period, owners=None, owner=None):
    """Retention rate: of the customers active at the period's start, the share still active at
    its end (#DIV/0! when there were none)."""
    return _kpi(engine.retention_rate, locals())


@_excel(period=_REQUIRED_PERIOD)
def churn_rate(start_dates, end_dates, period, owners=None, owner=None):
    """Churn rate: 1 − retention rate, the share of the customers active at the period's start
    who left by its end (#DIV/0! when there were none)."""
    return _kpi(engine.churn_rate, locals())


@_excel(dates="Date of each email row")
def emails_delivered(sent, bounced, dates, period=None, owners=None, owner=None):
    """Emails delivered: Σ sent − Σ bounced over the rows dated in the period."""
    return _kpi(engine.emails_delivered, locals())


@_excel(dates="Date of each email row")
def positive_replies(positive, dates, period=None, owners=None, owner=None):
    """Positive replies: Σ replies that showed interest, over the rows dated in the period."""
    return _kpi(engine.positive_replies, locals())


@_excel(dates="Date of each email row")
def email_open_rate(opened, sent, bounced, dates, period=None, owners=None, owner=None):
    """Email open rate: Σ opened ÷ emails delivered (sent − bounced) in the period (#DIV/0!
    when none was delivered)."""
    return _kpi(engine.email_open_rate, locals())


@_excel(dates="Date of each email row")
def email_reply_rate(replied, sent, bounced, dates, period=None, owners=None, owner=None):
    """Email reply rate: Σ replied ÷ emails delivered (sent − bounced) in the period (#DIV/0!
    when none was delivered)."""
    return _kpi(engine.email_reply_rate, locals())


@_excel()
def new_opportunities(created_dates, period=None, owners=None, owner=None):
    """New opportunities: opportunities created in the period."""
    return _kpi(engine.new_opportunities, locals())


@_excel()
def deals_won(stages, close_dates, period=None, owners=None, owner=None, stage_map=None):
    """Deals won: opportunities won with a close date in the period."""
    return _kpi(engine.deals_won, locals())


@_excel()
def won_revenue(amounts, stages, close_dates, period=None, owners=None, owner=None, stage_map=None):
    """Won revenue: Σ amount of the opportunities won with a close date in the period."""
    return _kpi(engine.won_revenue, locals())


@_excel(period=_REQUIRED_PERIOD)
def revenue_growth(amounts, stages, close_dates, period, owners=None, owner=None, stage_map=None):
    """Revenue growth: (won revenue in the period − in the period before) ÷ won revenue in the
    period before (#DIV/0! when nothing was won the period before)."""
    return _kpi(engine.revenue_growth, locals())


@_excel(sql_dates="Date each lead became sales-qualified, in any period; blank if it has not")
def lead_to_sql_rate(lead_dates, sql_dates, period=None, owners=None, owner=None):
    """Lead-to-SQL rate: of the leads created in the period, the share that have an SQL date, in
    any period (#DIV/0! when no lead was created)."""
    return _kpi(engine.lead_to_sql_rate, locals())


@_excel()
def average_deal_size(amounts, stages, close_dates, period=None, owners=None, owner=None,
                      stage_map=None):
    """Average deal size: won revenue ÷ deals won, close date in the period (#DIV/0! when none
    was won)."""
    return _kpi(engine.average_deal_size, locals())


@_excel(created_dates="Date each opportunity was created; a won deal without one is left out")
def sales_cycle_days(created_dates, stages, close_dates, period=None, owners=None, owner=None,
                     stage_map=None):
    """Sales cycle: mean days from created date to close date over the deals won with a close
    date in the period; one without a created date is left out; times of day count (#DIV/0!
    when none is left)."""
    return _kpi(engine.sales_cycle_days, locals())


@_excel()
def attainment(actual, target, direction=None):
    """Attainment: actual ÷ target for "up" KPIs, target ÷ actual for "down" ones, (1 + actual) ÷
    (1 + target) for "growth" (revenue growth); blank when the target is blank, 0 or negative
    (growth: -100 % or less), or the actual blank or an error."""
    try:
        value = goals.attainment(_number_or_blank(actual, "actual"),
                                  _number_or_blank(target, "target"),
                                  _scalar(direction, "direction"))
    except engine.ResultTooLarge:
        return NUM
    return "" if value is None else value
