"""A realistic, deterministic year of B2B sales data and targets, for ``xlkpi new --demo``.

The same arguments always give the same :class:`~xlkpi.tracker.model.Tracker` (one seeded
``random.Random``; nothing depends on today's date). What the year looks like:

- a team of reps with different skill: lead volume, SQL rate (30–40 %), win rate, deal size,
  email volume and reply rates, churn of their customers;
- seasons: a summer dip and a quiet late December in activity, a December push in closing;
- Leads (a few unassigned inbound ones, counted only for the team), weekly Spend per channel,
  Opportunities created over the fiscal year and the year before it (so that revenue growth has
  a base, also for the year to date), with log-normal amounts and messy but valid stage spellings
  (one rep works in amoCRM and writes its Russian stages), Emails per rep per working day, and
  Customers won in earlier years as well as from this year's deals, some of whom leave;
- monthly targets per rep and for the team, set near what the data gives so that attainment is a
  mix of met, nearly met and missed, with a few blank targets and one note ("TBD").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from dataclasses import dataclass

from xlkpi.core.goals import sums
from xlkpi.core.kpis import KPI_BY_ID, KPIS
from xlkpi.core.periods import serial_to_date
from xlkpi.core.texts import stage_class
from xlkpi.tracker import model as layout
from xlkpi.tracker.model import DataSheet, Settings, TargetRow, Tracker

DEFAULT_REPS = ("Anna", "Boris", "Chloe", "Dmitri", "Elena")
DEFAULT_SEED = 20260101

WON_SPELLINGS = ("Won", "Closed Won", "closed-won", "Closed won", "CLOSED_WON")
LOST_SPELLINGS = ("Lost", "Closed Lost", "closed-lost", "closed lost")
OPEN_SPELLINGS = ("Negotiation", "Proposal", "Discovery", "Qualification", "Proposal sent")
# amoCRM's default pipeline, for the rep who works in Russian.
WON_RU, LOST_RU = "Успешно реализовано", "Закрыто и не реализовано"
OPEN_RU = ("Переговоры", "Принимают решение", "Согласование договора")

# Activity by calendar month (leads, emails, new deals): a summer dip, a quiet late December.
ACTIVITY = {1: 0.9, 2: 1.0, 3: 1.05, 4: 1.0, 5: 1.0, 6: 0.95,
            7: 0.8, 8: 0.75, 9: 1.05, 10: 1.1, 11: 1.05, 12: 0.85}
# Extra chance of winning a deal that closes in the month: the December push, quarter ends.
CLOSING_PUSH = {3: 0.04, 6: 0.04, 7: -0.03, 8: -0.03, 9: 0.04, 12: 0.10}
LEAD_SOURCES = (("Website", 30), ("LinkedIn", 20), ("Google Ads", 20), ("Referral", 12),
                ("Events", 10), ("Cold outreach", 8))
# Weekly budget per channel; Events spend comes in lumps, the email tool monthly.
WEEKLY_SPEND = (("Google Ads", 2600.0), ("LinkedIn Ads", 1900.0), ("Content", 950.0))
PREFIXES = ("North", "Blue", "Silver", "Green", "Iron", "Bright", "Oak", "Summit", "Delta",
            "Atlas", "Nova", "Pioneer", "Harbor", "Crest", "Vertex", "Quantum", "Polar", "Metro",
            "Cedar", "Granite")
SUFFIXES = ("Logistics", "Foods", "Systems", "Analytics", "Health", "Motors", "Retail",
            "Energy", "Labs", "Builders", "Finance", "Textiles", "Media", "Pharma", "Robotics",
            "Agro", "Telecom", "Holdings")
FORMS = ("Inc", "LLC", "Ltd", "GmbH", "Group", "Co")
PRODUCTS = ("annual licence", "pilot", "expansion", "onboarding package", "enterprise plan",
            "renewal upsell", "support contract")


@dataclass
class _Rep:
    name: str
    leads: float  # leads per month at activity 1
    sql_rate: float
    deals: float  # opportunities created per month at activity 1
    win: float  # chance that a closed deal is won
    deal_size: float  # median amount
    emails: float  # emails sent per working day
    bounce: float
    open: float
    reply: float  # replies per delivered email
    positive: float  # positive share of replies
    churn: float  # monthly chance that one of their customers leaves
    russian: bool


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


# Excel's calendar (and openpyxl's conversion of it) from March 1900, where serials and dates
# agree, to 9999-12-31: the demo's dates stay within it at the ends of the years allowed.
_FIRST_DAY, _LAST_DAY = dt.date(1900, 3, 1), dt.date(9999, 12, 31)


def _later(day: dt.date, days: int) -> dt.date:
    """``day`` plus ``days`` days, or the last day of Excel's calendar if that is later."""
    return day + dt.timedelta(days=days) if (_LAST_DAY - day).days >= days else _LAST_DAY


