"""The ``xlkpi`` command: parse, call, echo. The work is in tracker.file.TrackerFile (open, read,
refresh, save), demo, report and tracker.values; every failure ends as one line
``Error: ...`` and exit code 1.

Every line the command prints comes from the language files (core.lang), in the tracker's
language (Settings.language of the opened tracker) or the one --lang names; click's own help
and usage errors stay English."""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import os
import sys
import textwrap
from contextvars import ContextVar
from pathlib import Path

import click

from xlkpi import __version__
from xlkpi.core import lang
from xlkpi.core.errors import InputError, XlkpiError
from xlkpi.tracker import model as layout

DEFAULT_TEMPLATE = Path("workbook_template") / "xlkpi-tracker.xlsx"
DEBUG_VARIABLE = "XLKPI_DEBUG"  # set to 1 to see the traceback of an unexpected error
RARE_COLLECTIONS = (100_000, 20, 10)  # gc thresholds while a command runs (default 700, 10, 10)
LANG_HELP = "The language of what xlkpi prints: en, ru.  [default: the tracker's]"

# The language the Error line of the running command is written in: the failure is printed
# after the command's own context (and the language it put in force) has ended.
_ERRORS_IN: ContextVar[lang.Language | None] = ContextVar("xlkpi_errors_in", default=None)


def _answer_in(code: str | None, *, now: bool = True) -> None:
    """Write the rest of the command's messages, its Error line included, in the language
    ``code`` (nothing changes for None); ``now=False``: only the Error line for the moment,
    the messages once a tracker is read (see _speak)."""
    if not code:
        return
    language = lang.load(code)
    _ERRORS_IN.set(language)
    context = click.get_current_context()
    context.with_resource(lang.speaking(language))  # a tracker's own words stay its own
    if now:
        context.with_resource(lang.using(language))


def _speak(tracker_language: str, override: str | None) -> None:
    """After reading a tracker: its language for the rest of the command, unless --lang."""
    _answer_in(override or tracker_language)


def _watching() -> bool:
    return sys.stderr.isatty()


def _progress(key: str, **values: object) -> None:
    """Progress of long work, on stderr and only for a person watching a terminal (a script
    reading stderr gets nothing but the one Error line when something fails)."""
    if _watching():
        click.echo(lang.text(key, **values), err=True)


def _note(message: str) -> None:
    click.echo(lang.text("cli.note", message=message), err=True)


def _say_saved(path: Path, lines: list[str]) -> None:
    """Print what a command that saved ``path`` has to say; an error writing it (a full disk
    behind `> file`) is not a failure to save the tracker, and is not reported as one."""
    try:
        for line in lines:
            click.echo(line)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise XlkpiError(lang.text("cli.output_failed", name=path.name,
                                   reason=exc.strerror or exc)) from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message, *values, written_in: str | None = None) -> None:
    """The one Error line, in the command's language (--lang, else the language the message
    was written in, ``written_in``: a tracker's, read before it failed); ``message``: a text,
    or a function that writes it (in that language) from ``values``."""
    with lang.using(_ERRORS_IN.get() or (lang.load(written_in) if written_in else None)
                    or lang.active()):
        text = message(*values) if callable(message) else message
        text = lang.active().reword(text, "messages.errors.")  # raised before it was known
        click.echo(lang.text("cli.error", message=_one_line(text)), err=True)
    sys.exit(1)


def _os_error(exc: OSError) -> str:
    name = Path(exc.filename).name if exc.filename else lang.text("cli.the_file")
    if isinstance(exc, PermissionError):
        return lang.text("cli.os_permission", name=name)
    if isinstance(exc, FileNotFoundError):
        return lang.text("cli.os_missing", name=name)
    return lang.text("cli.os_other", name=name, reason=exc.strerror or exc)


def _usage(exc: click.UsageError) -> str:
    message = exc.format_message().rstrip(".")  # click's own words: English
    return lang.text("cli.usage_hint", message=message, command=exc.ctx.command_path) \
        if exc.ctx else message


def _unexpected(exc: Exception) -> str:
    return lang.text("cli.unexpected", kind=type(exc).__name__,
                     message=str(exc) or lang.text("cli.no_message"), variable=DEBUG_VARIABLE)


