"""The words xlkpi writes, in the tracker's language: one JSON file per language in xlkpi/lang/.

A language file maps keys ("sheets.Leads", "kpis.close_rate.name", "start.title") to text;
``{name}`` fields are filled by :meth:`Language.text`. Every file holds every key of en.json
(tests/test_languages.py), so adding a language is adding one file.

The language in use is a context (as gettext's or Django's active language): a tracker's
language is read from the file and put in force with :func:`using` while it is read or
written, and :func:`text` looks words up in it. English is in force when nothing else is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import resources

from xlkpi.core.errors import InputError, XlkpiError

DEFAULT = "en"


@dataclass(frozen=True)
class Language:
    code: str
    texts: Mapping[str, str]  # "section.key" → text, flattened from the file's nesting

    def text(self, key: str, /, **values: object) -> str:
        try:
            template = self.texts[key]
        except KeyError:
            raise KeyError(f"language {self.code!r} has no text {key!r}") from None
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        return key in self.texts

    def sheet(self, sheet_id: str) -> str:
        """The title of a tracker sheet (its id is the English title, model.LEADS …)."""
        return self.texts[f"sheets.{sheet_id}"]

    def kpi_name(self, kpi_id: str) -> str:
        return self.texts[f"kpis.{kpi_id}.name"]

    def reword(self, text: str, section: str) -> str:
        """``text`` written from English texts of ``section`` ("messages.phrases.") written again
        in this language, their fields reworded too; text with no such phrase stays as it is
        (a message formed before the language was known, an English decision of imports)."""
        if self.code == DEFAULT or not text:
            return text
        for pattern, key in _patterns(section):
            text = pattern.sub(lambda match, key=key: self.text(key, **{
                name: self.reword(value, section) for name, value in match.groupdict().items()}),
                text)
        return text

    def plural(self, count: int, forms: str) -> str:
        """The form of a word for ``count``: ``forms`` is "one|other" (English) or "one|few|many"
        (Russian: 1, 21 сделка; 2–4, 22 сделки; 0, 5–20, 25 сделок), as the language's
        "messages.plural_rule" says; a missing form falls back to the last one given."""
        words = forms.split("|")
        rule = self.texts.get("messages.plural_rule", "one_other")
        count = abs(int(count))
        if rule == "one_few_many":
            tens, units = count % 100, count % 10
            index = (0 if units == 1 and tens != 11
                     else 1 if 2 <= units <= 4 and not 12 <= tens <= 14 else 2)
        else:
            index = 0 if count == 1 else 1
        return words[min(index, len(words) - 1)]


def _flatten(node: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in node.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):  # a long text written as lines in the file
            flat[f"{prefix}{key}"] = "".join(str(part) for part in value)
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


@cache
def _patterns(section: str) -> list[tuple[re.Pattern, str]]:
    """The English texts of ``section`` as patterns ("{x}" any text), longest first."""
    found = []
    for key, template in load(DEFAULT).texts.items():
        if not key.startswith(section):
            continue
        parts, pattern, seen = re.split(r"\{(\w+)\}", template), "", set()
        for index, part in enumerate(parts):
            if index % 2 == 0:
                pattern += re.escape(part)
            elif part in seen:
                pattern += f"(?P={part})"
            else:
                seen.add(part)
                pattern += f"(?P<{part}>.+{'' if index == len(parts) - 2 else '?'})"
        found.append((-len(template), key, re.compile(pattern)))
    return [(pattern, key) for _, key, pattern in sorted(found)]


def codes() -> list[str]:
    """The languages there is a file for, e.g. ["en", "ru"]."""
    folder = resources.files("xlkpi") / "lang"
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".json"))


@cache
def load(code: str) -> Language:
    """The language ``code`` ("en", "ru"), or InputError naming the languages there are."""
    code = (code or "").strip().lower()
    if code not in codes():
        raise InputError(f"lang: {code!r} is not a language xlkpi has; use one of "
                         + ", ".join(codes()))
    source = (resources.files("xlkpi") / "lang" / f"{code}.json").read_text(encoding="utf-8")
    return Language(code, _flatten(json.loads(source)))


_ACTIVE: ContextVar[Language | None] = ContextVar("xlkpi_language", default=None)
# The language of what xlkpi says ("messages." texts) when a command was told one (--lang)
# that may differ from the tracker's, whose words are in force while it is read or written.
_SPEAKING: ContextVar[Language | None] = ContextVar("xlkpi_speaking", default=None)


def active() -> Language:
    return _ACTIVE.get() or load(DEFAULT)


def messages() -> Language:
    """The language xlkpi's messages ("messages." texts) are written in: the one
    :func:`speaking` put in force, else the language in force."""
    return _SPEAKING.get() or active()


def _for(key: str) -> Language:
    return messages() if key.startswith("messages.") else active()


@contextmanager
def using(language: Language | str) -> Iterator[Language]:
    """Put ``language`` in force for the block (nested blocks restore the outer one). An
    XlkpiError leaving the block is marked with it (``error.language``), as the language its
    message was written in, for the one Error line the command prints."""
    chosen = load(language) if isinstance(language, str) else language
    token = _ACTIVE.set(chosen)
    try:
        yield chosen
    except XlkpiError as error:  # its message was written in this language (the innermost)
        if getattr(error, "language", None) is None:
            error.language = (_SPEAKING.get() or chosen).code
        raise
    finally:
        _ACTIVE.reset(token)


@contextmanager
def speaking(language: Language | str) -> Iterator[Language]:
    """Write xlkpi's messages ("messages." texts) in ``language`` for the block, whatever
    language a tracker read or written in it puts in force for its own words."""
    chosen = load(language) if isinstance(language, str) else language
    token = _SPEAKING.set(chosen)
    try:
        yield chosen
    finally:
        _SPEAKING.reset(token)


def text(key: str, /, **values: object) -> str:
    """The text ``key`` in the language in force (a "messages." text: in :func:`messages`),
    with ``values`` filled in."""
    return _for(key).text(key, **values)


def count(number: int) -> str:
    """A whole number as the language of the messages writes it: 1,234 in English, 1 234 in
    Russian."""
    return f"{number:,}".replace(",", messages().text("report.numbers.thousands"))


def plural(count: int, key: str) -> str:
    """The form for ``count`` of the word whose forms are the text ``key`` ("deal|deals")."""
    language = _for(key)
    return language.plural(count, language.text(key))
