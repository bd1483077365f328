"""The tracker in the language of Settings.language (issue 12): every word from the language
files, the same numbers in every language, and a Russian tracker read and refreshed in Russian.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import tempfile
from importlib import resources
from pathlib import Path

import openpyxl
import pytest

from tests.test_workbook import load_typed
from xlkpi.core import lang
from xlkpi.core.kpis import KPIS
from xlkpi.demo import demo_tracker
from xlkpi.tracker.build import new_workbook
from xlkpi.tracker.file import TrackerFile
from xlkpi.tracker.model import (
    DATA_SHEETS,
    META,
    SETTINGS_LANGUAGE_ROW,
    TEAM_NAME,
    Settings,
    Tracker,
)
from xlkpi.tracker.reader import read_tracker

AS_OF = dt.date(2026, 9, 15)
FUNCTIONS = {kpi.function for kpi in KPIS}
REPS = ["Anna", "Boris"]
MARK = "Ж"  # wraps every text of the pseudo-language: a valid character in titles and names
# Sections whose values are codes or number formats, not words a reader sees.
_NOT_WORDS = ("language.", "formats.day", "formats.month", "formats.date", "formats.short_day",
              "formats.data_date")


def _pseudo_language() -> lang.Language:
    """English with every word wrapped in MARK (its {fields} kept)."""
    source = (resources.files("xlkpi") / "lang" / "en.json").read_text(encoding="utf-8")
    english = lang.Language("en", lang._flatten(json.loads(source)))  # noqa: SLF001 - test
    texts = {key: value if key.startswith(_NOT_WORDS) else f"{MARK}{value}{MARK}"
             for key, value in english.texts.items()}
    texts["language.name"] = "Pseudo"
    return lang.Language("xx", texts)


@pytest.fixture
def pseudo(monkeypatch):
    """The pseudo-language as the code "xx", as if xlkpi/lang/xx.json existed."""
    language = _pseudo_language()
    real_load, real_codes = lang.load, lang.codes
    monkeypatch.setattr(lang, "codes", lambda: [*real_codes(), "xx"])
    monkeypatch.setattr(lang, "load", lambda code: language if str(code).strip().lower() == "xx"
                        else real_load(code))
    return language


# The sheets written by the modules converted here; the others (Start, Leaderboard, the
# dashboard and rep view of issue 12) are listed apart, so that a failure says whose they are.
_MINE = {"Settings", "Targets", "Team", "rep", "Channels", "Stages", *DATA_SHEETS}


def _typed_texts(tracker: Tracker) -> set[str]:
    """Texts a person typed (or the data holds), which stay as typed in any language."""
    typed = set(tracker.settings.reps) | {tracker.settings.currency, tracker.settings.language}
    for sheet in tracker.data.values():
        for row in sheet.rows:
            typed.update(value for value in row if isinstance(value, str))
    for name, _kind in tracker.stages or ():
        typed.add(name)
    for target in tracker.targets:
        typed.add(target.who)
        typed.update(value for value in (*target.months, *target.extra)
                     if isinstance(value, str))
    return {text.strip() for text in typed}


def _hard_coded_words(pseudo: lang.Language) -> dict[str, list[str]]:
    """Sheet → the cells (and title) of a demo tracker built in the pseudo-language whose text
    is not wrapped in MARK: words written by the code rather than taken from the language
    files. Typed texts (rep names, data, stage names, targets' notes), numbers, dates and
    formulas are left out, and so is the hidden machine sheet _xlkpi."""
    from xlkpi.core.stages import BUILT_IN_STAGES

    tracker = demo_tracker(2026, reps=REPS, as_of=AS_OF, language="xx")
    tracker.stages = list(BUILT_IN_STAGES)
    wb = new_workbook(tracker, streamed=False)
    typed = _typed_texts(tracker)
    with lang.using(pseudo):
        own_titles = {pseudo.sheet(sheet_id): sheet_id for sheet_id in (
            "Start", "Settings", "Targets", "Team", "Leaderboard", "Channels", "Stages",
            *DATA_SHEETS)}
    offenders: dict[str, list[str]] = {}
    for ws in wb.worksheets:
        if ws.title == META:
            continue  # the hidden machine record keeps English keys on purpose
        sheet_id = own_titles.get(ws.title, "rep" if ws.title in REPS else ws.title)
        marked = ws.title.startswith(MARK) and ws.title.endswith(MARK)
        if ws.title not in REPS and not marked:
            offenders.setdefault(sheet_id, []).append(f"sheet title {ws.title!r}")
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if not isinstance(value, str) or cell.data_type == "f" or not value.strip():
                    continue
                if sheet_id in DATA_SHEETS and cell.row > 1:
                    continue  # data rows: typed
                text = value.strip()
                bare = text[1:] if text.startswith("=") else text  # hidden criterion cells
                if (text in typed or bare.replace("~", "") in typed or bare in own_titles
                        or bare == pseudo.text("targets.team")):
                    continue
                if text in FUNCTIONS or (text.startswith("=") and text[1:].split("(")[0]
                                         in FUNCTIONS):
                    continue  # Excel function names, and examples of them, stay as they are
                if not (text.startswith(MARK) and text.endswith(MARK)):
                    offenders.setdefault(sheet_id, []).append(
                        f"{cell.coordinate} {text[:60]!r}")
    return offenders


def test_every_generated_word_comes_from_the_language_files(pseudo):
    """Settings, Targets, Team, rep tabs, Channels, Stages and the data sheets' headers."""
    mine = {sheet: cells for sheet, cells in _hard_coded_words(pseudo).items()
            if sheet in _MINE}
    assert not mine, "hard-coded words on the tracker's sheets: " + json.dumps(
        mine, ensure_ascii=False, indent=1)


def test_every_word_of_start_dashboard_and_leaderboard_comes_from_the_language_files(pseudo):
    """The sheets written by the Start, dashboard and Leaderboard modules (issue 12 converts
    them separately): listed apart, so that a failure says whose sheet it is."""
    others = {sheet: cells for sheet, cells in _hard_coded_words(pseudo).items()
              if sheet not in _MINE}
    assert not others, "hard-coded words on Start/Dashboard/rep view/Leaderboard: " + json.dumps(
        others, ensure_ascii=False, indent=1)


def test_the_pseudo_language_round_trips(pseudo):
    """A tracker in a language other than English reads back as the English one does."""
    tracker = demo_tracker(2026, reps=REPS, as_of=AS_OF, language="xx")
    back = read_tracker(new_workbook(tracker, streamed=False))
    english = read_tracker(new_workbook(demo_tracker(2026, reps=REPS, as_of=AS_OF),
                                        streamed=False))
    assert back.settings.language == "xx"
    assert back.settings == tracker.settings
    assert (back.targets, back.data, back.stages) == (english.targets, english.data,
                                                      english.stages)


def _russian_and_english():
    english = demo_tracker(2026, reps=REPS, as_of=AS_OF, currency="RUB")
    russian = demo_tracker(2026, reps=REPS, as_of=AS_OF, currency="RUB", language="ru")
    return english, russian


@functools.lru_cache(maxsize=1)
def _russian_file() -> bytes:
    """The Russian demo tracker as `xlkpi new` saves it (saved once, a copy per test)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.xlsx"
        TrackerFile.new(path, _russian_and_english()[1]).save(backup=False)
        return path.read_bytes()


def test_a_russian_tracker_is_russian_and_reads_back_as_the_english_one():
    english, russian = _russian_and_english()
    wb = new_workbook(russian, streamed=False)
    assert wb.sheetnames[:5] == ["Старт", "Этот месяц", "Настройки", "Цели", "Команда"]
    assert {"Лиды", "Расходы", "Сделки", "Письма", "Клиенты", "Этапы", "Каналы"} <= set(
        wb.sheetnames)
    settings = wb["Настройки"]
    assert (settings["A4"].value, settings["A14"].value) == ("Год", "Менеджеры")
    assert (settings.cell(SETTINGS_LANGUAGE_ROW, 1).value,
            settings.cell(SETTINGS_LANGUAGE_ROW, 2).value) == ("Язык", "ru")
    assert wb[META]["A5"].value == "language" and wb[META]["B5"].value == "ru"
    targets = wb["Цели"]
    assert (targets["A4"].value, targets["B4"].value) == ("Кто", "Показатель")
    assert (targets["A5"].value, targets["B5"].value) == ("Команда", "Цена за лид")
    assert [cell.value for cell in wb["Сделки"][1]] == [
        "Сделка", "Ответственный", "ДатаСоздания", "ДатаЗакрытия", "Этап", "Сумма", "КлассЭтапа"]
    assert "Сделки" in wb["Сделки"].tables  # Сделки[ДатаЗакрытия] works in a formula
    team = wb["Команда"]
    assert [team.cell(row, 2).value for row in (6, 7, 8)] == ["План", "Факт", "Выполнение"]
    assert team["C4"].value == "='Настройки'!$B$12"
    # month names in Russian whatever the computer's locale
    assert team["C4"].number_format == "[$-419]mmm yyyy"
    assert team["C5"].number_format == "dd.mm.yyyy"
    assert wb["Сделки"]["D2"].number_format == "dd.mm.yyyy"
    assert targets["C5"].number_format == '#,##0.00 "₽"'  # cost per lead in roubles
    stages = wb["Этапы"]
    assert (stages["A1"].value, stages["B1"].value) == ("Этап", "Итог")
    assert stages["B2"].value == "Выиграна"

    back = read_tracker(wb)
    english_back = read_tracker(new_workbook(english, streamed=False))
    assert back.settings.language == "ru"
    english_back.settings.language = "ru"
    assert back.settings == english_back.settings
    assert back.targets == english_back.targets
    assert back.targets[0].who == TEAM_NAME
    assert back.data == english_back.data
    assert back.stages == english_back.stages  # "Выиграна" reads as Won


@pytest.mark.slow
def test_the_fast_reader_reads_a_russian_tracker_as_the_english_one(tmp_path):
    """xlkpi report's reader (tracker.values): the same Tracker from either language, and no
    problem found in either."""
    from xlkpi.tracker.values import read_checked

    read = {}
    for code, tracker in zip(("en", "ru"), _russian_and_english(), strict=True):
        path = tmp_path / f"{code}.xlsx"
        new_workbook(tracker, streamed=False).save(path)
        read[code] = read_checked(path)
    (english, english_problems), (russian, russian_problems) = read["en"], read["ru"]
    assert russian.settings.language == "ru"
    english.settings.language = "ru"
    assert (russian.settings, russian.targets, russian.data, russian.stages) == (
        english.settings, english.targets, english.data, english.stages)
    assert english_problems == russian_problems == []


def test_russian_stage_classes_and_english_ones_both_count():
    """Stages column B typed "Выиграна" or "Won": the hidden class column gives Won for both."""
    _, russian = _russian_and_english()
    wb = new_workbook(russian, streamed=False)
    formula = wb["Этапы"]["D2"].value
    assert formula == ('=IF(OR(B2="Won",B2="Выиграна"),"Won",IF(OR(B2="Lost",B2="Проиграна"),'
                       '"Lost","Open"))')
    english = new_workbook(demo_tracker(2026, reps=REPS, as_of=AS_OF), streamed=False)
    assert english["Stages"]["D2"].value == '=IF(B2="Won","Won",IF(B2="Lost","Lost","Open"))'


def test_english_kpi_names_in_a_russian_targets_sheet_are_read():
    _, russian = _russian_and_english()
    wb = new_workbook(russian, streamed=False)
    targets = wb["Цели"]
    targets["B5"].value = "Cost per lead"
    targets["A5"].value = "Team"
    back = read_tracker(wb)
    assert (back.targets[0].who, back.targets[0].kpi_id) == (TEAM_NAME, "cost_per_lead")


def test_an_old_tracker_without_a_language_reads_as_english():
    tracker = Tracker(Settings(year=2026, reps=["Anna"]), [], {})
    wb = new_workbook(tracker, streamed=False)
    wb["Settings"].cell(SETTINGS_LANGUAGE_ROW, 1).value = None
    wb["Settings"].cell(SETTINGS_LANGUAGE_ROW, 2).value = None
    wb[META]["A5"].value = wb[META]["B5"].value = None
    assert read_tracker(wb).settings.language == "en"


def test_the_settings_row_tells_the_language_when_the_hidden_sheet_does_not():
    _, russian = _russian_and_english()
    wb = new_workbook(russian, streamed=False)
    wb[META]["A5"].value = wb[META]["B5"].value = None
    assert read_tracker(wb).settings.language == "ru"


@pytest.mark.slow
def test_refresh_of_a_russian_tracker_stays_russian_and_keeps_typed_cells(tmp_path):
    path = tmp_path / "трекер.xlsx"
    path.write_bytes(_russian_file())
    wb = load_typed(path)
    wb["Цели"]["C5"].value = 123  # a typed target
    wb["Сделки"]["A2"].value = "Моя сделка"  # a typed data cell
    wb["Настройки"]["A16"].value = "Вера"  # a new rep: refresh adds her tab
    wb.save(path)
    file = TrackerFile.open(path)
    summary = file.refresh()
    file.save(backup=False)
    assert "Вера" in summary.tabs_added
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:5] == ["Старт", "Этот месяц", "Настройки", "Цели", "Команда"]
    assert "Вера" in wb.sheetnames and "Team" not in wb.sheetnames
    assert wb["Цели"]["C5"].value == 123
    assert "Моя сделка" in [cell.value for cell in wb["Сделки"]["A"]]  # rows may regroup
    assert wb["Настройки"].cell(SETTINGS_LANGUAGE_ROW, 2).value == "ru"
    assert wb[META]["B5"].value == "ru"
    assert wb["Вера"]["B6"].value == "План"
    assert wb["Команда"]["A1"].value == "Команда: план и факт (все строки)"
    # the new rep's Targets rows are appended in Russian
    whos = [(who, kpi) for who, kpi in wb["Цели"].iter_rows(min_row=5, max_col=2,
                                                            values_only=True)]
    assert ("Вера", "Коэффициент закрытия") in whos
    assert TrackerFile.open(path, writing=False).read().settings.language == "ru"


def test_data_sheets_print_their_header_row_only_with_dates_that_fit():
    """Printing the whole workbook gives the report pages, not thousands of data rows; the
    columns are wide enough for their dates and names (issue 12: "###" and cut names)."""
    wb = new_workbook(demo_tracker(2026, reps=REPS, as_of=AS_OF), streamed=False)
    leads = wb["Leads"]
    assert leads.print_area in ("'Leads'!$A$1:$E$1", "Leads!$A$1:$E$1")
    assert "Print Selection" in leads.oddHeader.center.text
    assert leads["C2"].number_format == "yyyy-mm-dd"  # LeadDate: 10 characters
    assert leads.column_dimensions["C"].width >= 12
    assert leads.column_dimensions["A"].width >= 28  # Lead names
    streamed = new_workbook(demo_tracker(2026, reps=REPS, as_of=AS_OF), streamed=True)
    assert streamed.workbook["Leads"].print_area is not None


@pytest.mark.libreoffice
def test_russian_and_english_trackers_show_the_same_numbers(tmp_path):
    """The same demo data in Russian and in English, recalculated by LibreOffice: every number
    of the Team, rep and Channels tabs is the same, cell by cell."""
    from tests.libreoffice import recalculate, soffice

    if soffice() is None:
        pytest.skip("LibreOffice is not installed")
    english, russian = _russian_and_english()
    paths = {}
    for code, tracker in (("en", english), ("ru", russian)):
        path = tmp_path / f"{code}.xlsx"
        new_workbook(tracker, streamed=False).save(path)
        paths[code] = recalculate(path, tmp_path / f"out_{code}")
    en = openpyxl.load_workbook(paths["en"], data_only=True)
    ru = openpyxl.load_workbook(paths["ru"], data_only=True)
    pairs = [("Team", "Команда"), ("Anna", "Anna"), ("Boris", "Boris"), ("Channels", "Каналы")]
    compared = 0
    for en_title, ru_title in pairs:
        left, right = en[en_title], ru[ru_title]
        assert left.max_row == right.max_row, en_title
        for en_row, ru_row in zip(left.iter_rows(min_row=6, max_col=15),
                                  right.iter_rows(min_row=6, max_col=15), strict=True):
            for a, b in zip(en_row, ru_row, strict=True):
                if isinstance(a.value, (int, float)) and not isinstance(a.value, bool):
                    assert isinstance(b.value, (int, float)), (en_title, a.coordinate, b.value)
                    assert math.isclose(a.value, b.value, rel_tol=1e-12, abs_tol=1e-9), (
                        en_title, a.coordinate, a.value, b.value)
                    compared += 1
                elif isinstance(a.value, str) and a.value.startswith("#"):
                    raise AssertionError((en_title, a.coordinate, a.value))
                else:
                    assert not (isinstance(b.value, str) and b.value.startswith("#")), (
                        ru_title, b.coordinate, b.value)
    # Team: 17 KPIs × 3 rows × 13 columns less the blanks; enough to be sure it was not empty
    assert compared > 1000
    assert any(isinstance(cell.value, (int, float)) for cell in ru["Команда"]["O"][6:60])


def test_text_dates_in_a_russian_tracker_are_named_and_converted_in_its_words():
    """A date typed as text in Лиды: a problem names the sheet and column as the file does,
    and --convert-text finds it in the Russian sheet."""
    from xlkpi.tracker.problems import convert_text, group

    with lang.using("ru"):
        problems = group([("Leads", "LeadDate", 2, "text date")])
    assert [(p.sheet, p.column, p.rows) for p in problems] == [("Лиды", "ДатаЛида", [2])]
    assert problems[0].message().startswith("Лиды row 2 (ДатаЛида): dates stored as text")
    _, russian = _russian_and_english()
    wb = new_workbook(russian, streamed=False)
    leads = wb["Лиды"]
    assert leads["C1"].value == "ДатаЛида"
    leads["C2"].value = "2026-10-06"
    assert convert_text(wb) == ["Лиды!C2: '2026-10-06' → 2026-10-06"]
    assert leads["C2"].value == dt.datetime(2026, 10, 6)
    assert leads["C2"].number_format == "dd.mm.yyyy"


def test_the_stages_sheet_prints_its_list():
    wb = new_workbook(demo_tracker(2026, reps=REPS, as_of=AS_OF), streamed=False)
    stages = wb["Stages"]
    assert stages.print_area in ("'Stages'!$A$1:$B$9", "Stages!$A$1:$B$9")  # 8 built-in names


def test_refresh_adds_the_language_row_to_an_old_tracker_but_keeps_a_typed_row_8(tmp_path):
    from xlkpi.tracker.build import regenerate

    for typed in (None, "my note"):
        wb = new_workbook(Tracker(Settings(year=2026, reps=["Anna"]), [], {}), streamed=False)
        settings = wb["Settings"]
        settings["A8"].value, settings["B8"].value, settings["C8"].value = typed, None, None
        regenerate(wb, read_tracker(wb))
        if typed is None:
            assert (settings["A8"].value, settings["B8"].value) == ("Language", "en")
        else:
            assert (settings["A8"].value, settings["B8"].value) == ("my note", None)


def test_a_note_typed_in_row_8_of_an_old_tracker_is_no_language():
    wb = new_workbook(Tracker(Settings(year=2026, reps=["Anna"]), [], {}), streamed=False)
    wb["Settings"]["A8"].value, wb["Settings"]["B8"].value = "my note", "abc"
    wb[META]["A5"].value = wb[META]["B5"].value = None
    assert read_tracker(wb).settings.language == "en"


@pytest.mark.slow
def test_refresh_of_a_large_russian_tracker_keeps_its_rows_outside_and_stays_russian(
        tmp_path, monkeypatch):
    """The split path of refresh (data rows held outside openpyxl) finds the Russian sheets."""
    from xlkpi.xlsx import splice

    monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    path = tmp_path / "big.xlsx"
    path.write_bytes(_russian_file())
    file = TrackerFile.open(path)
    assert isinstance(file.book, splice.SplitBook)
    assert file.read().data["Opportunities"] == read_tracker(
        load_typed(path)).data["Opportunities"]
    file.refresh()
    file.save(backup=False)
    wb = load_typed(path)
    assert wb.sheetnames[:5] == ["Старт", "Этот месяц", "Настройки", "Цели", "Команда"]
    assert wb["Сделки"]["G1"].value == "КлассЭтапа"
    assert wb["Сделки"]["G2"].value.startswith('=IF(E2="","",IFERROR(INDEX(\'Этапы\'!$D:$D')


def test_russian_labels_fit_their_columns():
    _, russian = _russian_and_english()
    wb = new_workbook(russian, streamed=False)
    settings = wb["Настройки"]
    assert settings.column_dimensions["A"].width >= len("Месяц начала финансового года") + 2
    assert settings.column_dimensions["B"].width >= len("Другие написания") + 2
    assert wb["Команда"].column_dimensions["A"].width >= len("Стоимость привлечения клиента")
    english = new_workbook(_russian_and_english()[0], streamed=False)
    assert (english["Settings"].column_dimensions["A"].width,
            english["Settings"].column_dimensions["B"].width,
            english["Team"].column_dimensions["A"].width) == (30, 16, 27)  # as before