class _Xlkpi(click.Group):
    """Runs a command and turns every failure into one line and exit code 1."""

    def list_commands(self, ctx):
        return list(self.commands)  # in the order a user meets them, not alphabetical

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        token = _ERRORS_IN.set(None)
        collecting = gc.get_threshold()
        # A command builds a large graph of long-lived objects (openpyxl's cells) and ends:
        # the cyclic collector's frequent passes over it took a fifth of an import's tracker
        # work and freed next to nothing. It runs rarely, not never, while the command runs.
        gc.set_threshold(*RARE_COLLECTIONS)
        try:
            return self._main(args, prog_name, complete_var, standalone_mode, **extra)
        finally:
            gc.set_threshold(*collecting)
            _ERRORS_IN.reset(token)

    def _main(self, args, prog_name, complete_var, standalone_mode, **extra):
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help())
            code = 0
        except click.UsageError as exc:
            _fail(_usage, exc)
        except click.ClickException as exc:
            _fail(exc.format_message())
        except (click.Abort, KeyboardInterrupt):
            _fail(lang.text, "cli.interrupted")
        except XlkpiError as exc:
            _fail(str(exc), written_in=getattr(exc, "language", None))
        except BrokenPipeError:  # `xlkpi report ... | head`: the reader has all it wants
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            _fail(_os_error, exc)
        except Exception as exc:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            _fail(_unexpected, exc)
        if standalone_mode:
            sys.exit(code if isinstance(code, int) else 0)
        return code


@click.group(cls=_Xlkpi, context_settings={"help_option_names": ["-h", "--help"],
                                            "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="xlkpi")
def cli():
    """Sales KPIs in Excel: a goal-vs-actual tracker for a B2B sales team.

    Start with a demo to see how it works, then make your own:

    \b
      xlkpi new demo.xlsx --demo       a tracker with a year of sample data
      xlkpi new tracker.xlsx --reps "Anna,Boris"
      xlkpi report tracker.xlsx        targets, actuals and attainment

    Paste your CRM export into the data sheets (Leads, Spend, Opportunities, Emails,
    Customers) and type monthly targets on the Targets sheet; the Team and rep tabs
    compute in Excel by themselves. After adding reps in Settings, run
    `xlkpi refresh tracker.xlsx`.
    """


# --- new -----------------------------------------------------------------------------------------

def _parse_reps(text: str | None) -> list[str]:
    """"Anna, Boris" -> ["Anna", "Boris"]; the builder's check_reps judges the names."""
    return [name for name in (" ".join(part.split()) for part in (text or "").split(","))
            if name]


def _as_date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _empty_tracker(settings: layout.Settings) -> layout.Tracker:
    return layout.Tracker(settings, [], {name: layout.DataSheet(list(columns), [])
                                         for name, columns in layout.DATA_COLUMNS.items()})


def _demo_today(year: int, fiscal_start: int) -> dt.date | None:
    """Today, when it falls in the demo's fiscal year: its data then stops today, as a real
    team's does (the month's pacing is then a real mid-month one, not a finished month
    judged on day 7); None (the whole year) for a year that is over or not begun."""
    today = dt.date.today()
    first = dt.date(year, fiscal_start, 1)
    elapsed = (today.year - first.year) * 12 + today.month - first.month
    return today if today >= first and elapsed < 12 else None


@cli.command(short_help="Create a tracker workbook (--demo: with a sample year).")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", type=click.IntRange(layout.FIRST_YEAR, layout.LAST_YEAR), default=None,
              help="The (fiscal) year the tracker follows.  [default: this year]")
@click.option("--fiscal-start", type=click.IntRange(1, 12), default=1, show_default=True,
              metavar="1-12", help="Month the fiscal year starts in (4 = April).")
@click.option("--reps", metavar='"ANNA,BORIS"',
              help="The sales reps, separated by commas; each gets a tab. You can add "
                   "more later in Settings.  [default: none, or five sample reps with --demo]")
@click.option("--currency", default=None,
              help="Currency code shown with amounts (USD, EUR, RUB...).  "
                   "[default: the language's: USD for en, RUB for ru]")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="Fix the year-to-date column to run through this date's month.  "
                   "[default: today, whenever the tracker is opened]")