def _month_starts(first: dt.date, count: int) -> list[dt.date]:
    return [_add_months(first, i) for i in range(count)]


def _days_in_month(first: dt.date) -> int:
    return (_add_months(first, 1) - first).days


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:  # normal approximation, plenty for monthly volumes
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _weekday_in_month(rng: random.Random, first: dt.date) -> dt.date:
    """A random working day of the month (weekends are rare in B2B sales)."""
    while True:
        day = first + dt.timedelta(days=rng.randrange(_days_in_month(first)))
        if day.weekday() < 5 or rng.random() < 0.05:
            return day


def _company(rng: random.Random) -> str:
    return f"{rng.choice(PREFIXES)} {rng.choice(SUFFIXES)} {rng.choice(FORMS)}"


def _reps(rng: random.Random, names: list[str]) -> list[_Rep]:
    reps = []
    for index, name in enumerate(names):
        skill = rng.uniform(0.8, 1.2)
        reps.append(_Rep(
            name=name,
            leads=rng.uniform(45, 70) * (0.6 + 0.4 * skill),
            sql_rate=rng.uniform(0.30, 0.40),
            deals=rng.uniform(9, 14) * skill,
            win=min(0.55, max(0.15, rng.gauss(0.32, 0.05) * skill)),
            deal_size=rng.uniform(7000, 14000),
            emails=rng.uniform(30, 55),
            bounce=rng.uniform(0.015, 0.05),
            open=rng.uniform(0.35, 0.55),
            reply=rng.uniform(0.03, 0.08) * skill,
            positive=rng.uniform(0.3, 0.5),
            churn=rng.uniform(0.008, 0.025) / skill,
            # the fourth rep of the team works in amoCRM; a team of fewer keeps English stages
            russian=index == 3,
        ))
    return reps


def _stage(rng: random.Random, rep: _Rep, outcome: str) -> str:
    if rep.russian:
        return {"won": WON_RU, "lost": LOST_RU}.get(outcome) or rng.choice(OPEN_RU)
    spellings = {"won": WON_SPELLINGS, "lost": LOST_SPELLINGS}.get(outcome, OPEN_SPELLINGS)
    return rng.choice(spellings)


def _owner(rng: random.Random, name: str) -> str:
    """The rep's name as a CRM export writes it: now and then in lower case."""
    return name.lower() if rng.random() < 0.02 else name


