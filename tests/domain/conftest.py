from __future__ import annotations

from datetime import date

import pytest

from desktop.domain.record import Context
from desktop.domain.spec import RefData
from desktop.domain.validation import Validator

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="session")
def cjit(refdata: RefData) -> Validator:
    return Validator(refdata, "cjit-q")


@pytest.fixture(scope="session")
def secure(refdata: RefData) -> Validator:
    return Validator(refdata, "secure-r")


@pytest.fixture
def ctx() -> Context:
    return Context(today=TODAY, agency_dat="A12B")
