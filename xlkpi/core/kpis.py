"""The KPI catalogue: one entry per KPI of DESIGN.md, shared by functions, tracker and report.

Adding a KPI: one entry here (with its recipe, :mod:`xlkpi.core.recipes`), one function in
:mod:`xlkpi.core.engine` and one in :mod:`xlkpi.udfs`, and their tests; the tracker's tabs,
Targets rows and the report follow from the entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlkpi.core.recipes import (
    LOST,
    WON,
    Actual,
    Complement,
    Count,
    Minus,
    Plus,
    Ratio,
    Retained,
    Term,
    Total,
    growth,
)

DIRECTIONS = ("up", "down", "growth")
# How the year-to-date target follows from the monthly ones: "sum" for amounts and counts,
# "mean" for rates, "compound" for retention (kept all year = kept each month), "compound loss"
# for churn (1 − Π(1 − monthly churn)).
YTD_RULES = ("sum", "mean", "compound", "compound loss")
UNITS = ("count", "currency", "ratio", "days")


@dataclass(frozen=True)
class Kpi:
    id: str
    function: str  # the Excel function name
    name: str  # what a sales manager reads
    # "up": higher is better; "down": lower is better; "growth": a rate of growth, whose
    # attainment is (1 + actual) ÷ (1 + target) (goals.attainment)
    direction: str
    unit: str  # one of UNITS
    team_only: bool  # spend has no owner, so spend-based KPIs exist only for the team
    ytd_target: str  # one of YTD_RULES
    definition: str
    recipe: Term  # the definition as data: what the report computes, what the tabs' formulas say
    decimals: int = 0  # shown after the decimal point (currency, counts, days; rates: 0.0 %)


_SPEND = Total("Spend", "Spend", "SpendDate")
_DELIVERED = Actual("emails_delivered")
# Won deals closed in the period that have a created date: those with a sales cycle to measure.
_MEASURED = {"stage": WON, "filled": "CreatedDate"}


def _emails(column: str) -> Total:
    return Total("Emails", column, "SendDate")


KPIS: tuple[Kpi, ...] = (
    Kpi("cost_per_lead", "COST_PER_LEAD", "Cost per lead", "down", "currency", True, "mean",
        "Σ spend dated in period ÷ number of leads created in period",
        Ratio(_SPEND, Count("Leads", "LeadDate")), decimals=2),
    Kpi("customer_acquisition_cost", "CUSTOMER_ACQUISITION_COST", "Customer acquisition cost",
        "down", "currency", True, "mean",
        "Σ spend in period ÷ deals won (close date in period)",
        Ratio(_SPEND, Actual("deals_won"))),
    Kpi("sql_count", "SQL_COUNT", "Sales-qualified leads", "up", "count", False, "sum",
        "leads whose SQL date (date they became sales-qualified) is in period",
        Count("Leads", "SQLDate")),
    Kpi("close_rate", "CLOSE_RATE", "Close rate", "up", "ratio", False, "mean",
        "won ÷ (won + lost) among opportunities whose close date is in period; "
        "open ones are left out",
        Ratio(Actual("deals_won"),
              Plus(Actual("deals_won"), Count("Opportunities", "CloseDate", LOST)))),
    Kpi("retention_rate", "RETENTION_RATE", "Retention rate", "up", "ratio", False, "compound",
        "of the customers active at the period's start, the share still active at its end",
        Retained("Customers", "StartDate", "EndDate")),
    Kpi("churn_rate", "CHURN_RATE", "Churn rate", "down", "ratio", False, "compound loss",
        "1 − retention rate for the same period",
        Complement(Actual("retention_rate"))),
    Kpi("emails_delivered", "EMAILS_DELIVERED", "Emails delivered", "up", "count", False, "sum",
        "Σ sent − Σ bounced",
        Minus(_emails("Sent"), _emails("Bounced"))),
    Kpi("positive_replies", "POSITIVE_REPLIES", "Positive replies", "up", "count", False, "sum",
        "Σ positive replies (replies that showed interest)",
        _emails("Positive")),
    Kpi("email_open_rate", "EMAIL_OPEN_RATE", "Email open rate", "up", "ratio", False, "mean",
        "Σ opened ÷ emails delivered",
        Ratio(_emails("Opened"), _DELIVERED)),
    Kpi("email_reply_rate", "EMAIL_REPLY_RATE", "Email reply rate", "up", "ratio", False, "mean",
        "Σ replied ÷ emails delivered",
        Ratio(_emails("Replied"), _DELIVERED)),
    Kpi("new_opportunities", "NEW_OPPORTUNITIES", "New opportunities", "up", "count", False,
        "sum", "opportunities created in period",
        Count("Opportunities", "CreatedDate")),
    Kpi("deals_won", "DEALS_WON", "Deals won", "up", "count", False, "sum",
        "opportunities won, close date in period",
        Count("Opportunities", "CloseDate", WON)),
    Kpi("won_revenue", "WON_REVENUE", "Won revenue", "up", "currency", False, "sum",
        "Σ amount of opportunities won, close date in period",
        Total("Opportunities", "Amount", "CloseDate", WON)),
    Kpi("revenue_growth", "REVENUE_GROWTH", "Revenue growth", "growth", "ratio", False, "mean",
        "(won revenue in period − in the period before) ÷ won revenue in the period before",
        growth(Actual("won_revenue"))),
    # The funnel measures beyond the seed's nine. Their year-to-date targets are the mean of
    # the monthly ones: an average deal size or a sales cycle planned month by month is a
    # typical month's figure, whatever the months' volumes (there is no per-month weight to
    # pool them by in Targets).
    Kpi("lead_to_sql_rate", "LEAD_TO_SQL_RATE", "Lead-to-SQL rate", "up", "ratio", False, "mean",
        "of the leads created in period, the share that have an SQL date (the cohort view)",
        Ratio(Count("Leads", "LeadDate", filled="SQLDate"), Count("Leads", "LeadDate"))),
    Kpi("average_deal_size", "AVERAGE_DEAL_SIZE", "Average deal size", "up", "currency", False,
        "mean", "won revenue ÷ deals won, close date in period",
        Ratio(Actual("won_revenue"), Actual("deals_won"))),
    Kpi("sales_cycle_days", "SALES_CYCLE_DAYS", "Sales cycle (days)", "down", "days", False,
        "mean", "mean days from created date to close date over deals won with close date in "
        "period (deals without a created date left out)",
        Ratio(Minus(Total("Opportunities", "CloseDate", "CloseDate", **_MEASURED),
                    Total("Opportunities", "CreatedDate", "CloseDate", **_MEASURED)),
              Count("Opportunities", "CloseDate", **_MEASURED)), decimals=1),
)

KPI_BY_ID: dict[str, Kpi] = {kpi.id: kpi for kpi in KPIS}
