"""Recognising an export's source from its headers."""

from pathlib import Path

import pytest

from xlkpi.imports.read import ExportError, read_table
from xlkpi.imports.sources import PROFILES, SHEET_COLUMNS, recognise
from xlkpi.tracker.model import DATA_COLUMNS

EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def test_sheet_columns_are_the_trackers():
    assert SHEET_COLUMNS == DATA_COLUMNS


def test_every_profile_maps_only_known_fields_and_requires_what_it_maps():
    helpers = {"FirstName", "LastName", "Email", "Company", "Status", "WonTime", "LostTime",
               "Event", "Recipient"}
    for profile in PROFILES:
        assert set(profile.columns) <= set(SHEET_COLUMNS[profile.sheet]) | helpers, profile.name
        assert set(profile.required) <= set(profile.columns), profile.name


@pytest.mark.parametrize("name, profile", [
    ("amocrm_deals_utf8_bom.csv", "amocrm-deals"),
    ("amocrm_deals_cp1251.csv", "amocrm-deals"),
    ("bitrix24_deals.xls", "bitrix24-deals"),
    ("bitrix24_leads.xls", "bitrix24-leads"),
    ("hubspot_deals.csv", "hubspot-deals"),
    ("hubspot_contacts.csv", "hubspot-contacts"),
    ("salesforce_opportunities.csv", "salesforce-opportunities"),
    ("salesforce_leads.csv", "salesforce-leads"),
    ("pipedrive_deals.csv", "pipedrive-deals"),
    ("pipedrive_deals_ru_utf16.txt", "pipedrive-deals"),
    ("lemlist_events.csv", "email-events"),
    ("mailchimp_campaigns.csv", "mailchimp-campaigns"),
    ("stripe_subscriptions.csv", "stripe-subscriptions"),
    ("generic_opportunities.xlsx", "generic-opportunities"),
])
def test_each_fixture_is_recognised(name, profile):
    assert recognise(read_table(EXPORTS / name).header).profile.name == profile


def test_the_trackers_own_headers_in_any_case_and_spacing():
    found = recognise([" sendDATE", "owner", "SENT", "Bounced", "opened", "Replied ", "positive"])
    assert found.profile.name == "generic-emails"
    assert found.columns["SendDate"] == " sendDATE"
    assert recognise(["spend_date", "Spend", "Channel"]).profile.name == "generic-spend"
    assert recognise(["Customer", "Start Date", "End Date"]).profile.name == "generic-customers"


def test_ambiguous_headers_ask_for_as_and_as_decides():
    with pytest.raises(ExportError, match=r"more than one data sheet \(Leads, Opportunities\); "
                                          r"say which with --as leads or --as opportunities"):
        recognise(["Name", "Owner", "Created Date"])
    assert recognise(["Name", "Owner", "Created Date"], "leads").profile.name == "generic-leads"
    found = recognise(["Name", "Owner", "Created Date"], "Opportunities")
    assert found.profile.name == "generic-opportunities"
    assert found.columns == {"Opportunity": "Name", "Owner": "Owner", "CreatedDate": "Created Date"}


def test_unrecognised_headers_say_which_as_to_give():
    with pytest.raises(ExportError, match=r"not recognised \(Foo, Bar\); say which data sheet it "
                                          r"fills with --as leads\|spend\|opportunities"):
        recognise(["Foo", "Bar"])
    with pytest.raises(ExportError, match="cannot find the Spend columns.*name its columns "
                                          "SpendDate, Spend, Channel"):
        recognise(["Deal Name", "Deal Stage", "Close Date"], "spend")
    with pytest.raises(ExportError, match="--as 'deals': give one of leads, spend"):
        recognise(["Deal Name"], "deals")


def test_a_vendor_signature_beats_the_generic_profile():
    header = ["Record ID", "Deal Name", "Deal Stage", "Close Date", "Amount", "Create Date"]
    found = recognise(header)
    assert found.profile.name == "hubspot-deals" and found.record_id == "Record ID"
