"""The planner's page, built from one module per section; :func:`build_demo` assembles it."""

from ui.page import build_demo

__all__ = ["build_demo"]
