"""Plain-number display shared by messages, economics and exports: no scientific notation."""

from __future__ import annotations

import math

# At and above this size money shows no decimals.
WHOLE_MONEY_FROM = 1000.0


def format_money(value: float | None) -> str:
    """Currency-neutral money: thousands separators, never scientific notation.

    No decimals from 1,000 up or on whole amounts (``1e12`` -> ``"1,000,000,000,000"``), two
    decimals on smaller amounts (``12.5`` -> ``"12.50"``); ``None`` -> ``"—"``.
    """
    if value is None:
        return "—"
    number = float(value)
    if math.isnan(number):
        return "n/a"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if abs(number) >= WHOLE_MONEY_FROM or round(number, 2).is_integer():
        text = f"{round(number):,}"
    else:
        text = f"{number:,.2f}"
    return "0" if text in ("-0", "-0.00") else text
