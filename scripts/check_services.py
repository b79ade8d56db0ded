"""Fail fast, with a clear message, when the database or Redis named in the environment is down."""

import os
import socket
import sys
from urllib.parse import urlparse


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 3
        ):
            return True
    except OSError:
        return False


def main() -> int:
    problems = []
    database = os.environ.get("DATABASE_URL", "")
    if database.startswith("postgres") and not reachable(database, 5432):
        problems.append(f"PostgreSQL is not reachable at {urlparse(database).netloc}")
    redis = os.environ.get("REDIS_URL", "")
    if redis and not reachable(redis, 6379):
        problems.append(f"Redis is not reachable at {urlparse(redis).netloc}")
    for problem in problems:
        print(f"error: {problem} (see README: running the tests)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
