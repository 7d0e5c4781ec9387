"""Helpers for the publishing tests: parse and run the CLI, and refuse the network."""

from __future__ import annotations

import argparse
import socket
from typing import Any

import pytest

from training import publish


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` with the publishing subcommands, as ``python -m training`` does."""
    parser = argparse.ArgumentParser(prog="python -m training")
    sub = parser.add_subparsers(dest="command")
    publish.add_subcommands(sub)
    return parser.parse_args(argv)


def run(argv: list[str]) -> int:
    """Run the subcommand of ``argv``; return its exit code."""
    args = parse(argv)
    return args.func(args)


def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to open a network connection fail the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
