"""kuaiban/parallel.py: batch work on several connections, only on committed rows."""

import pytest
from django.db import connection, transaction

from kuaiban.parallel import fan_out_possible, on_connections
from kuaiban.requestid import current_request_id


def backend_pid() -> int:
    connection.ensure_connection()
    return connection.connection.get_backend_pid()


def test_work_runs_on_connections_of_its_own_in_the_callers_context(committed_db):
    token = current_request_id.set("req-parallel")
    try:
        seen = on_connections(
            lambda index: (index, backend_pid(), current_request_id.get()),
            2,
        )
    finally:
        current_request_id.reset(token)
    assert [index for index, _pid, _rid in seen] == [0, 1]
    pids = {pid for _index, pid, _rid in seen}
    assert len(pids) == 2 and backend_pid() not in pids
    assert {rid for _index, _pid, rid in seen} == {"req-parallel"}
    with connection.cursor() as cursor:  # each thread closed its connection when done
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
        assert cursor.fetchone()[0] == 0


def test_a_failure_in_one_thread_is_raised_once_all_have_finished(committed_db):
    finished = []

    def work(index):
        if index == 0:
            raise ValueError("batch 0 failed")
        finished.append(index)
        return index

    with pytest.raises(ValueError, match="batch 0 failed"):
        on_connections(work, 2)
    assert finished == [1]


@pytest.mark.django_db
def test_no_fan_out_inside_a_transaction_the_other_connections_would_not_see():
    with transaction.atomic():
        assert not fan_out_possible()
