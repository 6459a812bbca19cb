from tests.training.conftest import org, person  # noqa: F401 (shared fixtures)
