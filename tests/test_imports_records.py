"""Each export fixture read end to end into data-sheet records (expected values hand-checked)."""

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlkpi.imports import MAX_RECORDS, ExportError, Skipped, read_export
from xlkpi.imports import records as records_module

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
D = dt.date


def opportunity(name, owner, created, closed, stage, amount, source, record_id):
    return {"Opportunity": name, "Owner": owner, "CreatedDate": created, "CloseDate": closed,
            "Stage": stage, "Amount": amount, "source": source, "record_id": record_id}


@pytest.mark.parametrize("name", ["amocrm_deals_utf8_bom.csv", "amocrm_deals_cp1251.csv"])
def test_amocrm(name):
    result = read_export(EXPORTS / name)
    assert (result.profile, result.sheet) == ("amocrm-deals", "Opportunities")
    assert result.decisions == ["Amount (Бюджет): decimal comma",
                                "CreatedDate (Дата создания сделки): dd.mm.yyyy",
                                "CloseDate (Дата закрытия): dd.mm.yyyy"]
    assert result.records == [
        opportunity("Поставка серверов", "Анна Петрова", D(2022, 3, 22), None, "Переговоры",
                    1234567, "amocrm-deals", "12345678"),
        opportunity("Внедрение CRM; этап 2", "Иванов Б.", D(2026, 3, 14), D(2026, 3, 28),
                    "Успешно реализовано", 350000, "amocrm-deals", "12345679"),
        opportunity("Лицензии", "anna@acme.com", D(2026, 2, 1), D(2026, 2, 15),
                    "Закрыто и не реализовано", 75000.5, "amocrm-deals", "12345680"),
        opportunity("Сделка с\nпереносом строки", "Иванов Б.", D(2026, 4, 3), None,
                    "Первичный контакт", 0, "amocrm-deals", "12345681")]
    assert result.skipped == [] and result.formula_like == []


def test_bitrix24_html_deals_and_leads():
    deals = read_export(EXPORTS / "bitrix24_deals.xls")
    assert deals.file == "html, UTF-8"
    assert deals.records[1] == opportunity("Поддержка\nна год", "Борис Иванов", D(2026, 2, 2),
                                           D(2026, 2, 20), "Сделка провалена", 89990.5,
                                           "bitrix24-deals", "102")
    assert deals.records[2]["CloseDate"] is None and deals.records[0]["Amount"] == 150000
    leads = read_export(EXPORTS / "bitrix24_leads.xls")
    assert leads.records[0] == {"Lead": "Заявка с сайта", "Owner": "Анна Петрова",
                                "LeadDate": D(2026, 3, 10), "SQLDate": None, "Source": "Веб-сайт",
                                "source": "bitrix24-leads", "record_id": "7"}


def test_hubspot_deals_keep_custom_stages_as_exported():
    result = read_export(EXPORTS / "hubspot_deals.csv")
    assert [record["Stage"] for record in result.records] == [
        "Closed: won", "Closed: abandoned", "Appointment scheduled"]
    assert result.records[1] == opportunity("Globex, renewal", "Boris Ivanov", D(2026, 2, 1),
                                            D(2026, 2, 27), "Closed: abandoned", 4999.99,
                                            "hubspot-deals", "9876543211")
    assert result.records[2]["Amount"] is None and result.records[2]["CloseDate"] is None


def test_hubspot_contacts_name_a_lead_by_first_and_last_name_or_email():
    result = read_export(EXPORTS / "hubspot_contacts.csv")
    assert result.records == [
        {"Lead": "Maria Lopez", "Owner": "Anna Petrova", "LeadDate": D(2026, 3, 2),
         "SQLDate": D(2026, 3, 9), "Source": "Organic Search", "source": "hubspot-contacts",
         "record_id": "51"},
        {"Lead": "ops@initech.com", "Owner": "Boris Ivanov", "LeadDate": D(2026, 3, 5),
         "SQLDate": None, "Source": "Paid Social", "source": "hubspot-contacts", "record_id": "52"}]