class _Year:
    """Generates the data sheets for one fiscal year."""

    def __init__(self, rng: random.Random, settings: Settings, reps: list[_Rep]):
        self.rng = rng
        self.reps = reps
        self.start = dt.date(settings.year, settings.fiscal_start, 1)
        self.end = _add_months(self.start, 12)  # first day after the fiscal year
        self.months = _month_starts(self.start, 12)

    def leads(self) -> list[list[object]]:
        rng, rows = self.rng, []
        sources = [source for source, weight in LEAD_SOURCES for _ in range(weight)]
        for first in self.months:
            for rep in self.reps + [None]:  # None: inbound leads nobody has picked up yet
                mean = (rep.leads if rep else 3.0) * ACTIVITY[first.month]
                for _ in range(_poisson(rng, mean)):
                    day = _weekday_in_month(rng, first)
                    created = dt.datetime.combine(day, dt.time(rng.randrange(8, 19),
                                                               rng.randrange(60)))
                    qualified = rep is not None and rng.random() < rep.sql_rate
                    sql_date = day + dt.timedelta(days=rng.randint(1, 20)) if qualified else None
                    rows.append([_company(rng), _owner(rng, rep.name) if rep else None, created,
                                 sql_date, rng.choice(sources)])
        rows.sort(key=lambda row: row[2])
        return rows

    def spend(self) -> list[list[object]]:
        rng, rows = self.rng, []
        monday = self.start + dt.timedelta(days=(7 - self.start.weekday()) % 7)
        week = 0
        while monday < self.end:
            season = ACTIVITY[monday.month]
            for channel, budget in WEEKLY_SPEND:
                rows.append([monday, round(budget * season * rng.uniform(0.85, 1.15), 2),
                             channel])
            if week % 6 == 2:  # a trade show or a webinar series every six weeks or so
                rows.append([monday + dt.timedelta(days=2), round(rng.uniform(4000, 9000), 2),
                             "Events"])
            monday += dt.timedelta(days=7)
            week += 1
        for first in self.months:
            rows.append([first, 590.0, "Email tools"])
        rows.sort(key=lambda row: row[0])
        return rows

    def opportunities(self) -> list[list[object]]:
        """Deals created from 14 months before the year to its end; those that would close
        after the year are still open."""
        rng, rows = self.rng, []
        for first in _month_starts(_add_months(self.start, -14), 26):
            if first < _FIRST_DAY:
                continue  # the year before 1901's fiscal year starts with Excel's calendar
            growth = 0.88 if first < self.start else 1.0  # the team grew since last year
            for rep in self.reps:
                for _ in range(_poisson(rng, rep.deals * ACTIVITY[first.month] * growth)):
                    rows.append(self._opportunity(rep, first))
        rows.sort(key=lambda row: row[2])
        return rows

    def _opportunity(self, rep: _Rep, first: dt.date) -> list[object]:
        rng = self.rng
        created = _weekday_in_month(rng, first)
        cycle = int(rng.lognormvariate(math.log(38), 0.5))
        close = _later(created, max(3, cycle))
        if close.month in (7, 8):  # deals slip over the summer holidays
            close = _later(close, rng.randrange(0, 21))
        amount = round(rng.lognormvariate(math.log(rep.deal_size), 0.75) / 50) * 50
        name = f"{_company(rng)} - {rng.choice(PRODUCTS)}"
        if close >= self.end or rng.random() < 0.03:  # still open, or stalled
            close_date = close if rng.random() < 0.6 else None  # expected close, if any
            return [name, _owner(rng, rep.name), created, close_date, _stage(rng, rep, "open"),
                    amount]
        won = rng.random() < rep.win + CLOSING_PUSH.get(close.month, 0.0)
        return [name, _owner(rng, rep.name), created, close,
                _stage(rng, rep, "won" if won else "lost"), amount]

    def customers(self, opportunities: list[list[object]]) -> list[list[object]]:
        """Customers won in the three years before the data starts, plus new logos from the
        won deals; each leaves with the rep's monthly churn chance."""
        rng, rows = self.rng, []
        history = _add_months(self.start, -14)
        for rep in self.reps:
            for _ in range(rng.randint(28, 45)):
                started = max(history - dt.timedelta(days=rng.randrange(1, 3 * 365)),
                              _FIRST_DAY)
                rows.append(self._customer(rep, _company(rng), started))
        by_name = {rep.name.lower(): rep for rep in self.reps}
        for name, owner, _created, close, stage, _amount in opportunities:
            if close is not None and stage_class(stage) == 1 and rng.random() < 0.7:
                rows.append(self._customer(by_name[owner.lower()], name.split(" - ")[0], close))
        rows.sort(key=lambda row: row[2])
        return rows

    def _customer(self, rep: _Rep, name: str, started: dt.date) -> list[object]:
        rng = self.rng
        ended, month = None, _add_months(started, 1)
        while month < self.end:
            if rng.random() < rep.churn:
                ended = month + dt.timedelta(days=rng.randrange(_days_in_month(month)))
                break
            month = _add_months(month, 1)
        return [name, _owner(rng, rep.name), started, ended]

    def emails(self) -> list[list[object]]:
        rng, rows = self.rng, []
        for rep in self.reps:
            summer = self.start.replace(month=1) + dt.timedelta(days=rng.randrange(181, 223))
            day = self.start
            while day < self.end:
                on_holiday = (summer <= day < summer + dt.timedelta(days=14)
                              or (day.month == 12 and day.day >= 24) or day.weekday() >= 5)
                if not on_holiday:
                    sent = _poisson(rng, rep.emails * ACTIVITY[day.month])
                    bounced = _binomial(rng, sent, rep.bounce)
                    opened = _binomial(rng, sent - bounced, rep.open)
                    replied = _binomial(rng, opened, min(1.0, rep.reply / rep.open))
                    positive = _binomial(rng, replied, rep.positive)
                    rows.append([day, _owner(rng, rep.name), sent, bounced, opened, replied,
                                 positive])
                day += dt.timedelta(days=1)
        rows.sort(key=lambda row: row[0])
        return rows


