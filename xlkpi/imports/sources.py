"""Source profiles, as data: which export header feeds which data-sheet column.

Each profile names its target sheet, the headers (English and localized, "|"-separated; the
first present wins) for each field, the fields it cannot do without, the headers only that
vendor writes (its signature), the record-ID column, and what its status or event values
mean. Fields are the data sheet's own columns plus a few helpers that records.py combines:
FirstName/LastName/Email/Company (a lead's name), Status/WonTime/LostTime (Pipedrive's
stage and close date), Event/Recipient (one row per e-mail event).

A file is recognised by scoring every profile on its headers (recognise()).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xlkpi.core import lang
from xlkpi.imports.read import ExportError

# The tracker's data sheets and columns (xlkpi.tracker.model.DATA_COLUMNS; the tests check
# that the two agree: imports sits below tracker and does not import it).
LEADS, SPEND, OPPORTUNITIES, EMAILS, CUSTOMERS = (
    "Leads", "Spend", "Opportunities", "Emails", "Customers")
SHEET_COLUMNS: dict[str, tuple[str, ...]] = {
    LEADS: ("Lead", "Owner", "LeadDate", "SQLDate", "Source"),
    SPEND: ("SpendDate", "Spend", "Channel"),
    OPPORTUNITIES: ("Opportunity", "Owner", "CreatedDate", "CloseDate", "Stage", "Amount"),
    EMAILS: ("SendDate", "Owner", "Sent", "Bounced", "Opened", "Replied", "Positive"),
    CUSTOMERS: ("Customer", "Owner", "StartDate", "EndDate"),
}
AS_NAMES = {sheet.lower(): sheet for sheet in SHEET_COLUMNS}  # --as leads → "Leads"
DATE_FIELDS = frozenset({"LeadDate", "SQLDate", "SpendDate", "CreatedDate", "CloseDate",
                         "SendDate", "StartDate", "EndDate", "WonTime", "LostTime"})
AMOUNT_FIELDS = frozenset({"Spend", "Amount"})
COUNT_FIELDS = frozenset({"Sent", "Bounced", "Opened", "Replied", "Positive"})
# Per sheet, the fields that identify a record when the export has no record ID.
NATURAL_KEYS = {LEADS: ("Lead", "LeadDate"), SPEND: ("SpendDate", "Channel"),
                OPPORTUNITIES: ("Opportunity", "CreatedDate"), EMAILS: ("SendDate", "Owner"),
                CUSTOMERS: ("Customer", "StartDate")}
# Per-event e-mail rows: event type (lower-case, "emails" prefix dropped) → Emails column.
EMAIL_EVENTS = {"sent": "Sent", "opened": "Opened", "replied": "Replied",
                "bounced": "Bounced", "interested": "Positive"}


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    sheet: str
    columns: dict[str, str]  # field → "Header|Другой заголовок"
    required: tuple[str, ...]
    signature: str = ""  # "|"-separated headers only this vendor writes
    record_id: str = ""  # "|"-separated record-ID headers
    statuses: dict[str, str] = field(default_factory=dict)  # status → stage ("" = Stage)
    events: bool = False  # one row per e-mail event, aggregated per day and owner

    def headers(self, name: str) -> list[str]:
        return [header for header in self.columns.get(name, "").split("|") if header]


def header_key(header: str) -> str:
    """Headers compare without regard to case, spaces, underscores and ё/е."""
    return re.sub(r"[\s_]+", " ", header.casefold().replace("ё", "е")).strip()


_OWNER = "Owner|Rep|Sales Rep|Salesperson|Assigned To|User|Ответственный|Владелец|Менеджер"
PROFILES: tuple[Profile, ...] = (
    Profile("hubspot-deals", "HubSpot deals", OPPORTUNITIES, {
        "Opportunity": "Deal Name|Название сделки", "Owner": "Deal owner|Владелец сделки",
        "CreatedDate": "Create Date|Дата создания", "CloseDate": "Close Date|Дата закрытия",
        "Stage": "Deal Stage|Этап сделки", "Amount": "Amount|Сумма"},
        required=("Opportunity", "Stage"), record_id="Record ID|Идентификатор записи",
        signature="Record ID|Deal owner|Deal Stage|Pipeline|Идентификатор записи|Владелец сделки"),
    Profile("hubspot-contacts", "HubSpot contacts", LEADS, {
        "FirstName": "First Name|Имя", "LastName": "Last Name|Фамилия", "Email": "Email",
        "Owner": "Contact owner|Владелец контакта", "LeadDate": "Create Date|Дата создания",
        "SQLDate": "Became a Sales Qualified Lead Date",
        "Source": "Original Source|Original Traffic Source|Исходный источник"},
        required=("LeadDate",), record_id="Record ID|Идентификатор записи",
        signature="Record ID|Contact owner|Became a Sales Qualified Lead Date|Original Source"),
    Profile("salesforce-opportunities", "Salesforce opportunity report", OPPORTUNITIES, {
        "Opportunity": "Opportunity Name", "Owner": "Opportunity Owner",
        "CreatedDate": "Created Date", "CloseDate": "Close Date", "Stage": "Stage",
        "Amount": "Amount"},
        required=("Opportunity", "Stage"), record_id="Opportunity ID",
        signature="Opportunity Name|Opportunity Owner|Opportunity ID|Fiscal Period|Account Name"),
    Profile("salesforce-leads", "Salesforce lead report", LEADS, {
        "FirstName": "First Name", "LastName": "Last Name", "Company": "Company / Account|Company",
        "Owner": "Lead Owner", "LeadDate": "Created Date|Create Date", "Source": "Lead Source",
        "SQLDate": "Converted Date"},
        required=("Owner", "LeadDate"), record_id="Lead ID",
        signature="Lead Owner|Lead Source|Lead Status|Converted Date|Company / Account|Lead ID"),
    Profile("pipedrive-deals", "Pipedrive deals", OPPORTUNITIES, {
        "Opportunity": "Deal - Title|Сделка - Название", "Owner": "Deal - Owner|Сделка - Владелец",
        "CreatedDate": "Deal - Deal created|Сделка - Сделка создана",
        "Stage": "Deal - Stage|Сделка - Этап", "Amount": "Deal - Value|Сделка - Стоимость",
        "Status": "Deal - Status|Сделка - Статус",
        "WonTime": "Deal - Won time|Сделка - Время выигрыша",
        "LostTime": "Deal - Lost time|Сделка - Время проигрыша",
        "CloseDate": "Deal - Deal closed on|Deal - Close time|Сделка - Сделка закрыта"},
        required=("Opportunity", "Status"), record_id="Deal - ID|Сделка - ID",
        signature="Deal - Title|Deal - Status|Deal - ID|Сделка - Название|Сделка - Статус",
        statuses={"won": "Won", "lost": "Lost", "open": "", "выиграна": "Won",
                  "проиграна": "Lost", "открыта": ""}),
    Profile("amocrm-deals", "amoCRM сделки", OPPORTUNITIES, {
        "Opportunity": "Название сделки", "Amount": "Бюджет", "Owner": "Ответственный",
        "CreatedDate": "Дата создания сделки|Дата создания", "CloseDate": "Дата закрытия",
        "Stage": "Этап сделки|Этап"},
        required=("Opportunity", "Stage"), record_id="ID",
        signature="Бюджет|Дата создания сделки|Кем создана сделка|Воронка"),
    Profile("bitrix24-deals", "Bitrix24 сделки", OPPORTUNITIES, {
        "Opportunity": "Название сделки|Название", "Stage": "Стадия сделки|Стадия",
        "Amount": "Сумма", "Owner": "Ответственный", "CreatedDate": "Дата создания",
        "CloseDate": "Дата закрытия|Предполагаемая дата закрытия"},
        required=("Opportunity", "Stage"), record_id="ID",
        signature="Стадия сделки|Направление|Валюта|Сделка закрыта"),
    Profile("bitrix24-leads", "Bitrix24 лиды", LEADS, {
        "Lead": "Название лида", "Owner": "Ответственный", "LeadDate": "Дата создания",
        "Source": "Источник"},
        required=("Lead", "LeadDate"), record_id="ID",
        signature="Название лида|Статус лида|Статус"),
    Profile("email-events", "e-mail events (lemlist style)", EMAILS, {
        "SendDate": "date|createdAt|Event Date|Timestamp",
        "Owner": "sendUserName|sendUserEmail|sender|Sender Name|Sender Email|" + _OWNER,
        "Event": "type|event|Event Type|activity", "Recipient": "leadEmail|Lead Email|email"},
        required=("SendDate", "Event"), events=True,
        signature="type|sendUserName|sendUserEmail|leadEmail|campaignName|campaignId"),
    Profile("mailchimp-campaigns", "Mailchimp campaigns", EMAILS, {
        "SendDate": "Send Date", "Sent": "Emails Sent|Total Recipients",
        "Bounced": "Bounces|Total Bounces", "Opened": "Unique Opens"},
        required=("SendDate", "Sent"), record_id="Unique Id|Campaign ID|Title",
        signature="Unique Opens|Send Weekday|Total Recipients|Hard Bounces|Open Rate"),
    Profile("stripe-subscriptions", "Stripe subscriptions", CUSTOMERS, {
        "Customer": "Customer Name|Customer Description|Customer Email|Customer|Customer ID",
        "StartDate": "Start Date (UTC)|Start (UTC)|Start Date|Start|Created (UTC)|Created",
        "EndDate": "Ended At (UTC)|Ended At|Canceled At (UTC)|Canceled At"},
        required=("Customer", "StartDate"), record_id="id|Subscription ID",
        signature="Customer ID|Customer Email|Canceled At (UTC)|Ended At (UTC)|"
                  "Current Period End (UTC)|Cancel At Period End|Plan"),
    # Generic: the tracker's own headers plus common synonyms, one profile per sheet.
    Profile("generic-leads", "a leads table", LEADS, {
        "Lead": "Lead|Lead Name|Name|Contact|Лид|Название лида|Имя", "Owner": _OWNER,
        "LeadDate": "LeadDate|Lead Date|Created|Created Date|Create Date|Date|Дата создания|Дата",
        "SQLDate": "SQLDate|SQL Date|Qualified Date|Дата квалификации",
        "Source": "Source|Lead Source|Channel|Источник|Канал"},
        required=("LeadDate",), record_id="Record ID|ID"),
    Profile("generic-spend", "a spend table", SPEND, {
        "SpendDate": "SpendDate|Spend Date|Date|Day|Дата",
        "Spend": "Spend|Cost|Amount Spent|Расход|Расходы|Затраты",
        "Channel": "Channel|Source|Канал|Источник"},
        required=("SpendDate", "Spend"), record_id="Record ID|ID"),
    Profile("generic-opportunities", "an opportunities table", OPPORTUNITIES, {
        "Opportunity": "Opportunity|Deal|Deal Name|Name|Сделка|Название сделки|Название",
        "Owner": _OWNER, "CreatedDate": "CreatedDate|Created Date|Create Date|Created|"
                                        "Дата создания",
        "CloseDate": "CloseDate|Close Date|Closed Date|Closed|Дата закрытия",
        "Stage": "Stage|Deal Stage|Status|Этап|Стадия|Статус",
        "Amount": "Amount|Value|Deal Value|Сумма|Бюджет"},
        required=("Opportunity",), record_id="Record ID|ID"),
    Profile("generic-emails", "an e-mail counts table", EMAILS, {
        "SendDate": "SendDate|Send Date|Sent Date|Date|Дата", "Owner": _OWNER,
        "Sent": "Sent|Emails Sent|Отправлено", "Bounced": "Bounced|Bounces|Недоставлено",
        "Opened": "Opened|Opens|Unique Opens|Открыто", "Replied": "Replied|Replies|Ответы",
        "Positive": "Positive|Interested|Положительные"},
        required=("SendDate", "Sent"), record_id="Record ID|ID"),
    Profile("generic-customers", "a customers table", CUSTOMERS, {
        "Customer": "Customer|Client|Account|Клиент", "Owner": _OWNER,
        "StartDate": "StartDate|Start Date|Start|Started|Дата начала",
        "EndDate": "EndDate|End Date|Ended|Churn Date|Canceled|Дата окончания"},
        required=("Customer", "StartDate"), record_id="Record ID|ID"),
)


@dataclass(frozen=True)
class Match:
    """A profile applied to a file: field → the file's header that feeds it."""

    profile: Profile
    columns: dict[str, str]
    record_id: str | None
    score: tuple[int, int]


