"""Rows and hand-worked KPI values shared by the Excel-function tests.

Every expected value below is worked out by hand from the tables in this file; the arithmetic
is in the comment beside it. Nothing here calls xlkpi.

Cell values are written as classic xlwings delivers them (datetime for a date, None for an
empty cell); ``classic()`` and ``officejs()`` shape an argument the way each runtime sends it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

D = dt.datetime
DIV0 = "#DIV/0!"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


class Col(tuple):
    """A column argument (a single-column range); anything else in Case.args is one cell."""


class Block(tuple):
    """A range of several rows and columns, given as its rows."""


@dataclass(frozen=True)
class ErrorCell:
    """An error cell such as #N/A."""

    text: str


_ERROR_TYPES = {"#N/A": "NotAvailable", "#DIV/0!": "Div0", "#VALUE!": "Value", "#REF!": "Ref"}


def serial(value: dt.datetime) -> float:
    """Excel's date serial: days since 1899-12-30, the time of day as a fraction."""
    return (value - EXCEL_EPOCH) / dt.timedelta(days=1)


def classic_cell(value):
    """What classic xlwings delivers for a cell: datetimes as they are; an error cell as its
    text, because xlkpi.udfs reads with err_to_str=True."""
    return value.text if isinstance(value, ErrorCell) else value


def officejs_cell(value):
    """What Office.js sends for a cell: a date as its serial number, an empty cell as null, an
    error cell as an error object (allowErrorForDataTypeAny)."""
    if isinstance(value, dt.datetime):
        return serial(value)
    if isinstance(value, ErrorCell):
        return {"type": "Error", "basicType": "Error", "basicValue": value.text,
                "errorType": _ERROR_TYPES[value.text]}
    return value


def classic(argument):
    """An argument as classic xlwings passes it to a function read with ndim=2."""
    if isinstance(argument, Col):
        return [[classic_cell(value)] for value in argument]
    if isinstance(argument, Block):
        return [[classic_cell(value) for value in row] for row in argument]
    return classic_cell(argument)


def officejs(argument):
    """An argument as Office.js sends it: every argument a 2-D list, an omitted one null."""
    if isinstance(argument, Col):
        return [[officejs_cell(value)] for value in argument]
    if isinstance(argument, Block):
        return [[officejs_cell(value) for value in row] for row in argument]
    if argument is None:
        return None
    return [[officejs_cell(argument)]]


# --- the data ------------------------------------------------------------------------------

# Opportunities
#  #  owner  stage                      created     close             amount
#  1  Anna   Won                        2026-09-20  2026-10-05          1000
#  2  Anna   Closed Lost                2026-10-01  2026-10-12           400
#  3  Boris  closed-won                 2026-10-03  2026-10-31 17:45    2500
#  4  Boris  Negotiation                2026-10-10  (blank)              700
#  5  Anna   won                        2026-08-15  2026-09-30           800
#  6  Boris  Закрыто и не реализовано   2026-09-02  2026-11-01           300
#  7  Anna   Успешно реализовано        2026-10-20  2026-10-28          1200
#  8  Boris  Won                        2026-07-01  2026-09-15           600
OPP_OWNER = Col(("Anna", "Anna", "Boris", "Boris", "Anna", "Boris", "Anna", "Boris"))
OPP_STAGE = Col(("Won", "Closed Lost", "closed-won", "Negotiation", "won",
                 "Закрыто и не реализовано", "Успешно реализовано", "Won"))
OPP_CREATED = Col((D(2026, 9, 20), D(2026, 10, 1), D(2026, 10, 3), D(2026, 10, 10),
                   D(2026, 8, 15), D(2026, 9, 2), D(2026, 10, 20), D(2026, 7, 1)))
OPP_CLOSE = Col((D(2026, 10, 5), D(2026, 10, 12), D(2026, 10, 31, 17, 45), None,
                 D(2026, 9, 30), D(2026, 11, 1), D(2026, 10, 28), D(2026, 9, 15)))
