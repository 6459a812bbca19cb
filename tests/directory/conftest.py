"""A real OpenLDAP server (tests/directory/slapd.py) for the directory sign-in tests: one per
test session, started on first use."""

from tests.directory.slapd import slapd_server  # noqa: F401 (the fixture `slapd`)
