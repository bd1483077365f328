"""What import, refresh and the common errors print follows the language in force (issue 12):
Russian lines for a Russian tracker, the Russian plural rule, and no English word left over in
a generated language. Expected texts written by hand."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlkpi.cli import cli
from xlkpi.core import lang

FIXTURE = Path(__file__).parent / "fixtures" / "exports" / "amocrm_deals_utf8_bom.csv"


def run(*args: object):
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


@pytest.fixture
def russian_tracker(tmp_path) -> Path:
    path = tmp_path / "r.xlsx"
    assert run("new", path, "--year", 2026, "--reps", "Анна Петрова,Борис",
               "--lang", "ru").exit_code == 0
    return path


# --- plurals ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "word"), [
    (1, "сделка"), (2, "сделки"), (4, "сделки"), (5, "сделок"), (11, "сделок"), (12, "сделок"),
    (14, "сделок"), (21, "сделка"), (22, "сделки"), (25, "сделок"), (0, "сделок"),
    (101, "сделка"), (111, "сделок"), (1004, "сделки")])
def test_russian_plural_rule(count, word):
    assert lang.load("ru").plural(count, "сделка|сделки|сделок") == word


@pytest.mark.parametrize(("count", "word"), [(0, "deals"), (1, "deal"), (2, "deals"),
                                             (21, "deals")])
def test_english_plural_rule(count, word):
    assert lang.load("en").plural(count, "deal|deals") == word


# --- import in Russian -----------------------------------------------------------------------

def test_russian_import_of_the_amocrm_export_speaks_russian(russian_tracker):
    """The fixture: 4 deals, two open stage names (one deal each), owners 'Иванов Б.' (2 rows)
    and 'anna@acme.com' (1 row) that are no rep."""
    result = run("import", russian_tracker, FIXTURE)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("amocrm_deals_utf8_bom.csv: сделки amoCRM (amocrm-deals) → лист «Сделки»; "
                        "csv, UTF-8 с BOM, разделитель — точка с запятой; прочитано строк: 4")
    assert lines[1] == "  Сумма (Бюджет): десятичная запятая"
    assert "Сделки: добавлено 4, обновлено 0, без изменений 0" in lines
    assert ("Этапы: добавлены как «Открыта» — 2 новых этапа: 'Переговоры', 'Первичный контакт'"
            in lines)
    open_line = next(line for line in lines if line.startswith("2 этапа не сопоставлены"))
    assert "'Первичный контакт' (1 сделка), 'Переговоры' (1 сделка)" in open_line
    assert "на листе «Этапы»" in open_line
    owners = next(line for line in lines if line.startswith("2 ответственных"))
    assert "'Иванов Б.' (2 строки), 'anna@acme.com' (1 строка)" in owners
    assert "«Настройки»" in owners
    assert not re.search(r"\b(rows?|deals?|added|Opportunities|Stages)\b",
                         result.stdout.replace("amocrm-deals", ""))


def test_english_override_keeps_english_words(russian_tracker):
    result = run("import", russian_tracker, FIXTURE, "--lang", "en", "--dry-run")
    assert result.stdout.splitlines()[0] == (
        "amocrm_deals_utf8_bom.csv: amoCRM сделки (amocrm-deals) → Opportunities; "
        "csv, UTF-8 with BOM, semicolon-separated; 4 rows read")


# --- the five errors a manager meets most, with --lang ru -------------------------------------

def error_of(*args: object) -> str:
    result = run(*args)
    assert result.exit_code == 1, result.stdout
    return result.stderr


def test_no_such_file_in_russian(tmp_path):
    assert error_of("report", tmp_path / "нет.xlsx", "--lang", "ru") == (
        "Ошибка: нет.xlsx: такого файла нет; создайте его командой `xlkpi new нет.xlsx`\n")


def test_open_elsewhere_in_russian(russian_tracker):
    lock = russian_tracker.parent / f".~lock.{russian_tracker.name}#"
    lock.write_text("x")
    assert error_of("refresh", russian_tracker, "--lang", "ru") == (
        "Ошибка: r.xlsx открыт в Excel или LibreOffice (рядом лежит .~lock.r.xlsx#); сначала "
        "закройте его там (если он не открыт, удалите .~lock.r.xlsx#)\n")


def test_already_exists_in_russian(russian_tracker):
    assert error_of("new", russian_tracker, "--lang", "ru") == (
        "Ошибка: r.xlsx уже существует; чтобы заменить его, добавьте --force (старый файл "
        "сохранится как r.bak.xlsx), или обновите его командой `xlkpi refresh r.xlsx`\n")


def test_headers_not_recognised_in_russian(russian_tracker, tmp_path):
    export = tmp_path / "x.csv"
    export.write_text("a,b\n1,2\n")
    assert error_of("import", russian_tracker, export, "--lang", "ru") == (
        "Ошибка: заголовки выгрузки не распознаны (a, b); укажите, какой лист с данными она "
        "заполняет, через --as leads|spend|opportunities|emails|customers (столбцы — как на "
        "этом листе), или сопоставьте их через --map \"ЗАГОЛОВОК=СТОЛБЕЦ,...\"\n")


def test_not_a_tracker_in_russian_and_english(tmp_path):
    path = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(path)
    assert error_of("report", path, "--lang", "ru") == (
        "Ошибка: plain.xlsx — не трекер xlkpi: нет листа «Настройки»; создайте трекер "
        "командой `xlkpi new`\n")
    assert error_of("report", path) == (
        "Error: plain.xlsx is not an xlkpi tracker: no Settings sheet; create a tracker with "
        "`xlkpi new`\n")


# --- import's lines all from the language files -----------------------------------------------

OPEN, CLOSE = "⟦", "⟧"


def test_import_lines_come_from_the_language_files(tmp_path, monkeypatch):
    """In a pseudo language (every English text wrapped in ⟦ ⟧), what import prints is made of
    those texts, the file's own values (names, headers, stage names) and numbers only."""
    english = lang.load("en")
    pseudo = lang.Language("xx", {key: "|".join(f"{OPEN}{form}{CLOSE}" for form in (
        text.split("|") if key.startswith("messages.words.") else [text]))
        for key, text in english.texts.items()})  # each plural form a text of its own
    real_load = lang.load
    monkeypatch.setattr(lang, "load", lambda code: pseudo if code == "xx" else real_load(code))
    path = tmp_path / "t.xlsx"
    assert run("new", path, "--year", 2026, "--reps", "Anna").exit_code == 0
    result = run("import", path, FIXTURE, "--lang", "xx")
    assert result.exit_code == 0, result.stderr
    values = ["amocrm_deals_utf8_bom.csv", "amocrm-deals", "Бюджет", "Дата создания сделки",
              "Дата закрытия", "dd.mm.yyyy", "'Переговоры'", "'Первичный контакт'",
              "'Иванов Б.'", "'anna@acme.com'", "csv", "t.xlsx", "t.bak.xlsx", "Opportunities",
              "Stages", "Settings", "Won", "Lost", "Open", "Amount", "CreatedDate", "CloseDate"]
    inner = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
    for line in result.stdout.splitlines():
        rest = line
        for value in sorted(values, key=len, reverse=True):
            rest = rest.replace(value, " ")
        while inner.search(rest):
            rest = inner.sub(" ", rest)
        assert re.sub(r"[\s\d\-|,;:()→…]+", "", rest) == "", line