@click.option("--demo", is_flag=True,
              help="Fill the tracker with a realistic sample year of data and targets.")
@click.option("--force", is_flag=True,
              help="Replace PATH if it exists (the old file is kept as NAME.bak.xlsx).")
@click.option("--lang", "language", default=lang.DEFAULT, show_default=True, metavar="en|ru",
              help="The tracker's language: its sheets, headers, KPI names and what xlkpi "
                   "prints about it.")
def new(path: Path, year, fiscal_start, reps, currency, as_of, demo, force, language):
    """Create a new tracker workbook at PATH (an .xlsx file).

    The workbook has a Start sheet that explains it, Settings, Targets, the data
    sheets, a Team tab, one tab per rep and a leaderboard. With --demo it comes filled
    with a sample year so you can see every KPI working at once.

    \b
    Examples:
      xlkpi new tracker.xlsx --reps "Anna,Boris,Chen" --year 2026
      xlkpi new demo.xlsx --demo
      xlkpi new fy.xlsx --fiscal-start 4 --currency EUR --reps "Ana,Luis"
      xlkpi new трекер.xlsx --lang ru --reps "Анна,Борис"
    """
    from xlkpi.report_output import Numbers
    from xlkpi.tracker import build as workbook
    from xlkpi.tracker.file import TrackerFile, check_new_path

    _answer_in(language)
    language = lang.active().code
    check_new_path(path, force)
    currency = lang.text("language.currency") if currency is None else currency.strip().upper()
    if not currency:
        raise InputError(lang.text("cli.new.no_currency", example=lang.text("language.currency")))
    names = _parse_reps(reps)
    workbook.check_reps(names)
    year = year or dt.date.today().year
    if demo:
        from xlkpi.demo import demo_tracker

        _progress("cli.new.generating", year=year)
        typed = _as_date(as_of)
        tracker = demo_tracker(year, names or None, fiscal_start, currency,
                               as_of=typed or _demo_today(year, fiscal_start))
        tracker.settings.as_of = typed  # blank: the workbook's own TODAY(), as a real tracker's
        tracker.settings.language = language
    else:
        tracker = _empty_tracker(layout.Settings(year, fiscal_start, currency, names,
                                                 _as_date(as_of), language=language))
    _progress("cli.new.building")
    created = TrackerFile.new(path, tracker)
    _progress("cli.saving", path=path)
    backup = created.save(backup=True)
    rows = sum(len(sheet.rows) for sheet in tracker.data.values())
    settings = tracker.settings
    said = {"path": path, "year": settings.year,
            "month": lang.text(f"report.months.{settings.fiscal_start}"),
            "reps": ", ".join(settings.reps) or lang.text("cli.new.no_reps")}
    lines = [lang.text("cli.new.created_demo", rows=Numbers().number(rows, 0), **said) if demo
             else lang.text("cli.new.created", **said)]
    if backup:
        lines.append(lang.text("cli.new.replaced", backup=backup.name))
    if not demo:
        lines.append(lang.text("cli.new.next") if settings.reps
                     else lang.text("cli.new.next_reps", name=path.name))
    _say_saved(path, lines)


# --- refresh -------------------------------------------------------------------------------------

@cli.command(short_help="Rebuild the generated tabs; keep everything typed.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True,
              help="Only say what would change (tabs added or removed, target rows added); "
                   "save nothing.")
@click.option("--convert-text", is_flag=True,
              help="Turn dates and numbers typed as text (which the formulas do not count) "
                   "into real dates and numbers, cell by cell.")