OPP_AMOUNT = Col((1000.0, 400.0, 2500.0, 700.0, 800.0, 300.0, 1200.0, 600.0))
# the created dates with #1 and #3 blank: won deals whose sales cycle cannot be measured
OPP_CREATED_GAPS = Col((None, D(2026, 10, 1), None, D(2026, 10, 10), D(2026, 8, 15),
                        D(2026, 9, 2), D(2026, 10, 20), D(2026, 7, 1)))

# Leads
#  #  owner  created     SQL date
#  1  Anna   2026-10-01  2026-10-05
#  2  Anna   2026-10-02  (blank)
#  3  Boris  2026-10-15  2026-11-02
#  4  Boris  2026-09-28  2026-10-01
#  5  Boris  2026-10-30  (blank)
#  6  Anna   2026-11-03  2026-11-04
LEAD_OWNER = Col(("Anna", "Anna", "Boris", "Boris", "Boris", "Anna"))
LEAD_CREATED = Col((D(2026, 10, 1), D(2026, 10, 2), D(2026, 10, 15), D(2026, 9, 28),
                    D(2026, 10, 30), D(2026, 11, 3)))
LEAD_SQL = Col((D(2026, 10, 5), None, D(2026, 11, 2), D(2026, 10, 1), None, D(2026, 11, 4)))

# Spend: 1200 on 2026-10-01, 800 on 2026-10-20, 500 on 2026-09-30, 300 on 2026-11-01
SPEND = Col((1200.0, 800.0, 500.0, 300.0))
SPEND_DATE = Col((D(2026, 10, 1), D(2026, 10, 20), D(2026, 9, 30), D(2026, 11, 1)))

# Customers (active on day d: start <= d and (end blank or end > d))
#  #  owner  start       end
#  1  Anna   2025-01-10  (blank)
#  2  Anna   2026-03-01  2026-10-15
#  3  Boris  2026-10-01  (blank)
#  4  Boris  2026-10-05  (blank)
#  5  Boris  2025-06-01  2026-10-01
#  6  Anna   2024-02-02  2026-11-30
#  7  Boris  2026-01-01  2026-10-31
CUST_OWNER = Col(("Anna", "Anna", "Boris", "Boris", "Boris", "Anna", "Boris"))
CUST_START = Col((D(2025, 1, 10), D(2026, 3, 1), D(2026, 10, 1), D(2026, 10, 5),
                  D(2025, 6, 1), D(2024, 2, 2), D(2026, 1, 1)))
CUST_END = Col((None, D(2026, 10, 15), None, None, D(2026, 10, 1), D(2026, 11, 30),
                D(2026, 10, 31)))

# Emails
#  #  owner  date        sent  bounced  opened  replied  positive
#  1  Anna   2026-10-01   200       10      95       19         4
#  2  Boris  2026-10-15   150        5      58        8         3
#  3  Anna   2026-09-30   100        0      40       10         2
#  4  Anna   2026-10-31    50  (blank)      25        3   (blank)
MAIL_OWNER = Col(("Anna", "Boris", "Anna", "Anna"))
MAIL_DATE = Col((D(2026, 10, 1), D(2026, 10, 15), D(2026, 9, 30), D(2026, 10, 31)))
MAIL_SENT = Col((200.0, 150.0, 100.0, 50.0))
MAIL_BOUNCED = Col((10.0, 5.0, 0.0, None))
MAIL_OPENED = Col((95.0, 58.0, 40.0, 25.0))
MAIL_REPLIED = Col((19.0, 8.0, 10.0, 3.0))
MAIL_POSITIVE = Col((4.0, 3.0, 2.0, None))


@dataclass(frozen=True)
class Case:
    id: str
    function: str  # the Python name in xlkpi.udfs; the Excel name is its upper case
    args: tuple  # in the Excel argument order; trailing optional arguments left out
    expected: object  # a number, DIV0, or "" (no attainment)