def test_salesforce_reports_without_trailer_rows_and_us_dates():
    result = read_export(EXPORTS / "salesforce_opportunities.csv")
    assert len(result.records) == 3 and result.rows_read == 3
    assert result.records[0] == opportunity(
        "Acme - 200 seats", "Anna Petrova", D(2026, 1, 5), D(2026, 3, 14), "Closed Won", 48000,
        "salesforce-opportunities", "Acme - 200 seats|2026-01-05")
    assert "CreatedDate (Created Date): m/d/yyyy (no day above 12 in this column: as the file's " \
           "other dates)" in result.decisions
    assert "record ID: none in the export; records are keyed by Opportunity + CreatedDate" in (
        result.decisions)
    leads = read_export(EXPORTS / "salesforce_leads.csv")
    assert [(r["Lead"], r["LeadDate"], r["SQLDate"]) for r in leads.records] == [
        ("John Smith", D(2026, 3, 14), D(2026, 3, 20)), ("Jane Doe", D(2026, 3, 2), None)]


def test_pipedrive_status_decides_stage_and_close_date():
    result = read_export(EXPORTS / "pipedrive_deals.csv")
    assert result.records == [
        opportunity("Northwind deal", "Anna Petrova", D(2026, 2, 3), D(2026, 3, 10), "Won",
                    1234.56, "pipedrive-deals", "311"),
        opportunity("Contoso, phase 2", "Boris Ivanov", D(2026, 1, 15), D(2026, 2, 20), "Lost",
                    25000, "pipedrive-deals", "312"),
        opportunity("Fabrikam", "Anna Petrova", D(2026, 3, 20), None, "Contact made", 980.5,
                    "pipedrive-deals", "313")]
    russian = read_export(EXPORTS / "pipedrive_deals_ru_utf16.txt")
    assert [(r["Stage"], r["CloseDate"], r["Amount"]) for r in russian.records] == [
        ("Won", D(2026, 3, 19), 1234567.89), ("Квалификация", None, 500)]


def test_stripe_subscriptions_end_when_they_ended_not_when_canceled():
    result = read_export(EXPORTS / "stripe_subscriptions.csv")
    rows = [(r["Customer"], r["StartDate"], r["EndDate"], r["record_id"]) for r in result.records]
    assert rows == [
        ("Acme Corp", D(2025, 11, 3), None, "sub_1OaBcD2eFgHiJkLm"),
        ("Globex", D(2025, 6, 10), D(2026, 2, 10), "sub_1OaBcD2eFgHiJkLn"),
        ("ops@initech.com", D(2026, 2, 1), None, "sub_1OaBcD2eFgHiJkLo")]


def test_mailchimp_campaign_rows():
    result = read_export(EXPORTS / "mailchimp_campaigns.csv")
    assert result.records[1] == {"SendDate": D(2026, 3, 17), "Owner": None, "Sent": 3400,
                                 "Bounced": 50, "Opened": 870, "Replied": 0, "Positive": 0,
                                 "source": "mailchimp-campaigns", "record_id": "f6a7b8c9d0"}


def test_lemlist_events_aggregate_per_day_and_owner():
    # Hand count from the fixture: Anna on 2 March: sent a, b, c; c bounced; a opened twice
    # (one open), clicked (not counted), replied and was interested. Boris: one sent on 2 March;
    # on 3 March one sent, one open (of the 2 March e-mail) and an unsubscribe (not counted).
    result = read_export(EXPORTS / "lemlist_events.csv")
    counts = {(r["SendDate"], r["Owner"]): [r[c] for c in ("Sent", "Bounced", "Opened",
                                                           "Replied", "Positive")]
              for r in result.records}
    assert counts == {(D(2026, 3, 2), "Anna Petrova"): [3, 1, 1, 1, 1],
                      (D(2026, 3, 2), "Boris Ivanov"): [1, 0, 0, 0, 0],
                      (D(2026, 3, 3), "Boris Ivanov"): [1, 0, 1, 0, 0]}
    assert result.records[0]["record_id"] == "2026-03-02|Anna Petrova"
    assert result.aggregation == (
        "10 events → 3 Emails records (one per day and owner); 1 repeated events of one "
        "recipient on one day counted once; not counted: emailsClicked (1), emailsUnsubscribed (1)")


