"""Every language file holds every key of en.json, with the same {fields}."""

import string

import pytest

from xlkpi.core import lang
from xlkpi.core.errors import InputError


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", [code for code in lang.codes() if code != "en"])
def test_each_language_has_every_english_key_with_the_same_fields(code):
    english, other = lang.load("en"), lang.load(code)
    assert sorted(set(english.texts) - set(other.texts)) == []
    assert sorted(set(other.texts) - set(english.texts)) == []
    wrong = [key for key, text in english.texts.items()
             if _fields(text) != _fields(other.texts[key])]
    assert wrong == []


def test_russian_kpi_names_follow_the_source_article():
    russian = lang.load("ru")
    assert russian.kpi_name("cost_per_lead") == "Цена за лид"
    assert russian.kpi_name("sql_count") == "Количество SQL"
    assert russian.kpi_name("close_rate") == "Коэффициент закрытия"
    assert russian.kpi_name("retention_rate") == "Коэффициент удержания"


def test_the_language_in_force_is_a_context():
    assert lang.text("sheets.Opportunities") == "Opportunities"
    with lang.using("ru"):
        assert lang.text("sheets.Opportunities") == "Сделки"
        with lang.using("en"):
            assert lang.text("sheets.Opportunities") == "Opportunities"
        assert lang.active().code == "ru"
    assert lang.active().code == "en"


def test_an_unknown_language_is_refused_with_the_ones_there_are():
    with pytest.raises(InputError,
                       match=r"lang: 'de' is not a language xlkpi has; use one of en, ru"):
        lang.load("de")
