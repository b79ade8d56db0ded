"""The start key of an 'apply' button is its applicant's own: the same key from the same person
(a double click, two clicks at once, the page sent twice at the window) gives one draft; a key
that opened someone else's application starts a fresh draft and never reveals or touches the
other one; a malformed key is no key. Never an IntegrityError."""

import threading
import uuid

import pytest
from django.db import connection
from django.test import Client

from bundles.services import window
from kuaiban.cases.models import Application, CaseEvent
from kuaiban.catalog.models import Bundle, ServiceHall, Window
from tests.factories import UserFactory, generated_phone, generated_resident_id

pytestmark = pytest.mark.django_db


def post_apply(client, key, code="B07"):
    return client.post(f"/apply/bundles/{code}/", {"start_key": key})


def test_another_applicants_start_key_starts_a_fresh_draft_and_leaves_theirs_alone(
    client, citizen, other_citizen
):
    key = uuid.uuid4()
    client.force_login(other_citizen)
    theirs = Application.objects.get(pk=_opened(post_apply(client, str(key))).pk)
    client.force_login(citizen)
    response = post_apply(client, str(key))
    assert response.status_code == 302
    mine = Application.objects.get(applicant=citizen)
    assert mine.pk != theirs.pk and mine.submission_key != key
    assert theirs.reference not in response["Location"]
    assert mine.reference in response["Location"]
    # Theirs is untouched: same key, same owner, one creation event.
    theirs_now = Application.objects.get(pk=theirs.pk)
    assert (theirs_now.applicant, theirs_now.submission_key) == (other_citizen, key)
    assert CaseEvent.objects.filter(application=theirs, action="create").count() == 1
    # And my own double click with the key I was given stays one draft.
    assert _opened(post_apply(client, str(key))).pk == mine.pk
    assert Application.objects.filter(applicant=citizen).count() == 1


def _opened(response) -> Application:
    assert response.status_code == 302
    reference = response["Location"].split("/applications/")[1].split("/")[0]
    return Application.objects.get(reference=reference)


def test_the_same_key_for_another_service_starts_a_draft_of_that_service(client, citizen):
    client.force_login(citizen)
    key = str(uuid.uuid4())
    first = _opened(post_apply(client, key, "B07"))
    second = _opened(post_apply(client, key, "B10"))
    assert first.pk != second.pk and second.bundle.code == "B10"


@pytest.mark.parametrize(
    "key", ["", "not-a-key", "1" * 5000, "00000000-0000-0000-0000-00000000000g", "'; --"]
)
def test_a_malformed_start_key_is_no_key_and_opens_a_draft(client, citizen, key):
    client.force_login(citizen)
    application = _opened(post_apply(client, key))
    assert application.applicant == citizen and application.submission_key is not None


def test_two_clicks_at_once_with_the_same_key_open_one_draft(committed_db):
    """Two POSTs racing on PostgreSQL: the unique key makes the loser find the winner's draft."""
    citizen = UserFactory(citizen=True)
    key = str(uuid.uuid4())
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    locations: list[str] = []

    def click():
        client = Client()
        client.force_login(citizen)
        barrier.wait()
        try:
            response = post_apply(client, key)
            statuses.append(response.status_code)
            locations.append(response["Location"])
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [302, 302]
    assert locations[0] == locations[1]
    assert Application.objects.filter(applicant=citizen).count() == 1


# -- at the window -------------------------------------------------------------------------------


def window_clerk():
    clerk = UserFactory(clerk=True, hall=ServiceHall.objects.order_by("code").first())
    clerk.windows.add(*Window.objects.filter(code="BUNDLE"))
    return clerk


def window_start(client, key, resident_id, real_name="钱二"):
    return client.post(
        "/staff/intake/new/",
        {
            "resident_id": resident_id,
            "real_name": real_name,
            "phone": generated_phone(),
            "service": "bundle:B10",
            "start_key": key,
        },
    )


def test_at_the_window_an_online_applicants_key_starts_a_new_application(client, citizen):
    key = uuid.uuid4()
    client.force_login(citizen)
    online = _opened(post_apply(client, str(key), "B10"))
    client.force_login(window_clerk())
    response = window_start(client, str(key), generated_resident_id())
    assert response.status_code == 302
    at_window = Application.objects.exclude(pk=online.pk).get()
    assert at_window.applicant != citizen and at_window.submission_key != key
    assert online.reference not in response["Location"]
    assert Application.objects.get(pk=online.pk).applicant == citizen


def test_at_the_window_a_malformed_key_opens_an_application(client):
    client.force_login(window_clerk())
    response = window_start(client, "not-a-uuid", generated_resident_id())
    assert response.status_code == 302
    assert Application.objects.count() == 1


def test_at_the_window_two_posts_at_once_open_one_application_and_count_one_visit(
    committed_db,
):
    clerk = window_clerk()
    number = generated_resident_id()
    key = uuid.uuid4()
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def post():
        barrier.wait()
        try:
            window.window_intake_start(
                clerk=clerk,
                resident_id=number,
                real_name="钱二",
                phone="13912345678",
                bundle=Bundle.objects.get(code="B10"),
                start_key=key,
            )
        except Exception as error:  # collected: the assertion below names it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    application = Application.objects.get()
    assert application.visits == 1
