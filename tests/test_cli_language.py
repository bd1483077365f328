"""The command line in the tracker's language (issue 12): `new --lang`, messages read from the
language files, `report`'s default view (the team in the current month, a footer) and numbers
written as the language writes them. Expectations worked out by hand from the data below."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.test_workbook import load_typed
from xlkpi import cli as cli_module
from xlkpi import report as report_module
from xlkpi.cli import cli
from xlkpi.core import lang
from xlkpi.core.kpis import KPIS
from xlkpi.tracker import model as layout
from xlkpi.tracker.file import TrackerFile
from xlkpi.tracker.reader import read_tracker

NBSP = "\u00a0"


def run(*args: object):
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


def day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def small_tracker(as_of: str, language: str = "en", currency: str = "USD") -> layout.Tracker:
    """Two reps, data in February and March 2026 only:

    - Opportunities: O1 Anna won 1,000 (closed 02-20); O2 Boris lost (02-25);
      O3 Anna won 1,234,567 (created 03-01, closed 03-10); O4 Boris won 2,000 (03-02 to 03-12)
    - Leads: L1 Anna 02-03 (SQL 02-10); L2 Boris 03-03; Spend: 300 on 03-05.
    - Team targets for March: deals won 4, won revenue 1,000,000, close rate 80%.
    """
    columns = layout.DATA_COLUMNS
    data = {name: layout.DataSheet(list(columns[name]), []) for name in columns}
    data[layout.OPPORTUNITIES].rows = [
        ["O1", "Anna", day("2026-02-02"), day("2026-02-20"), "Won", 1000],
        ["O2", "Boris", day("2026-02-05"), day("2026-02-25"), "Lost", 500],
        ["O3", "Anna", day("2026-03-01"), day("2026-03-10"), "Won", 1234567],
        ["O4", "Boris", day("2026-03-02"), day("2026-03-12"), "Won", 2000]]
    data[layout.LEADS].rows = [["L1", "Anna", day("2026-02-03"), day("2026-02-10"), "Web"],
                               ["L2", "Boris", day("2026-03-03"), None, "Web"]]
    data[layout.SPEND].rows = [[day("2026-03-05"), 300, "Web"]]

    def march(value):
        return [None, None, value] + [None] * 9

    targets = [layout.TargetRow(layout.TEAM_NAME, "deals_won", march(4)),
               layout.TargetRow(layout.TEAM_NAME, "won_revenue", march(1_000_000)),
               layout.TargetRow(layout.TEAM_NAME, "close_rate", march(0.8))]
    settings = layout.Settings(2026, 1, currency, ["Anna", "Boris"], dt.date.fromisoformat(as_of),
                               language=language)
    return layout.Tracker(settings, targets, data)


def save(tracker: layout.Tracker, path: Path) -> Path:
    TrackerFile.new(path, tracker).save(backup=False)
    return path


def table_row(stdout: str, name: str) -> list[str]:
    """The cells of the table row whose first cell is ``name`` (split on two spaces or more)."""
    for line in stdout.splitlines():
        cells = re.split(r" {2,}", line.strip())
        if cells[0] == name:
            return cells
    raise AssertionError(f"no row {name!r} in\n{stdout}")


@pytest.fixture
def russian_files(monkeypatch):
    """The trackers the report reads are Russian ones (Settings.language "ru"), whether or not
    the file keeps the language yet: the CLI's part is to follow what the reader gives."""
    real = report_module.read_checked

    def read_as_russian(path, ahead=None):
        tracker, problems = real(path, ahead)
        tracker.settings.language = "ru"
        return tracker, problems

    monkeypatch.setattr(report_module, "read_checked", read_as_russian)


# --- report's default view ----------------------------------------------------------------------