def demo_tracker(year: int, reps: list[str] | tuple[str, ...] | None = None, fiscal_start: int = 1,
                 currency: str = "USD", seed: int = DEFAULT_SEED,
                 as_of: dt.date | None = None, language: str = "en") -> Tracker:
    """A tracker filled with a year of demo data and targets; the same arguments give the same
    tracker (the data does not depend on ``language``, the language it is written in)."""
    names = list(reps) if reps else list(DEFAULT_REPS)
    settings = Settings(year=year, fiscal_start=fiscal_start, currency=currency, reps=names,
                        as_of=as_of, language=language)
    rng = random.Random(seed)
    generator = _Year(rng, settings, _reps(rng, names))
    opportunities = generator.opportunities()
    data = {
        layout.LEADS: generator.leads(),
        layout.SPEND: generator.spend(),
        layout.OPPORTUNITIES: opportunities,
        layout.EMAILS: generator.emails(),
        layout.CUSTOMERS: generator.customers(opportunities),
    }
    tracker = Tracker(settings, [], {name: DataSheet(list(layout.DATA_COLUMNS[name]), rows)
                                     for name, rows in data.items()})
    tracker.targets = _targets(rng, tracker, seed)  # planned on the whole year's run rate
    if as_of is not None:
        for name, sheet in tracker.data.items():
            sheet.rows = _through(name, sheet.rows, as_of)
    return tracker


def _through(sheet: str, rows: list[list[object]], as_of: dt.date) -> list[list[object]]:
    """The rows as they stand on ``as_of``: nothing dated after it has happened yet (a lead
    not created, an SQL not reached, a deal not closed: still open, a customer not lost)."""
    def after(value: object) -> bool:
        if isinstance(value, dt.datetime):
            value = value.date()
        return isinstance(value, dt.date) and value > as_of

    first = {layout.LEADS: 2, layout.SPEND: 0, layout.OPPORTUNITIES: 2, layout.EMAILS: 0,
             layout.CUSTOMERS: 2}[sheet]
    kept = []
    for row in rows:
        if after(row[first]):
            continue
        row = list(row)
        if sheet == layout.LEADS and after(row[3]):
            row[3] = None
        elif sheet == layout.OPPORTUNITIES and after(row[3]) and stage_class(row[4]) != 0:
            row[4] = OPEN_SPELLINGS[0]
        elif sheet == layout.CUSTOMERS and after(row[3]):
            row[3] = None
        kept.append(row)
    return kept


# --- targets ---------------------------------------------------------------------------------

def _nice(kpi, value: float) -> float | int:
    """A target as a manager types it: whole counts, round amounts, rates to half a point."""
    if kpi.unit == "count":
        step = 10 if value >= 500 else 1
        return max(1, int(round(value / step) * step))
    if kpi.unit == "currency":
        step = 10 ** max(0, int(math.log10(max(value, 1))) - 1)  # two significant digits
        return max(step, int(round(value / step) * step))
    if kpi.unit == "days":
        return max(1, int(round(value)))
    if kpi.id == "retention_rate":
        return min(0.995, round(value * 200) / 200)
    return round(value * 200) / 200


def _attainment_draw(rng: random.Random) -> float:
    """The attainment a target is set for: about half met (green), a quarter nearly (amber,
    80 % to 100 %), a quarter missed (red, below 80 %)."""
    roll = rng.random()
    if roll < 0.5:
        return rng.uniform(1.0, 1.2)
    if roll < 0.75:
        return rng.uniform(0.82, 1.0)
    return rng.uniform(0.6, 0.8)


# The funnel KPIs came after the others: their targets are drawn from a stream of their own, so
# that the other targets of a demo stay what they were.
_FUNNEL = ("lead_to_sql_rate", "average_deal_size", "sales_cycle_days")


def _targets(rng: random.Random, tracker: Tracker, seed: int = DEFAULT_SEED
             ) -> list[TargetRow]:
    from xlkpi.report import Report  # the report computes what the data gives

    settings = tracker.settings
    # the whole year's run rate, whatever the as-of date (months after it have no actual yet)
    last = settings.month_periods()[-1]
    whole_year = dataclasses.replace(settings, as_of=serial_to_date(last.last_day))
    report = Report(dataclasses.replace(tracker, settings=whole_year))
    months = [period.label for period in settings.month_periods()]
    rows = []
    for who in [layout.TEAM_NAME, *settings.reps]:
        for kpi in KPIS:
            if (kpi.team_only and who != layout.TEAM_NAME) or kpi.id in _FUNNEL:
                continue
            actuals = [report.actual(kpi.id, who, month) for month in months]
            rows.append(TargetRow(who, kpi.id, _row_targets(rng, kpi, actuals)))
    # a few targets nobody set yet, and one note
    for _ in range(4):
        row = rng.choice(rows)
        row.months[rng.randrange(12)] = None
    rep_rows = [row for row in rows if row.who != layout.TEAM_NAME]
    if rep_rows:
        rng.choice(rep_rows).months[11] = "TBD"
    funnel = random.Random(f"{seed} funnel targets")
    for who in [layout.TEAM_NAME, *settings.reps]:
        for kpi_id in _FUNNEL:
            kpi = KPI_BY_ID[kpi_id]
            actuals = [report.actual(kpi.id, who, month) for month in months]
            rows.append(TargetRow(who, kpi.id, _funnel_targets(funnel, kpi, actuals)))
    _team_is_the_reps_sum(rows)
    who_order = {who: index for index, who in enumerate([layout.TEAM_NAME, *settings.reps])}
    kpi_order = {kpi.id: index for index, kpi in enumerate(KPIS)}
    rows.sort(key=lambda row: (who_order[row.who], kpi_order[row.kpi_id]))  # stable
    return rows