OPP_CLOSED = (OPP_STAGE, OPP_CLOSE)
OPP_WON = (OPP_AMOUNT, OPP_STAGE, OPP_CLOSE)
CUSTOMERS = (CUST_START, CUST_END)
SPENT = (SPEND, SPEND_DATE)

CASES = (
    # COST_PER_LEAD: spend in period ÷ leads created in period
    # Oct: spend 1200 + 800 = 2000; leads created in Oct: #1, #2, #3, #5 = 4 -> 2000 / 4
    Case("cpl-oct", "cost_per_lead", (*SPENT, LEAD_CREATED, "2026-10"), 500.0),
    # Nov: spend 300; leads: #6 -> 300 / 1
    Case("cpl-nov", "cost_per_lead", (*SPENT, LEAD_CREATED, "2026-11"), 300.0),
    # all rows: spend 1200 + 800 + 500 + 300 = 2800; 6 leads -> 2800 / 6
    Case("cpl-all", "cost_per_lead", (*SPENT, LEAD_CREATED), 2800 / 6),
    # Dec: no spend, no lead -> 0 / 0
    Case("cpl-dec", "cost_per_lead", (*SPENT, LEAD_CREATED, "2026-12"), DIV0),

    # CUSTOMER_ACQUISITION_COST: spend in period ÷ deals won in period
    # Oct: 2000 ÷ won closing in Oct (#1, #3, #7) = 3
    Case("cac-oct", "customer_acquisition_cost", (*SPENT, *OPP_CLOSED, "2026-10"), 2000 / 3),
    # Sep: 500 ÷ won closing in Sep (#5 on 09-30, #8 on 09-15) = 2 -> 250
    Case("cac-sep", "customer_acquisition_cost", (*SPENT, *OPP_CLOSED, "2026-09"), 250.0),
    # Nov: 300 ÷ 0 (#6 closed in Nov but lost)
    Case("cac-nov", "customer_acquisition_cost", (*SPENT, *OPP_CLOSED, "2026-11"), DIV0),

    # SQL_COUNT
    # Oct: #1 (10-05), #4 (10-01) = 2
    Case("sql-oct", "sql_count", (LEAD_SQL, "2026-10"), 2),
    # Oct, Anna: #1 = 1
    Case("sql-oct-anna", "sql_count", (LEAD_SQL, "2026-10", LEAD_OWNER, "Anna"), 1),
    # Q4: #1, #3, #4, #6 = 4
    Case("sql-q4", "sql_count", (LEAD_SQL, "2026-Q4"), 4),
    # all rows: every row with an SQL date, #1, #3, #4, #6 = 4
    Case("sql-all", "sql_count", (LEAD_SQL,), 4),
    # Dec: none
    Case("sql-dec", "sql_count", (LEAD_SQL, "2026-12"), 0),

    # CLOSE_RATE: won ÷ (won + lost), open left out
    # close dates in Oct: #1 won, #2 lost, #3 won (10-31 17:45), #7 won; #4 has none -> 3 / 4
    Case("close-oct", "close_rate", (*OPP_CLOSED, "2026-10"), 0.75),
    # the period as a date: 2026-10-15 is October -> as above
    Case("close-oct-date", "close_rate", (*OPP_CLOSED, D(2026, 10, 15)), 0.75),
    # Oct, Anna: #1 won, #2 lost, #7 won -> 2 / 3
    Case("close-oct-anna", "close_rate", (*OPP_CLOSED, "2026-10", OPP_OWNER, "Anna"), 2 / 3),
    # Oct, "boris" (owners match without regard to case): #3 won -> 1 / 1
    Case("close-oct-boris", "close_rate", (*OPP_CLOSED, "2026-10", OPP_OWNER, "boris"), 1.0),
    # cohort view, created in Oct: #2 lost, #3 won, #4 open, #7 won -> 2 / 3
    Case("close-cohort-oct", "close_rate", (OPP_STAGE, OPP_CREATED, "2026-10"), 2 / 3),
    # Q4 close dates: #1 W, #2 L, #3 W, #6 L (11-01, Закрыто и не реализовано), #7 W -> 3 / 5
    Case("close-q4", "close_rate", (*OPP_CLOSED, "2026-Q4"), 0.6),
    # Dec: nothing closed -> 0 / 0
    Case("close-dec", "close_rate", (*OPP_CLOSED, "2026-12"), DIV0),

    # RETENTION_RATE / CHURN_RATE over Oct (first day 10-01, last day 10-31)
    # active on 10-01: #1, #2, #3 (starts 10-01), #6, #7 = 5; not #4 (starts 10-05), not #5
    # (ends 10-01). Still active on 10-31: #1, #3, #6 (ends 11-30) = 3; #2 ended 10-15, #7 ended
    # 10-31 -> retention 3 / 5, churn 1 - 3/5
    Case("ret-oct", "retention_rate", (*CUSTOMERS, "2026-10"), 0.6),
    Case("churn-oct", "churn_rate", (*CUSTOMERS, "2026-10"), 0.4),
    # Anna: active #1, #2, #6; still #1, #6 -> 2 / 3; churn 1 / 3
    Case("ret-oct-anna", "retention_rate", (*CUSTOMERS, "2026-10", CUST_OWNER, "Anna"), 2 / 3),
    Case("churn-oct-anna", "churn_rate", (*CUSTOMERS, "2026-10", CUST_OWNER, "Anna"), 1 / 3),
    # Boris: active #3, #7; still #3 -> 1 / 2; churn 1 / 2
    Case("ret-oct-boris", "retention_rate", (*CUSTOMERS, "2026-10", CUST_OWNER, "Boris"), 0.5),
    # Q4 (10-01 to 12-31): active on 10-01 as above (5); still on 12-31: #1, #3 -> 2 / 5
    Case("ret-q4", "retention_rate", (*CUSTOMERS, "2026-Q4"), 0.4),
    # Jan 1990: nobody was a customer -> 0 / 0
    Case("ret-1990", "retention_rate", (*CUSTOMERS, "1990-01"), DIV0),
    Case("churn-1990", "churn_rate", (*CUSTOMERS, "1990-01"), DIV0),

    # EMAILS_DELIVERED: Σ sent - Σ bounced
    # Oct: rows 1, 2, 4: (200 + 150 + 50) - (10 + 5 + blank) = 400 - 15
    Case("deliv-oct", "emails_delivered", (MAIL_SENT, MAIL_BOUNCED, MAIL_DATE, "2026-10"), 385),
    # Oct, Anna: rows 1, 4: 250 - 10
    Case("deliv-oct-anna", "emails_delivered",
         (MAIL_SENT, MAIL_BOUNCED, MAIL_DATE, "2026-10", MAIL_OWNER, "Anna"), 240),
    # all rows: 500 - 15
    Case("deliv-all", "emails_delivered", (MAIL_SENT, MAIL_BOUNCED, MAIL_DATE), 485),

    # POSITIVE_REPLIES
    # Oct: 4 + 3 + blank = 7; Sep: row 3 = 2
    Case("pos-oct", "positive_replies", (MAIL_POSITIVE, MAIL_DATE, "2026-10"), 7),
    Case("pos-sep", "positive_replies", (MAIL_POSITIVE, MAIL_DATE, "2026-09"), 2),
    Case("pos-oct-boris", "positive_replies",
         (MAIL_POSITIVE, MAIL_DATE, "2026-10", MAIL_OWNER, "Boris"), 3),

    # EMAIL_OPEN_RATE: Σ opened ÷ delivered
    # Oct: (95 + 58 + 25) / 385 = 178 / 385
    Case("open-oct", "email_open_rate",
         (MAIL_OPENED, MAIL_SENT, MAIL_BOUNCED, MAIL_DATE, "2026-10"), 178 / 385),
    # Oct, Anna: (95 + 25) / 240 = 0.5
    Case("open-oct-anna", "email_open_rate",
         (MAIL_OPENED, MAIL_SENT, MAIL_BOUNCED, MAIL_DATE, "2026-10", MAIL_OWNER, "Anna"), 0.5),
    # Dec: nothing delivered
    Case("open-dec", "email_open_rate",
         (MAIL_OPENED, MAIL_SENT, MAIL_BOUNCED, MAIL_DATE, "2026-12"), DIV0),

    # EMAIL_REPLY_RATE: Σ replied ÷ delivered
    # Oct: (19 + 8 + 3) / 385 = 30 / 385; Anna: (19 + 3) / 240 = 22 / 240
    Case("reply-oct", "email_reply_rate",
         (MAIL_REPLIED, MAIL_SENT, MAIL_BOUNCED, MAIL_DATE, "2026-10"), 30 / 385),
    Case("reply-oct-anna", "email_reply_rate",
         (MAIL_REPLIED, MAIL_SENT, MAIL_BOUNCED, MAIL_DATE, "2026-10", MAIL_OWNER, "Anna"),
         22 / 240),
    Case("reply-dec", "email_reply_rate",
         (MAIL_REPLIED, MAIL_SENT, MAIL_BOUNCED, MAIL_DATE, "2026-12"), DIV0),

    # NEW_OPPORTUNITIES
    # created in Oct: #2, #3, #4, #7 = 4; Boris: #3, #4 = 2
    Case("newopp-oct", "new_opportunities", (OPP_CREATED, "2026-10"), 4),
    Case("newopp-oct-boris", "new_opportunities", (OPP_CREATED, "2026-10", OPP_OWNER, "Boris"),
         2),
    # Q3 (Jul-Sep): #1 (09-20), #5 (08-15), #6 (09-02), #8 (07-01) = 4; all rows: 8
    Case("newopp-q3", "new_opportunities", (OPP_CREATED, "2026-Q3"), 4),
    Case("newopp-all", "new_opportunities", (OPP_CREATED,), 8),

    # DEALS_WON
    # Oct: #1, #3, #7 = 3; Anna: #1, #7 = 2; Q3: #5, #8 = 2; all rows: #1, #3, #5, #7, #8 = 5
    Case("won-oct", "deals_won", (*OPP_CLOSED, "2026-10"), 3),
    Case("won-oct-anna", "deals_won", (*OPP_CLOSED, "2026-10", OPP_OWNER, "Anna"), 2),
    Case("won-q3", "deals_won", (*OPP_CLOSED, "2026-Q3"), 2),
    Case("won-all", "deals_won", OPP_CLOSED, 5),

    # WON_REVENUE
    # Oct: 1000 + 2500 + 1200 = 4700; Anna: 1000 + 1200 = 2200; Sep: 800 + 600 = 1400
    Case("rev-oct", "won_revenue", (*OPP_WON, "2026-10"), 4700),
    Case("rev-oct-anna", "won_revenue", (*OPP_WON, "2026-10", OPP_OWNER, "Anna"), 2200),
    Case("rev-sep", "won_revenue", (*OPP_WON, "2026-09"), 1400),
    # the year as the number 2026: 4700 + 1400 = 6100 (#4 open, #2 and #6 lost)
    Case("rev-2026", "won_revenue", (*OPP_WON, 2026.0), 6100),
    Case("rev-all", "won_revenue", OPP_WON, 6100),

    # REVENUE_GROWTH: (period - period before) ÷ period before
    # Oct vs Sep: (4700 - 1400) / 1400 = 33 / 14
    Case("growth-oct", "revenue_growth", (*OPP_WON, "2026-10"), 33 / 14),
    # Oct vs Sep, Anna: (2200 - 800) / 800 = 1.75
    Case("growth-oct-anna", "revenue_growth", (*OPP_WON, "2026-10", OPP_OWNER, "Anna"), 1.75),
    # Q4 vs Q3, Boris: Q4 #3 2500 (#6 lost); Q3 #8 600 -> (2500 - 600) / 600 = 19 / 6
    Case("growth-q4-boris", "revenue_growth", (*OPP_WON, "2026-Q4", OPP_OWNER, "Boris"), 19 / 6),
    # Nov vs Oct: (0 - 4700) / 4700 = -1
    Case("growth-nov", "revenue_growth", (*OPP_WON, "2026-11"), -1.0),
    # Aug vs Jul: nothing won in either -> 0 / 0
    Case("growth-aug", "revenue_growth", (*OPP_WON, "2026-08"), DIV0),

    # LEAD_TO_SQL_RATE: of the leads created in period, the share with an SQL date (any date)
    # Oct: leads #1, #2, #3, #5 = 4; with an SQL date: #1, #3 (Nov 2: the cohort view) -> 2 / 4
    Case("l2sql-oct", "lead_to_sql_rate", (LEAD_CREATED, LEAD_SQL, "2026-10"), 0.5),
    # Sep: #4 (SQL Oct 1) -> 1 / 1
    Case("l2sql-sep", "lead_to_sql_rate", (LEAD_CREATED, LEAD_SQL, "2026-09"), 1.0),
    # Q4: #1, #2, #3, #5, #6 = 5; qualified #1, #3, #6 = 3 -> 3 / 5
    Case("l2sql-q4", "lead_to_sql_rate", (LEAD_CREATED, LEAD_SQL, "2026-Q4"), 0.6),
    # Q4, Anna: #1, #2, #6; qualified #1, #6 -> 2 / 3
    Case("l2sql-q4-anna", "lead_to_sql_rate",
         (LEAD_CREATED, LEAD_SQL, "2026-Q4", LEAD_OWNER, "Anna"), 2 / 3),
    # all rows: 6 leads; qualified #1, #3, #4, #6 -> 4 / 6
    Case("l2sql-all", "lead_to_sql_rate", (LEAD_CREATED, LEAD_SQL), 2 / 3),
    # Dec: no lead -> 0 / 0
    Case("l2sql-dec", "lead_to_sql_rate", (LEAD_CREATED, LEAD_SQL, "2026-12"), DIV0),

    # AVERAGE_DEAL_SIZE: won revenue ÷ deals won
    # Oct: (1000 + 2500 + 1200) / 3; Anna: (1000 + 1200) / 2; Sep: (800 + 600) / 2
    Case("ads-oct", "average_deal_size", (*OPP_WON, "2026-10"), 4700 / 3),
    Case("ads-oct-anna", "average_deal_size", (*OPP_WON, "2026-10", OPP_OWNER, "Anna"), 1100.0),
    Case("ads-sep", "average_deal_size", (*OPP_WON, "2026-09"), 700.0),
    # Q4, Boris: #3 2500 (#6 lost) -> 2500 / 1; all rows: 6100 / 5
    Case("ads-q4-boris", "average_deal_size", (*OPP_WON, "2026-Q4", OPP_OWNER, "Boris"), 2500.0),
    Case("ads-all", "average_deal_size", OPP_WON, 1220.0),
    # Nov: #6 closed but lost -> 0 / 0
    Case("ads-nov", "average_deal_size", (*OPP_WON, "2026-11"), DIV0),

    # SALES_CYCLE_DAYS: mean (close − created) in days over the won deals closed in period
    # Oct: #1 Sep 20 -> Oct 5 = 15; #3 Oct 3 -> Oct 31 17:45 = 28 + 17.75 / 24 = 28 71/96;
    # #7 Oct 20 -> Oct 28 = 8 -> (15 + 8 + 28 71/96) / 3 = (4896 + 71) / 96 / 3 = 4967 / 288
    Case("cycle-oct", "sales_cycle_days", (OPP_CREATED, *OPP_CLOSED, "2026-10"), 4967 / 288),
    # Oct, Anna: #1, #7 -> (15 + 8) / 2
    Case("cycle-oct-anna", "sales_cycle_days",
         (OPP_CREATED, *OPP_CLOSED, "2026-10", OPP_OWNER, "Anna"), 11.5),
    # Sep: #5 Aug 15 -> Sep 30 = 16 + 30 = 46; #8 Jul 1 -> Sep 15 = 31 + 31 + 14 = 76 -> 61
    Case("cycle-sep", "sales_cycle_days", (OPP_CREATED, *OPP_CLOSED, "2026-09"), 61.0),
    # Nov: #6 lost -> nothing to average
    Case("cycle-nov", "sales_cycle_days", (OPP_CREATED, *OPP_CLOSED, "2026-11"), DIV0),
    # without the created dates of #1 and #3 they are left out: Oct -> #7 alone, 8 days;
    # Oct, Boris: only #3, left out -> nothing to average
    Case("cycle-oct-gaps", "sales_cycle_days", (OPP_CREATED_GAPS, *OPP_CLOSED, "2026-10"), 8.0),
    Case("cycle-oct-boris-gaps", "sales_cycle_days",
         (OPP_CREATED_GAPS, *OPP_CLOSED, "2026-10", OPP_OWNER, "Boris"), DIV0),

    # ATTAINMENT
    Case("att-up", "attainment", (0.75, 0.6), 1.25),  # 0.75 / 0.6
    Case("att-up-explicit", "attainment", (3.0, 4.0, " Up "), 0.75),  # 3 / 4
    Case("att-down", "attainment", (500.0, 400.0, "down"), 0.8),  # 400 / 500
    Case("att-down-caps", "attainment", (120.0, 100.0, "DOWN"), 100 / 120),
    Case("att-down-zero", "attainment", (0.0, 400.0, "down"), 1.0),  # 0 beats any target: met
    Case("att-no-target", "attainment", (5.0, None), ""),
    Case("att-zero-target", "attainment", (5.0, 0.0), ""),
    Case("att-negative-target", "attainment", (5.0, -3.0), ""),
    Case("att-no-actual", "attainment", (None, 10.0), ""),
    # an actual that is #DIV/0! (classic: the text our functions return) has no attainment
    Case("att-div0-actual", "attainment", (ErrorCell("#DIV/0!"), 0.5), ""),
    # "growth": (1 + actual) ÷ (1 + target); DESIGN.md's -8.7 % against +5 %: 0.913 / 1.05, 87 %
    Case("att-growth", "attainment", (-0.087, 0.05, "growth"), 0.913 / 1.05),
    Case("att-growth-caps", "attainment", (0.1, 0.05, " GROWTH "), 22 / 21),  # 1.1 / 1.05
    Case("att-growth-flat-plan", "attainment", (0.2, 0.0, "growth"), 1.2),  # 1.2 / 1
    # target -100 %: 1 + target = 0, no attainment; actual -100 %: nothing left, 0 / 1.05
    Case("att-growth-target-minus-1", "attainment", (0.1, -1.0, "growth"), ""),
    Case("att-growth-actual-minus-1", "attainment", (-1.0, 0.05, "growth"), 0.0),
)


