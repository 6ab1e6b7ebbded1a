"""Commands of ``pathway`` for the month-end report."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from desktop.domain.spec import RefData


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    del sub


def handlers() -> dict[str, Callable[[argparse.Namespace, RefData], int]]:
    return {}
