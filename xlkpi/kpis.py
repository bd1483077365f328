"""The KPI catalogue: one entry per KPI of DESIGN.md, shared by functions, tracker and report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kpi:
    id: str
    function: str  # the Excel function name
    name: str  # what a sales manager reads
    direction: str  # "up": higher is better; "down": lower is better
    unit: str  # "count", "currency" or "ratio"
    team_only: bool  # spend has no owner, so spend-based KPIs exist only for the team
    # How the year-to-date target follows from the monthly ones: "sum" for amounts and
    # counts, "mean" for rates, "compound" for retention (kept all year = kept each month).
    ytd_target: str
    definition: str


KPIS: tuple[Kpi, ...] = (
    Kpi("cost_per_lead", "COST_PER_LEAD", "Cost per lead", "down", "currency", True, "mean",
        "Σ spend dated in period ÷ number of leads created in period"),
    Kpi("customer_acquisition_cost", "CUSTOMER_ACQUISITION_COST", "Customer acquisition cost",
        "down", "currency", True, "mean",
        "Σ spend in period ÷ deals won (close date in period)"),
    Kpi("sql_count", "SQL_COUNT", "Sales-qualified leads", "up", "count", False, "sum",
        "leads whose SQL date (date they became sales-qualified) is in period"),
    Kpi("close_rate", "CLOSE_RATE", "Close rate", "up", "ratio", False, "mean",
        "won ÷ (won + lost) among opportunities whose close date is in period; "
        "open ones are left out"),
    Kpi("retention_rate", "RETENTION_RATE", "Retention rate", "up", "ratio", False, "compound",
        "of the customers active at the period's start, the share still active at its end"),
    Kpi("churn_rate", "CHURN_RATE", "Churn rate", "down", "ratio", False, "compound",
        "1 − retention rate for the same period"),
    Kpi("emails_delivered", "EMAILS_DELIVERED", "Emails delivered", "up", "count", False, "sum",
        "Σ sent − Σ bounced"),
    Kpi("positive_replies", "POSITIVE_REPLIES", "Positive replies", "up", "count", False, "sum",
        "Σ positive replies (replies that showed interest)"),
    Kpi("email_open_rate", "EMAIL_OPEN_RATE", "Email open rate", "up", "ratio", False, "mean",
        "Σ opened ÷ emails delivered"),
    Kpi("email_reply_rate", "EMAIL_REPLY_RATE", "Email reply rate", "up", "ratio", False, "mean",
        "Σ replied ÷ emails delivered"),
    Kpi("new_opportunities", "NEW_OPPORTUNITIES", "New opportunities", "up", "count", False,
        "sum", "opportunities created in period"),
    Kpi("deals_won", "DEALS_WON", "Deals won", "up", "count", False, "sum",
        "opportunities won, close date in period"),
    Kpi("won_revenue", "WON_REVENUE", "Won revenue", "up", "currency", False, "sum",
        "Σ amount of opportunities won, close date in period"),
    Kpi("revenue_growth", "REVENUE_GROWTH", "Revenue growth", "up", "ratio", False, "mean",
        "(won revenue in period − in the period before) ÷ won revenue in the period before"),
)

KPI_BY_ID: dict[str, Kpi] = {kpi.id: kpi for kpi in KPIS}
DIRECTIONS = ("up", "down")