# --- notes of refresh and report --------------------------------------------------------------

def test_cell_problem_note_in_russian_and_english():
    from xlkpi.tracker.problems import CellProblem

    problem = CellProblem("Лиды", "ДатаЛида", [5, 9], "text date")
    with lang.using("ru"):
        assert problem.message() == (
            "Лиды, строки 5, 9 (ДатаЛида): даты записаны как текст и не учитываются — введите "
            "их заново как даты или выполните `xlkpi refresh --convert-text`")
    assert CellProblem("Leads", "LeadDate", [5], "text date").message() == (
        "Leads row 5 (LeadDate): dates stored as text; they are not counted — retype them as "
        "dates, or run `xlkpi refresh --convert-text`")


def test_unknown_owners_note_in_russian_with_more_than_shown():
    from xlkpi.core.stages import unknown_owners_message

    owners = [("A", 21), ("B", 11), ("C", 3), ("D", 1), ("E", 5), ("F", 2), ("G", 1)]
    with lang.using("ru"):
        message = unknown_owners_message(owners)
    assert message.startswith(
        "7 ответственных не совпадают ни с одним менеджером: 'A' (21 строка), 'B' (11 строк), "
        "'C' (3 строки), 'D' (1 строка), 'E' (5 строк) и ещё 2; ")
    english = unknown_owners_message([("A", 1)])
    assert english.startswith("1 owner matches no rep: 'A' (1 row); no rep's figures")
