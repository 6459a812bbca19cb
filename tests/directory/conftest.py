"""A real OpenLDAP server (tests/directory/slapd.py) for the directory sign-in tests: one per
test session, started on first use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.directory.slapd import Slapd, available, running_slapd, skip_or_fail


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    if not available():
        skip_or_fail()
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server
