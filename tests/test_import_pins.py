"""pinned.Pins skips parsing formulas that name no data sheet (import and refresh look at every
formula of a 50-rep tracker's Targets): what names one, however written, is still found."""

from xlkpi.tracker.pinned import Pins


def test_a_data_sheet_named_in_any_case_or_quoted_is_still_found():
    pins = Pins({"Emails": 50, "O'Neil": 10})
    pins.formula("=SUM('emails'!C3:C9)", "Targets", None, "on 'Targets'")
    pins.formula("='O''Neil'!A5", "Team", None, "on 'Team'")
    assert pins.reasons == {"Emails": "='emails'!C3:C9 on 'Targets' points at a row",
                            "O'Neil": "='O''Neil'!A5 on 'Team' points at a row"}


def test_a_formula_naming_no_data_sheet_pins_nothing():
    pins = Pins({"Emails": 50})
    pins.formula("=SUM(C3:C9)+Targets!B4", "Targets", None, "on 'Targets'")
    pins.formula("=SUMIFS(Emails!$C:$C,Emails!$B:$B,\"x\")", "Team", None, "on 'Team'")
    assert pins.reasons == {}


def test_a_formula_on_a_data_sheet_is_always_read():
    pins = Pins({"Emails": 50})
    pins.formula("=C3", "Emails", 4, "in Emails!D4")  # no sheet named: its own sheet's row 3
    assert pins.reasons == {"Emails": "=C3 in Emails!D4 refers to another row"}