def test_default_report_is_the_team_in_the_as_of_month(tmp_path):
    path = save(small_tracker("2026-03-15"), tmp_path / "t.xlsx")
    result = run("report", path)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "t.xlsx: the team in March 2026 (as of 2026-03-15), amounts in USD"
    assert re.split(r" {2,}", lines[2]) == ["KPI", "Target", "Actual", "Attainment", "Expected",
                                            "Projected", "Pace"]
    # March: O3 and O4 won, nothing lost; 15 of 31 days gone.
    # deals won 2 of 4 = 50%; expected 4 × 15/31 = 1.94; projected 2 × 31/15 = 4.13, 103%
    assert table_row(result.stdout, "Deals won") == ["Deals won", "4", "2", "50%", "1.94",
                                                     "4.13", "103%"]
    # won revenue 1,234,567 + 2,000 = 1,236,567 of 1,000,000: 124%
    assert table_row(result.stdout, "Won revenue")[:4] == [
        "Won revenue", "USD 1,000,000", "USD 1,236,567", "124%"]
    assert table_row(result.stdout, "Close rate")[:4] == ["Close rate", "80.0%", "100.0%",
                                                          "125%"]
    # cost per lead: 300 spent, one lead (L2): 300.00; no target
    assert table_row(result.stdout, "Cost per lead")[:3] == ["Cost per lead", "-", "USD 300.00"]
    assert not any(line.startswith(("Anna", "Boris", "Team")) for line in lines)  # the team only
    assert len(lines[4:lines.index("More:") - 1]) == len(KPIS)  # every KPI, one row each


def test_default_report_footer_names_the_options_that_show_more(tmp_path):
    path = save(small_tracker("2026-03-15"), tmp_path / "t.xlsx")
    stdout = run("report", path).stdout
    footer = stdout.splitlines()[stdout.splitlines().index("More:"):]
    assert [re.split(r" {2,}", line.strip())[0] for line in footer[1:]] == [
        f"xlkpi report {path} --rep Anna", f"xlkpi report {path} --period 2026-03",
        f"xlkpi report {path} --by channel", f"xlkpi report {path} --format csv|json"]
    assert "every rep in March 2026; or a quarter (2026-Q1), YTD or all" in footer[2]


def test_default_report_falls_back_to_the_last_month_with_data(tmp_path):
    """As of April 10th, April has no row: March is shown, without pacing (not the as-of
    month), and the first line says why."""
    path = save(small_tracker("2026-04-10"), tmp_path / "t.xlsx")
    result = run("report", path)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("t.xlsx: the team in March 2026, the last month with data "
                        "(April 2026 has none yet), amounts in USD")
    assert re.split(r" {2,}", lines[2]) == ["KPI", "Target", "Actual", "Attainment"]
    assert table_row(result.stdout, "Deals won") == ["Deals won", "4", "2", "50%"]


def test_default_report_of_a_tracker_without_data_shows_the_as_of_month(tmp_path):
    tracker = small_tracker("2026-05-20")
    for sheet in tracker.data.values():
        sheet.rows = []
    path = save(tracker, tmp_path / "t.xlsx")
    lines = run("report", path).stdout.splitlines()
    assert lines[0] == "t.xlsx: the team in May 2026 (no data yet), amounts in USD"
    assert table_row("\n".join(lines), "Deals won")[:3] == ["Deals won", "-", "0"]


def test_any_option_keeps_the_full_report(tmp_path):
    """`--format table` given is an option too: every rep and month so far, then YTD."""
    path = save(small_tracker("2026-03-15"), tmp_path / "t.xlsx")
    lines = run("report", path, "--format", "table").stdout.splitlines()
    assert lines[0] == ("t.xlsx: fiscal year 2026, year to date through 2026-03, amounts in "
                        "USD")
    assert {line.split()[0] for line in lines[4:]} == {"Team", "Anna", "Boris"}
    assert "More:" not in lines


# --- Russian -------------------------------------------------------------------------------------

def test_new_in_russian_answers_in_russian_with_roubles(tmp_path):
    path = tmp_path / "трекер.xlsx"
    result = run("new", path, "--lang", "ru", "--year", 2026, "--fiscal-start", 4,
                 "--reps", "Анна, Борис")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Создан {path}: финансовый год 2026, первый месяц — апрель; менеджеры: Анна, Борис",
        "Дальше: вставьте свои данные на листы с данными и введите цели на листе «Цели»."]
    settings = read_tracker(load_typed(path)).settings
    assert settings.currency == "RUB"


def test_new_in_english_by_default_with_dollars(tmp_path):
    path = tmp_path / "t.xlsx"
    result = run("new", path, "--year", 2026)
    assert result.stdout.startswith(f"Created {path}: fiscal year 2026 from January, reps: "
                                     "none yet\n")
    assert read_tracker(load_typed(path)).settings.currency == "USD"


def test_new_refuses_a_language_there_is_no_file_for(tmp_path):
    result = run("new", tmp_path / "t.xlsx", "--lang", "de")
    assert result.exit_code == 1
    assert result.stderr == "Error: lang: 'de' is not a language xlkpi has; use one of en, ru\n"