@dataclass(frozen=True)
class Bad:
    id: str
    function: str
    args: tuple
    message: str


BAD = (
    Bad("lengths", "close_rate", (Col(("Won", "Lost", "Won")), Col((D(2026, 10, 1),) * 2)),
        "stages and dates differ in length: 3 vs 2"),
    Bad("block", "close_rate",
        (Block((("Won", "Anna"), ("Lost", "Anna"), ("Won", "Boris"))), Col((D(2026, 10, 1),) * 3)),
        "stages: give a single column or row, not a 3×2 block"),
    Bad("not-a-date", "close_rate", (Col(("Won", "Lost")), Col((D(2026, 10, 1), "soon"))),
        "dates row 2: 'soon' is not a date"),
    Bad("error-cell-date", "deals_won", (Col(("Won",)), Col((ErrorCell("#N/A"),))),
        "close_dates row 1: '#N/A' is not a date"),
    Bad("text-amount", "won_revenue",
        (Col((100.0, 200.0, "lots")), Col(("Won",) * 3), Col((D(2026, 10, 1),) * 3)),
        "amounts row 3: 'lots' is not a number"),
    Bad("unknown-period", "close_rate", (*OPP_CLOSED, "2026-13"),
        "period: '2026-13' is not a period; use 2026-10, 2026-Q4, 2026 or a date"),
    Bad("period-range", "close_rate", (*OPP_CLOSED, Col(("2026-10", "2026-11"))),
        "period: give a single cell, not a range of 2 cells"),
    Bad("period-required", "retention_rate", (*CUSTOMERS, None),
        "period: required here; give a month such as 2026-10, a quarter such as 2026-Q4 "
        "or a year"),
    Bad("owner-without-owners", "sql_count", (LEAD_SQL, "2026-10", None, "Anna"),
        "owners: give the owner column to filter by owner 'Anna'"),
    Bad("lengths-l2sql", "lead_to_sql_rate",
        (Col((D(2026, 10, 1),) * 3), Col((None, None))),
        "lead_dates and sql_dates differ in length: 3 vs 2"),
    Bad("not-a-date-created", "sales_cycle_days",
        (Col((D(2026, 10, 1), "soon")), Col(("Won", "Lost")), Col((D(2026, 10, 2),) * 2)),
        "created_dates row 2: 'soon' is not a date"),
    Bad("text-amount-ads", "average_deal_size",
        (Col((100.0, "lots")), Col(("Won",) * 2), Col((D(2026, 10, 1),) * 2)),
        "amounts row 2: 'lots' is not a number"),
    Bad("unknown-direction", "attainment", (3.0, 4.0, "sideways"),
        "direction: 'sideways' is not \"up\", \"down\" or \"growth\""),
    Bad("text-actual", "attainment", ("lots", 4.0), "actual: 'lots' is not a number"),
)

