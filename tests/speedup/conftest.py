from tests.cases.conftest import clerk_of, reviewer_of  # noqa: F401 - shared fixtures