def test_xlsx_export_keeps_formula_like_text_as_text_and_notes_it():
    result = read_export(EXPORTS / "generic_opportunities.xlsx")
    assert result.records[1]["Opportunity"] == "=cmd|' /C calc'!A0"
    assert result.records[2]["Owner"] == "-Anna"
    assert result.formula_like == [(5, "Opportunity"), (6, "Owner")]
    assert result.records[2]["CreatedDate"] == D(2025, 12, 9)  # Excel serial 46000
    assert result.records[2]["Amount"] == 2500


def test_a_bad_cell_skips_its_row_and_names_row_and_column(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("Record ID,Deal Name,Deal Stage,Close Date,Amount\n"
                    "1,Good,Won,2026-03-01,100\n"
                    "2,Bad amount,Won,2026-03-02,12abc\n"
                    "3,Bad date,Lost,next week,5\n"
                    "4,Also good,Open,,\n", encoding="utf-8")
    result = read_export(path)
    assert [r["record_id"] for r in result.records] == ["1", "4"]
    assert result.skipped == [
        Skipped(3, "column 'Amount': '12abc' is not a number"),
        Skipped(4, "column 'Close Date': 'next week' is not a date")]


def test_a_duplicate_record_id_keeps_the_later_row(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("Record ID,Deal Name,Deal Stage,Close Date\n7,Old,Open,\n"
                    "7,New,Won,2026-03-01\n", encoding="utf-8")
    result = read_export(path, as_sheet="opportunities")
    assert [r["Opportunity"] for r in result.records] == ["New"]
    assert result.skipped == [Skipped(2, "same record ID '7' as row 3, which is kept")]


def test_pipedrive_unknown_status_is_skipped(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text('"Deal - ID","Deal - Title","Deal - Status","Deal - Deal created"\n'
                    '1,A,deleted,2026-01-01\n2,B,won,2026-01-02\n', encoding="utf-8")
    result = read_export(path)
    assert [r["Stage"] for r in result.records] == ["Won"]
    assert result.skipped == [Skipped(2, "status 'deleted' is not open, won or lost")]


def test_spend_rows_of_one_day_and_channel_are_summed(tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text("Date;Cost;Channel\n01.03.2026;1 000,50;Ads\n01.03.2026;99,50;Ads\n"
                    "02.03.2026;10;Ads\n", encoding="utf-8")
    result = read_export(path)
    assert [(r["SpendDate"], r["Spend"]) for r in result.records] == [
        (D(2026, 3, 1), 1100.0), (D(2026, 3, 2), 10.0)]


def test_more_records_than_a_sheet_holds_is_refused(tmp_path, monkeypatch):
    assert MAX_RECORDS == 1_048_575
    monkeypatch.setattr(records_module, "MAX_RECORDS", 2)
    path = tmp_path / "leads.csv"
    path.write_text("Lead,LeadDate\na,2026-01-01\nb,2026-01-02\nc,2026-01-03\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"leads.csv makes 3 Leads records, more than a sheet "
                                          r"holds \(2\); split the export by date"):
        read_export(path)


HEADER = "Record ID,Deal Name,Deal Stage,Close Date,Deal owner,Amount,Create Date"
row = st.builds(
    lambda name, stage, day, owner, amount: [name, stage, f"3/{day}/2026", owner,
                                             f'"{amount:,.2f}"', f"1/{day}/2026"],
    st.text("abcxyz -", min_size=1, max_size=8).map(lambda s: "deal " + s.strip()),
    st.sampled_from(["Closed: won", "Closed: abandoned", "Qualified"]),
    st.integers(1, 28), st.sampled_from(["Anna", "Boris", ""]),
    st.floats(0, 1e7, allow_nan=False))


@given(rows=st.lists(row, min_size=1, max_size=12), seed=st.randoms(use_true_random=False))
def test_shuffling_the_rows_gives_the_same_records(tmp_path_factory, rows, seed):
    folder = tmp_path_factory.mktemp("shuffle")
    lines = [",".join([str(index)] + cells) for index, cells in enumerate(rows)]
    shuffled = lines[:]
    seed.shuffle(shuffled)
    results = []
    for name, body in (("a.csv", lines), ("b.csv", shuffled)):
        (folder / name).write_text("\n".join([HEADER, *body]) + "\n", encoding="utf-8")
        result = read_export(folder / name)
        results.append((sorted(map(repr, result.records)), sorted(result.decisions)))
    assert results[0] == results[1]