def _team_is_the_reps_sum(rows: list[TargetRow]) -> None:
    """The Team's counts and amounts as a manager plans them: the sum of the reps' targets
    (goals.team_months), typed so that they show on Targets, where a month has one."""
    for team in rows:
        kpi = KPI_BY_ID[team.kpi_id]
        if team.who != layout.TEAM_NAME or not sums(kpi):
            continue
        reps = [row for row in rows if row.kpi_id == kpi.id and row.who != layout.TEAM_NAME]
        for month in range(12):
            found = [row.months[month] for row in reps
                     if isinstance(row.months[month], (int, float))]
            team.months[month] = sum(found) if found else None


def _funnel_targets(rng: random.Random, kpi, actuals: list[float | None]) -> list[object]:
    """Twelve monthly targets as a manager sets a rate, a deal size or a cycle length: near the
    trailing three months' actuals (the year's mean where there are none yet) blended with the
    year's mean, so that they move smoothly, and a little better than either (5 % more, or a
    cycle 5 % shorter)."""
    known = [value for value in actuals if value is not None]
    if not known:
        return [None] * 12
    mean = sum(known) / len(known)
    stretch = 0.95 if kpi.direction == "down" else 1.05
    targets: list[object] = []
    before = None
    for month in range(12):
        trailing = [value for value in actuals[max(0, month - 3):month] if value is not None]
        recent = sum(trailing) / len(trailing) if trailing else mean
        base = (0.5 * recent + 0.5 * mean) * stretch * rng.uniform(0.98, 1.02)
        if before is not None:  # within MAX_STEP of the month before
            base = min(max(base, before * (1 - MAX_STEP)), before * (1 + MAX_STEP))
        before = base
        targets.append(_nice(kpi, base) if base > 0 else None)
    return targets


# How far a manager lets a monthly target move from the month before.
MAX_STEP = 0.15


def _row_targets(rng: random.Random, kpi, actuals: list[float | None]) -> list[object]:
    """Twelve targets as a manager sets them for one (who, KPI): one ambition for the row
    (about half met, a quarter nearly, a quarter missed; see _attainment_draw), applied to
    what the trailing three months gave blended with the year's mean, within MAX_STEP of the
    month before, so that the plan moves smoothly and red / amber / green say something."""
    if kpi.id == "revenue_growth":
        return [rng.choice((0.03, 0.05, 0.05, 0.08))] * 12  # a growth plan, month on month
    known = [value for value in actuals if value is not None]
    if kpi.id == "churn_rate":
        base = (sum(known) / len(known)) if known else 0.02
        return [max(0.005, _nice(kpi, base * rng.uniform(0.8, 1.3)))] * 12
    if not known:
        return [None] * 12
    mean = sum(known) / len(known)
    draw = _attainment_draw(rng)
    planned: list[float] = []
    for month in range(12):
        trailing = [value for value in actuals[max(0, month - 3):month] if value is not None]
        recent = sum(trailing) / len(trailing) if trailing else mean
        base = (0.5 * recent + 0.5 * mean) * rng.uniform(0.98, 1.02)
        if planned:
            base = min(max(base, planned[-1] * (1 - MAX_STEP)), planned[-1] * (1 + MAX_STEP))
        planned.append(base)
    out: list[object] = []
    for base in planned:
        if base <= 0:
            out.append(None)
        elif kpi.id == "retention_rate":
            out.append(_nice(kpi, min(0.995, base / draw ** 0.1)))
        elif kpi.direction == "down":
            out.append(_nice(kpi, base * draw))
        else:
            out.append(_nice(kpi, base / draw))
    return out
