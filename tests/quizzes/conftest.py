"""Fixtures shared by the quiz tests: the quiz site of test_taking and the organisation of
the training tests."""

from tests.quizzes.test_taking import site, trainee, tree  # noqa: F401  (fixtures)
from tests.training.conftest import org, person  # noqa: F401  (fixtures)