def match(profile: Profile, header: list[str]) -> Match | None:
    """The profile's fields found in ``header``; None if a required one is missing or no
    date at all is (nothing the tracker counts could be read)."""
    by_key = {}
    for name in header:
        by_key.setdefault(header_key(name), name)
    found: dict[str, str] = {}
    for name in profile.columns:
        for candidate in profile.headers(name):
            if header_key(candidate) in by_key and by_key[header_key(candidate)] not in (
                    found.values()):
                found[name] = by_key[header_key(candidate)]
                break
    if not set(profile.required) <= found.keys() or not DATE_FIELDS & found.keys():
        return None
    record_id = next((by_key[header_key(name)] for name in profile.record_id.split("|")
                      if name and header_key(name) in by_key), None)
    signs = sum(header_key(name) in by_key for name in profile.signature.split("|") if name)
    return Match(profile, found, record_id, (signs, len(found)))


def recognise(header: list[str], as_sheet: str | None = None) -> Match:
    """The best profile for ``header``; ExportError when none fits or two sheets tie."""
    sheet = sheet_name(as_sheet) if as_sheet else None
    matches = [found for profile in PROFILES
               if sheet in (None, profile.sheet) and (found := match(profile, header))]
    if not matches:
        raise ExportError(_not_recognised(header, sheet))
    best = max(found.score for found in matches)
    top = [found for found in matches if found.score == best]
    sheets = sorted({found.profile.sheet for found in top})
    if len(sheets) > 1:
        choices = lang.text("messages.imports.or").join(
            f"--as {name.lower()}" for name in sheets)
        raise ExportError(lang.text("messages.imports.many_sheets", choices=choices,
                                    sheets=", ".join(lang.text(f"sheets.{name}")
                                                     for name in sheets)))
    return top[0]  # the first in PROFILES order among equals of one sheet


def sheet_name(as_sheet: str) -> str:
    try:
        return AS_NAMES[as_sheet.strip().lower()]
    except KeyError:
        raise ExportError(lang.text("messages.imports.bad_as", value=repr(as_sheet),
                                    choices=", ".join(AS_NAMES))) from None


def _not_recognised(header: list[str], sheet: str | None) -> str:
    shown = ", ".join(header[:8]) + (", …" if len(header) > 8 else "")
    if sheet:
        return lang.text("messages.imports.no_columns", sheet=lang.text(f"sheets.{sheet}"),
                         shown=shown, columns=", ".join(SHEET_COLUMNS[sheet]))
    return lang.text("messages.errors.not_recognised", shown=shown, choices="|".join(AS_NAMES))