def test_report_of_a_russian_tracker_in_russian(tmp_path, russian_files):
    path = save(small_tracker("2026-03-15", currency="RUB"), tmp_path / "t.xlsx")
    result = run("report", path)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "t.xlsx: команда, март 2026 (на 15.03.2026), суммы в ₽"
    assert re.split(r" {2,}", lines[2]) == ["Показатель", "Цель", "Факт", "Выполнение",
                                            "План к дате", "Прогноз", "Темп"]
    russian = lang.load("ru")
    revenue = russian.kpi_name("won_revenue")
    assert table_row(result.stdout, revenue)[:4] == [
        revenue, f"1{NBSP}000{NBSP}000{NBSP}₽", f"1{NBSP}236{NBSP}567{NBSP}₽", f"124{NBSP}%"]
    closing = russian.kpi_name("close_rate")
    assert table_row(result.stdout, closing)[:3] == [closing, f"80,0{NBSP}%", f"100,0{NBSP}%"]
    deals = russian.kpi_name("deals_won")
    assert table_row(result.stdout, deals) == [deals, "4", "2", f"50{NBSP}%", "1,94", "4,13",
                                               f"103{NBSP}%"]
    assert russian.kpi_name("cost_per_lead") in result.stdout
    assert "Подробнее:" in lines


def test_lang_en_overrides_the_trackers_language(tmp_path, russian_files):
    path = save(small_tracker("2026-03-15", currency="RUB"), tmp_path / "t.xlsx")
    result = run("report", path, "--lang", "en")
    assert result.stdout.splitlines()[0] == ("t.xlsx: the team in March 2026 (as of 2026-03-15), "
                                             "amounts in RUB")
    assert table_row(result.stdout, "Won revenue")[2] == "RUB 1,236,567"
    error = run("report", path, "--rep", "Zed", "--lang", "en")
    assert error.stderr.startswith("Error: rep 'Zed' is not in this tracker")


def test_errors_of_a_russian_tracker_are_in_russian(tmp_path, russian_files):
    path = save(small_tracker("2026-03-15"), tmp_path / "t.xlsx")
    result = run("report", path, "--rep", "Zed")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == ("Ошибка: менеджера 'Zed' нет в этом трекере; укажите Team или "
                             "менеджера с листа «Настройки»: Anna, Boris\n")
    # before a tracker is read, --lang says which language the Error line is in, its text too
    missing = run("report", tmp_path / "missing.xlsx", "--lang", "ru")
    assert missing.stderr.startswith("Ошибка: missing.xlsx: такого файла нет")


def test_full_russian_table_names_the_team_and_the_year_to_date(tmp_path, russian_files):
    path = save(small_tracker("2026-03-15"), tmp_path / "t.xlsx")
    result = run("report", path, "--period", "YTD", "--rep", "Команда")
    assert result.exit_code == 0, result.stderr
    row = table_row(result.stdout, "Команда")
    assert row[:3] == ["Команда", lang.load("ru").kpi_name("cost_per_lead"), "С начала года"]


def test_russian_tracker_made_by_new_reports_in_russian(tmp_path):
    """End to end once the tracker keeps its language in the file (Settings + _xlkpi)."""
    path = tmp_path / "t.xlsx"
    assert run("new", path, "--lang", "ru", "--year", 2026, "--reps", "Анна").exit_code == 0
    if read_tracker(load_typed(path)).settings.language != "ru":
        pytest.skip("this tracker format does not keep its language yet")
    result = run("report", path)
    assert result.stdout.startswith("t.xlsx: команда, ")
    assert lang.load("ru").kpi_name("won_revenue") in result.stdout


# --- every printed word from the language files ---------------------------------------------------

OPEN, CLOSE = "⟦", "⟧"  # a text of the pseudo language
VALUE_OPEN, VALUE_CLOSE = "«", "»"  # a line another module wrote, passed on as it is


def pseudo_language() -> lang.Language:
    english = lang.load("en")
    return lang.Language("xx", {key: f"{OPEN}{text}{CLOSE}" for key, text in english.texts.items()})


def unexplained(line: str, values: list[str]) -> str:
    """What is left of a printed line once the pseudo language's texts (with the values filled
    into them), other modules' lines, the given values (names, paths, command syntax) and
    numbers, table padding and rules are taken away: should be nothing."""
    inner = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
    while inner.search(line):
        line = inner.sub(" ", line)
    line = re.sub(f"{VALUE_OPEN}[^{VALUE_CLOSE}]*{VALUE_CLOSE}", " ", line)
    for value in sorted(values, key=len, reverse=True):
        line = line.replace(value, " ")
    return re.sub(r"[\s\d\-|]+", "", line)  # numbers, padding, rules of dashes, csv|json


