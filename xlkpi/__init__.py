"""xlkpi: B2B sales KPIs in Excel, as worksheet functions and as a goal-vs-actual tracker."""

__version__ = "0.1.0"