@click.option("--lang", "language", metavar="en|ru", help=LANG_HELP)
def refresh(path: Path, dry_run: bool, convert_text: bool, language):
    """Rebuild the Team, rep and leaderboard tabs of the tracker at PATH.

    Run it after adding or removing reps in Settings. Everything a person typed is
    kept: Settings, every Targets value and every data row. The file is replaced in
    one step and the previous version is kept as NAME.bak.xlsx. Close the workbook
    in Excel first.
    """
    from xlkpi.tracker.file import TrackerFile

    _answer_in(language, now=False)
    tracker = TrackerFile.open(path, writing=not dry_run, whole=convert_text)
    summary = tracker.refresh(convert_text)  # a dry run is the same refresh, not saved
    _speak(tracker.read().settings.language, language)
    lines = ["  " + line for line in refresh_lines(summary)]
    if dry_run:
        click.echo(lang.text("cli.refresh.dry_run", path=path))
        for line in lines:
            click.echo(line)
        return
    _progress("cli.saving", path=path)
    backup = tracker.save(backup=True)
    _say_saved(path, [lang.text("cli.refresh.done_backup", path=path, backup=backup.name)
                      if backup else lang.text("cli.refresh.done", path=path), *lines,
                      *_checks(path)])


def refresh_lines(summary) -> list[str]:
    """What a refresh changed (tracker.file.RefreshSummary), in the language in force; the
    lines about rows moved and saving notes are the tracker modules' own."""
    by_who: dict[str, int] = {}
    for who, _kpi in summary.targets_added:
        by_who[who] = by_who.get(who, 0) + 1
    none = lang.text("cli.refresh.none")
    count = len(summary.targets_added)
    return [lang.text("cli.refresh.tabs_added", names=", ".join(summary.tabs_added) or none),
            lang.text("cli.refresh.tabs_removed", names=", ".join(summary.tabs_removed) or none),
            lang.text("cli.refresh.targets_added_by_who", count=count, by_who=", ".join(
                lang.text("cli.refresh.by_who", who=who, count=number)
                for who, number in by_who.items())) if by_who
            else lang.text("cli.refresh.targets_added", count=count),
            *summary.rows,
            *(lang.text("cli.refresh.converted", cell=line) for line in summary.converted),
            *summary.notes]


def _checks(path: Path) -> list[str]:
    """What the saved tracker's formulas leave out because of a cell's form, and the fix; or
    why `xlkpi report` cannot read it."""
    from xlkpi.report import read_report
    from xlkpi.tracker.merge import unknown_owner_note

    try:
        computed = read_report(path)
        note = unknown_owner_note(computed.tracker)  # owners no rep's figures count (issue 9)
        if note:
            _note(note)
        return [*(lang.text("cli.refresh.check", message=problem.message())
                  for problem in computed.problems()),
                *(lang.text("cli.refresh.check", message=line)
                  for line in computed.target_mismatches())]
    except XlkpiError as exc:
        return [lang.text("cli.refresh.check", message=lang.text(
            "cli.refresh.check_unreadable", message=exc))]


# --- report --------------------------------------------------------------------------------------

@cli.command(short_help="Print target, actual and attainment: the team this month, or more.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--period", metavar="2026-10|2026-Q4|YTD|all",
              help="One month of the fiscal year, one of its quarters (2026-Q4: the fourth "
                   "of the fiscal year that Settings' year 2026 labels), YTD (year to date), "
                   "or all (every month and YTD).  [default: with no other option, the current "
                   "month; else each month so far, then YTD]")
@click.option("--rep", metavar="NAME|Team",
              help="Only this rep (as named in Settings), or Team for the whole team.  "
                   "[default: with no other option, the team; else the team, then every rep]")
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True,
              help="table for reading; csv for a spreadsheet; json for scripts (a list of "
                   "objects with rep, kpi, period, target, actual, attainment; no number = "
                   "null). Rates and attainment are fractions in csv and json (0.25 = 25%).")
@click.option("--by", "by", type=click.Choice(["rep", "channel"]), default="rep",
              show_default=True,
              help="rep: target, actual and attainment per rep and KPI; channel: spend, leads, "
                   "cost per lead, SQLs and lead-to-SQL rate per channel (Spend's Channel = "
                   "Leads' Source), as on the Channels sheet.")