@pytest.mark.slow
def test_every_line_the_cli_prints_comes_from_the_language_files(tmp_path, monkeypatch):
    from xlkpi.tracker import merge

    pseudo = pseudo_language()
    real_load = lang.load
    monkeypatch.setattr(lang, "load", lambda code: pseudo if code == "xx" else real_load(code))
    monkeypatch.setattr(cli_module, "_watching", lambda: True)  # progress lines too
    for name in ("import_lines", "summary_lines"):  # tracker.merge's own words, passed on
        real = getattr(merge, name)
        monkeypatch.setattr(merge, name, lambda *args, real=real, **kwargs: [
            f"{VALUE_OPEN}{line}{VALUE_CLOSE}" for line in real(*args, **kwargs)])
    printed: list[str] = []
    real_echo = click.echo

    def echo(message=None, *args, **kwargs):
        printed.extend(str(message or "").splitlines())
        return real_echo(message, *args, **kwargs)

    monkeypatch.setattr(click, "echo", echo)

    path = save(small_tracker("2026-03-15"), tmp_path / "t.xlsx")
    made = tmp_path / "new.xlsx"
    export = tmp_path / "deals.csv"
    export.write_text("Record ID,Deal Name,Deal Stage,Close Date,Deal owner,Amount,Create Date\n"
                      "7,Globex,closedwon,2026-03-09,Anna,700,2026-03-01\n")
    commands = [
        (0, ["new", made, "--lang", "xx", "--year", 2026, "--currency", "USD", "--reps", "Anna"]),
        (1, ["new", made, "--lang", "xx"]),  # exists
        (0, ["report", path, "--lang", "xx"]),
        (0, ["report", path, "--lang", "xx", "--period", "all"]),
        (0, ["report", path, "--lang", "xx", "--by", "channel"]),
        (1, ["report", path, "--lang", "xx", "--rep", "Zed"]),
        (1, ["report", path, "--lang", "xx", "--period", "2031-01"]),
        (1, ["report", tmp_path / "missing.xlsx", "--lang", "xx"]),
        (0, ["refresh", path, "--lang", "xx", "--dry-run"]),
        (0, ["refresh", path, "--lang", "xx"]),
        (1, ["refresh", tmp_path / "missing.xlsx", "--lang", "xx"]),
        (0, ["import", path, export, "--lang", "xx", "--dry-run"]),
        (0, ["import", path, export, "--lang", "xx"]),
        (0, ["import", path, export, "--lang", "xx"]),  # nothing new
        (1, ["import", path, tmp_path / "missing.csv", "--lang", "xx"]),
        (0, ["template", "--lang", "xx", "--output", tmp_path / "template.xlsx"]),
        (1, ["template", "--lang", "xx", "--output", export / "t.xlsx"]),  # a file as folder
    ]
    values = [str(tmp_path / name) for name in ("new.xlsx", "t.xlsx", "template.xlsx")] + [
        "xlkpi report", "--rep", "--period", "--by channel", "--format csv|json", "Anna",
        "Boris", "Web", "Team"]
    for code, args in commands:
        printed.clear()
        result = run(*args)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        assert printed, args
        left = [(line, unexplained(line, values)) for line in printed]
        assert [line for line, rest in left if rest] == [], args


def test_unexpected_errors_and_interruptions_are_in_the_language_too(tmp_path, monkeypatch):
    path = save(small_tracker("2026-03-15"), tmp_path / "t.xlsx")
    monkeypatch.setattr(report_module.Report, "rows",
                        lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("odd")))
    result = run("report", path, "--lang", "ru", "--period", "YTD")
    assert result.stderr.startswith("Ошибка: непредвиденная ошибка RuntimeError: odd — это "
                                    "ошибка в xlkpi")


@pytest.mark.slow
def test_default_report_of_the_demo_fits_a_screen(tmp_path):
    """It printed ~960 lines (five reps and the team, every month so far and YTD)."""
    path = tmp_path / "demo.xlsx"
    assert run("new", path, "--demo", "--year", 2025, "--as-of", "2025-06-15").exit_code == 0
    lines = run("report", path).stdout.splitlines()
    # first line, blank, header, rule, a row per KPI, blank, "More:" and four options
    assert len(lines) == 4 + len(KPIS) + 2 + 4
    assert lines[0] == "demo.xlsx: the team in June 2025 (as of 2025-06-15), amounts in USD"
