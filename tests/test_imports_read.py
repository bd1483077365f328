"""Reading export files into a header and cells: encodings, separators, HTML, xlsx, trailers."""

from pathlib import Path

import pytest

from xlkpi.imports.read import ExportError, decode, read_table, sniff_separator

EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def write(tmp_path, data: bytes, name="export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name, encoding", [("amocrm_deals_utf8_bom.csv", "UTF-8 with BOM"),
                                            ("amocrm_deals_cp1251.csv", "cp1251")])
def test_amocrm_in_both_encodings_reads_the_same(name, encoding):
    table = read_table(EXPORTS / name)
    assert table.encoding == encoding and table.separator == ";"
    assert table.header[:4] == ["ID", "Название сделки", "Бюджет", "Ответственный"]  # "Бюджет "
    assert list(table.frame.index) == [2, 3, 4, 5]
    assert table.frame.loc[3, "Название сделки"] == "Внедрение CRM; этап 2"
    assert table.frame.loc[5, "Название сделки"] == "Сделка с\r\nпереносом строки"


def test_utf16_tab_separated():
    table = read_table(EXPORTS / "pipedrive_deals_ru_utf16.txt")
    assert (table.encoding, table.separator) == ("UTF-16", "\t")
    assert table.header[0] == "Сделка - ID"


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_separator_is_sniffed_from_the_header(tmp_path, separator):
    text = separator.join(["Date", '"Amount, EUR"', "Owner"]) + "\n"
    text += separator.join(["2026-01-02", '"1,5"', "Anna"]) + "\n"
    table = read_table(write(tmp_path, text.encode()))
    assert table.header == ["Date", "Amount, EUR", "Owner"]
    assert table.frame.loc[2].tolist() == ["2026-01-02", "1,5", "Anna"]


def test_quoted_separator_in_the_header_does_not_fool_the_sniffer():
    assert sniff_separator('"a;b";c;d\n1;2;3\n') == ";"
    assert sniff_separator('"a,b,c,d";e\n') == ";"


def test_decode_falls_back_to_cp1251_for_bytes_that_are_not_utf8():
    assert decode("Дата".encode("cp1251")) == ("Дата", "cp1251")
    assert decode("Дата".encode()) == ("Дата", "UTF-8")
    assert decode("Дата".encode("utf-16")) == ("Дата", "UTF-16")


def test_duplicate_and_spaced_headers_are_trimmed_and_kept_apart(tmp_path):
    text = "\u00a0Name ,Name,  Deal\u202f  Stage ,,name\n1,2,3,4,5\n"
    table = read_table(write(tmp_path, text.encode()))
    assert table.header == ["Name", "Name (2)", "Deal Stage", "Column 4", "name (3)"]


def test_short_rows_are_padded_and_blank_rows_inside_are_dropped_with_row_numbers_kept(tmp_path):
    table = read_table(write(tmp_path, b"a,b,c\n1,2\n,,\n\n4,5,6\n"))
    assert list(table.frame.index) == [2, 5]
    assert table.frame.loc[2].tolist() == ["1", "2", None]


def test_salesforce_trailer_rows_are_cut_off():
    table = read_table(EXPORTS / "salesforce_opportunities.csv")
    assert table.trailer_rows == 6
    assert table.frame["Opportunity Name"].tolist() == [
        "Acme - 200 seats", "Globex expansion", "Initech - pilot"]
    assert "6 trailer rows cut off" in table.describe()


def test_bitrix_html_xls_is_read_as_a_table():
    table = read_table(EXPORTS / "bitrix24_deals.xls")
    assert table.kind == "html" and table.separator is None
    assert table.header[:3] == ["ID", "Название сделки", "Стадия сделки"]
    assert table.frame["Название сделки"].tolist() == [
        "Проект «Альфа»", "Поддержка\nна год", "Новый сайт"]  # entities decoded, <br> a newline
    assert table.frame.loc[4, "Дата закрытия"] == ""


def test_html_reads_only_the_first_table_and_no_scripts(tmp_path):
    html = ("<html><body><script>alert('<td>x</td>')</script><table><tr><th>A</th><th>B</th>"
            "</tr><tr><td>1<table><tr><td>nested</td></tr></table></td><td>2</td></tr></table>"
            "<table><tr><td>other</td></tr></table></body></html>")
    table = read_table(write(tmp_path, html.encode(), "export.xls"))
    assert table.header == ["A", "B"]
    assert len(table.frame) == 1 and table.frame.loc[2, "B"] == "2"


def test_xlsx_title_rows_above_the_header_and_generated_by_trailer():
    table = read_table(EXPORTS / "generic_opportunities.xlsx")
    assert table.kind == "xlsx"
    assert table.header == ["Opportunity", "Owner", "CreatedDate", "CloseDate", "Stage", "Amount"]
    assert list(table.frame.index) == [4, 5, 6]  # the header is row 3 of the sheet
    assert table.trailer_rows == 2


def test_unreadable_files_are_one_line_errors(tmp_path):
    with pytest.raises(ExportError, match="cannot read"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(ExportError, match="empty"):
        read_table(write(tmp_path, b""))
    with pytest.raises(ExportError, match="as a workbook"):
        read_table(write(tmp_path, b"PK\x03\x04 not really a zip", "broken.xlsx"))


def test_bytes_neither_utf8_nor_cp1251_are_named_not_a_crash(tmp_path):
    """0x98 is no character in cp1251 (nor is a lone 0xE9 UTF-8): the 13th byte is named, with
    the fix, instead of a UnicodeDecodeError; the chunked event reader's head declines it too."""
    from xlkpi.imports import read_export

    path = tmp_path / "export.csv"
    path.write_bytes(b"Name,Owner\nA\x98B,C\xe9\n")
    for read in (read_table, read_export):
        with pytest.raises(ExportError) as raised:
            read(path)
        assert str(raised.value) == (f"cannot read {path}: its byte 13 (0x98) is text neither "
                                     "in UTF-8 nor in Windows Cyrillic (cp1251); export it "
                                     "again as CSV in UTF-8")