@click.option("--lang", "language", metavar="en|ru", help=LANG_HELP)
@click.pass_context
def report(ctx: click.Context, path: Path, period, rep, output, by, language):
    """Print target, actual and attainment for the KPIs of the tracker at PATH.

    With no option: the team in the current month (the as-of date's month in Settings, else
    today's; the last month with data when that one has none yet), with the month's pace,
    and a footer naming the options that show more. With any option, every rep and month
    the options ask for (csv and json: every rep and month so far unless told otherwise).

    Actuals are computed from the data sheets (the same numbers as the tracker's
    formulas show once Excel has recalculated), targets come from the Targets sheet,
    and attainment is actual / target, or target / actual for KPIs where lower is
    better (costs, churn). "-" means no number: no target, or nothing to divide by.

    \b
    Examples:
      xlkpi report tracker.xlsx
      xlkpi report tracker.xlsx --period 2026-10 --rep Anna
      xlkpi report tracker.xlsx --period YTD --format csv > ytd.csv
      xlkpi report tracker.xlsx --by channel --period 2026-Q4
      xlkpi report трекер.xlsx --lang en
    """
    from xlkpi.tracker.prefetch import read_ahead

    _answer_in(language, now=False)
    if rep is not None and not rep.strip():
        raise InputError(lang.text("cli.report.rep_empty", team=layout.TEAM_NAME))
    ahead = read_ahead(path)  # a large file's biggest sheets, read while the rest loads
    from xlkpi import report as reports
    from xlkpi import report_output
    from xlkpi.tracker.merge import unknown_owner_note
    from xlkpi.tracker.values import paused_gc
    from xlkpi.xlsx.save import lock_files

    default_view = all(ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT
                       for name in ("period", "rep", "output", "by"))
    if path.exists() and path.stat().st_size > 2_000_000:
        _progress("cli.reading", path=path)
    with paused_gc(freeze=True):  # the rows live until the command ends: no collection
        computed = reports.read_report(path, ahead)  # python-calamine: ten times faster
        tracker = computed.tracker
        _speak(tracker.settings.language, language)
        if path.exists() and lock_files(path):
            _note(lang.text("cli.report.open_in_excel", name=path.name))
        if rep is not None and rep.strip().casefold() == lang.text("report.team").casefold():
            rep = layout.TEAM_NAME  # "Команда" for Team in a Russian tracker
        if by == "channel" and rep is not None:
            raise InputError(lang.text("cli.report.channel_rep"))
        if default_view:
            text = report_output.month_view(computed, path)
        else:
            text = report_output.report_text(computed, path.name, period, rep, output, by)
        for problem in computed.problems():
            _note(problem.message())
        note = unknown_owner_note(tracker)  # owners no rep's figures count (issue 9)
        for line in computed.target_mismatches():
            _note(line)
    click.echo(text, nl=False)
    if note:
        _note(note)


# --- import --------------------------------------------------------------------------------------

@cli.command("import", short_help="Merge a CRM or e-mail tool export into the tracker.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("export", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as", "as_sheet", metavar="leads|opportunities|emails|customers|spend",
              help="The data sheet the export fills, when its headers do not say.")
@click.option("--map", "mapping", metavar='"Deal Stage=Stage,Owner Name=Owner,..."',
              help="Which export header feeds which column of the data sheet (ID: the record "
                   "ID), for headers xlkpi does not recognise; saved in the tracker (Stages "
                   "sheet), so the next file with the same headers needs no flags.")
@click.option("--dry-run", is_flag=True,
              help="Show what would be added and updated, with a sample; save nothing.")