# The Excel functions of DESIGN.md: name -> arguments, "[x]" for an optional one.
SIGNATURES = {
    "COST_PER_LEAD": "spend, spend_dates, lead_dates, [period]",
    "CUSTOMER_ACQUISITION_COST": "spend, spend_dates, stages, close_dates, [period], [stage_map]",
    "SQL_COUNT": "sql_dates, [period], [owners], [owner]",
    "CLOSE_RATE": "stages, dates, [period], [owners], [owner], [stage_map]",
    "RETENTION_RATE": "start_dates, end_dates, period, [owners], [owner]",
    "CHURN_RATE": "start_dates, end_dates, period, [owners], [owner]",
    "EMAILS_DELIVERED": "sent, bounced, dates, [period], [owners], [owner]",
    "POSITIVE_REPLIES": "positive, dates, [period], [owners], [owner]",
    "EMAIL_OPEN_RATE": "opened, sent, bounced, dates, [period], [owners], [owner]",
    "EMAIL_REPLY_RATE": "replied, sent, bounced, dates, [period], [owners], [owner]",
    "NEW_OPPORTUNITIES": "created_dates, [period], [owners], [owner]",
    "DEALS_WON": "stages, close_dates, [period], [owners], [owner], [stage_map]",
    "WON_REVENUE": "amounts, stages, close_dates, [period], [owners], [owner], [stage_map]",
    "REVENUE_GROWTH": "amounts, stages, close_dates, period, [owners], [owner], [stage_map]",
    "LEAD_TO_SQL_RATE": "lead_dates, sql_dates, [period], [owners], [owner]",
    "AVERAGE_DEAL_SIZE": "amounts, stages, close_dates, [period], [owners], [owner], [stage_map]",
    "SALES_CYCLE_DAYS": "created_dates, stages, close_dates, [period], [owners], [owner], "
                        "[stage_map]",
    "ATTAINMENT": "actual, target, [direction]",
}
