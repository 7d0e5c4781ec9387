"""Plain-language formatting of counts, money, levels and months, shared by answers and exports."""

from __future__ import annotations

import math

MONTHS: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def fmt_count(n: float) -> str:
    """A whole number with thousands separators."""
    return f"{round(n):,}"


# The minus sign, not the hyphen: "−48,344" reads as a negative amount, "-48,344" as a dash.
MINUS = "−"


def fmt_money(x: float | None, cents: bool | None = None) -> str:
    """An amount of money, currency-neutral: whole units from 100 up, cents below (or as
    ``cents`` says); thousands separators, a minus sign, and never scientific notation
    (``1e12`` -> ``"1,000,000,000,000"``)."""
    if x is None:
        return "—"
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "no upper bound" if x > 0 else "no lower bound"
    if cents is None:
        cents = abs(x) < 100
    text = f"{x:,.2f}" if cents else f"{x:,.0f}"
    if text.strip("-0.") == "":
        return text.removeprefix("-")
    return MINUS + text[1:] if text.startswith("-") else text


def money_range(low: float | None, high: float | None) -> str:
    """``"60 to 840"``: both ends in one format (cents only when both are under 100)."""
    ends = [x for x in (low, high) if x is not None and math.isfinite(x)]
    cents = bool(ends) and all(abs(x) < 100 for x in ends)
    return f"{fmt_money(low, cents)} to {fmt_money(high, cents)}"


def fmt_number(x: float) -> str:
    """A plain number: whole numbers without decimals, others with two; never ``1e+12``."""
    return fmt_count(x) if float(x).is_integer() else f"{x:,.2f}"


# From here on a number's digits say nothing to a reader: it is written as a power of ten.
PLAIN_LIMIT = 1e15
# How much of a typed value a message repeats.
ECHO_LIMIT = 40


def fmt_typed(x: float) -> str:
    """A number someone typed, for a message: thousands separators, its own decimals (up to 6),
    a power of ten when absurdly large: ``1016950`` -> ``"1,016,950"``, ``2.5`` -> ``"2.5"``,
    ``1e308`` -> ``"1×10^308"``; never ``1.01695e+06``. Ints beyond any float work too."""
    if isinstance(x, int) and abs(x) >= PLAIN_LIMIT:
        digits = str(abs(x))
        mantissa = f"{digits[0]}.{digits[1:3]}".rstrip("0").rstrip(".")
        return f"{'-' if x < 0 else ''}{mantissa}×10^{len(digits) - 1}"
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "infinity" if x > 0 else "minus infinity"
    if abs(x) >= PLAIN_LIMIT:
        mantissa, exponent = f"{x:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}×10^{int(exponent)}"
    if x.is_integer():
        return f"{int(x):,}"
    # Decimals up to 6, within the 15 significant digits a float holds.
    decimals = max(1, min(6, 15 - len(str(int(abs(x))))))
    text = f"{x:,.{decimals}f}".rstrip("0").rstrip(".")
    return text if text.strip("-0.,") else f"{x:.2g}"


def fmt_echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """``value`` as a message repeats it: its ``repr``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fmt_feature(column: str, value: float) -> str:
    """A model input in plain numbers: money for the budget, plain numbers for the rest."""
    return fmt_money(value) if column == "total_budget" else fmt_number(value)


def fmt_level(level: float) -> str:
    """``0.9`` -> ``"90%"``."""
    return f"{level:.0%}"


def range_text(level: float, lower: int, upper: int) -> str:
    """``"90% range: 31–52"``."""
    return f"{fmt_level(level)} range: {fmt_count(lower)}–{fmt_count(upper)}"


def month_name(month: int) -> str:
    """``5`` -> ``"May"``."""
    return MONTHS[int(month) - 1]


def signed(x: float, money: bool = False) -> str:
    """``x`` with its sign: ``+1,000``, ``−3``, ``±0``."""
    if x == 0:
        return "±0"
    text = fmt_money(abs(x)) if money else f"{abs(x):,g}"
    return ("+" if x > 0 else "−") + text