@click.option("--lang", "language", metavar="en|ru", help=LANG_HELP)
def import_(path: Path, export: Path, as_sheet, mapping, dry_run: bool, language):
    """Merge EXPORT (a CSV, .xlsx or .xls export of HubSpot, Salesforce, Pipedrive, amoCRM,
    Bitrix24, an e-mail tool or a billing system) into the tracker at PATH.

    A record imported before (same source and record ID) is updated in place, a new one
    added; rows typed by hand are never touched; importing the same file twice changes
    nothing. Owners are written as the rep's own name through the aliases in Settings;
    new stage names are added to the Stages sheet as Open. The file is replaced in one
    step and the previous version is kept as NAME.bak.xlsx.

    \b
    Examples:
      xlkpi import tracker.xlsx hubspot-deals.csv
      xlkpi import tracker.xlsx events.csv --as emails --dry-run
      xlkpi import tracker.xlsx deals.csv --map "Deal=Opportunity,Stage=Stage,Closed=CloseDate"
    """
    from xlkpi.imports import read_export
    from xlkpi.tracker import merge, reader, stages
    from xlkpi.tracker.file import TrackerFile

    _answer_in(language, now=False)
    # rows edited in place; the generated tabs, written again by the refresh below, unread
    tracker = TrackerFile.open(path, writing=not dry_run, whole=True)
    wb = merge.editable(tracker.book, path.name)
    saved = stages.read_import_maps(wb[layout.STAGES]) if layout.STAGES in wb.sheetnames else {}
    typed = reader.read_tracker(tracker.book, path.name)
    _speak(typed.settings.language, language)
    _progress("cli.reading", path=export)
    result = read_export(export, as_sheet, mapping=mapping, saved=saved)
    for line in merge.import_lines(result):
        click.echo(line)
    written_in = typed.settings.language  # the workbook's words, whatever --lang says
    with lang.using(written_in):
        summary = merge.merge_records(wb, typed, result.sheet, result.records,
                                      write=not dry_run)
    lines = merge.summary_lines(summary, dry_run)
    map_saved = False
    if result.mapping is not None and not result.mapping_saved:
        if not dry_run:
            with lang.using(written_in):
                stages.ensure_stages(wb)
                map_saved = stages.save_import_map(wb[layout.STAGES], result.signature,
                                                   result.sheet, result.mapping.text())
        lines.append(lang.text("cli.import.mapping_would" if dry_run
                               else "cli.import.mapping_saved"))
    if dry_run:
        click.echo(lang.text("cli.import.dry_run"))
    elif summary.changed or map_saved:
        with lang.using(written_in):
            tracker.refresh(carry=True)  # tabs the rows change nothing of: kept
        _progress("cli.saving", path=path)
        backup = tracker.save(backup=True)
        if backup:
            lines.append(lang.text("cli.import.saved", name=path.name, backup=backup.name))
    else:
        lines.append(lang.text("cli.import.nothing", name=path.name))
    for line in lines:
        click.echo(line)


# --- template ------------------------------------------------------------------------------------

@cli.command(short_help="Regenerate the empty tracker template (workbook_template/).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_TEMPLATE, show_default=True,
              help="Where to write the template workbook.")
@click.option("--lang", "language", default=lang.DEFAULT, show_default=True, metavar="en|ru",
              help="The template's language.")
def template(output: Path, language):
    """Regenerate the ready-made, empty tracker template that ships with xlkpi."""
    from xlkpi.tracker import build as workbook
    from xlkpi.tracker.file import TrackerFile

    _answer_in(language)
    output.parent.mkdir(parents=True, exist_ok=True)
    book = workbook.template_workbook(lang.active().code, lang.text("language.currency"))
    TrackerFile(output, book).save(backup=False)
    click.echo(lang.text("cli.template.wrote", path=output))


# --- functions -----------------------------------------------------------------------------------

def excel_functions() -> list[tuple[str, str]]:
    """(signature, description) of every Excel function in xlkpi.udfs, in the module's order."""
    from xlkpi import udfs

    public = [(name, function) for name, function in vars(udfs).items()
              if inspect.isfunction(function) and function.__module__ == udfs.__name__
              and not name.startswith("_")]
    # xlwings marks its functions with __xlfunc__, except where it has no runtime (Linux
    # without xlwings Server): then every public function of the module is one.
    if any(hasattr(function, "__xlfunc__") for _name, function in public):
        public = [(name, function) for name, function in public
                  if hasattr(function, "__xlfunc__")]
    found = []
    for name, function in public:
        parameters = [parameter.name if parameter.default is inspect.Parameter.empty
                      else f"[{parameter.name}]"
                      for parameter in inspect.signature(function).parameters.values()]
        doc = (inspect.getdoc(function) or "").strip().splitlines()
        found.append((f"{name.upper()}({', '.join(parameters)})", doc[0] if doc else ""))
    return found


@cli.command(short_help="List the Excel functions of the add-in (xlkpi.udfs).")
def functions():
    """List the Excel functions xlkpi adds (with xlwings: UDF module xlkpi.udfs).

    Arguments in [brackets] may be left out.
    """
    for signature, description in excel_functions():
        click.echo(signature)
        for line in textwrap.wrap(description, width=92):
            click.echo("    " + line)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="xlkpi")


if __name__ == "__main__":
    main()
