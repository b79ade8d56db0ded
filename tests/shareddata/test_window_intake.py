"""In-person intake fetches shared data the same way, the clerk ticking the person's consent."""

import pytest

from bundles.selectors import required_form_fields, required_materials
from kuaiban.accounts.services import reference_identities_load
from kuaiban.cases.models import Application
from kuaiban.shareddata.models import FetchStatus, SharedDataRecord
from tests.builders import clerk_of, valid_value
from tests.factories import generated_phone, generated_resident_id

pytestmark = pytest.mark.django_db


def sitting(client, clerk, number: str, name: str) -> tuple[Application, str]:
    """The clerk opens a B10 application for the person and answers the questions (all no)."""
    client.force_login(clerk)
    client.post(
        "/staff/intake/new/",
        {
            "resident_id": number,
            "real_name": name,
            "phone": generated_phone(),
            "service": "bundle:B10",
        },
    )
    application = Application.objects.get()
    url = f"/staff/intake/new/{application.reference}/"
    questions = application.bundle.questions.values_list("code", flat=True)
    client.post(url, {"step": "questions"} | {code: "no" for code in questions})
    application.refresh_from_db()
    return application, url


def form_post(application, **extra) -> dict:
    data = {"step": "form", "delivery": "pickup", "delivery_address": ""}
    data |= {f.code: valid_value(f) for f in required_form_fields(application)}
    data["seen"] = [
        e.material.code for e in required_materials(application) if not e.material.shared_data
    ]
    return data | extra


def test_rule_shared_window_fetched_when_the_clerk_ticks_the_persons_consent(client):
    """Rule SHARED-WINDOW: the page lists what will be fetched; with the tick the data is
    fetched before the sitting's transaction and the consent is recorded as the clerk's."""
    number = generated_resident_id()
    reference_identities_load([("李新华", number)])
    clerk = clerk_of("BUNDLE")
    application, url = sitting(client, clerk, number, "李新华")
    page = client.get(url).content.decode()
    assert 'data-testid="shared-data-consent"' in page

    response = client.post(url, form_post(application, shared_consent="on"))

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == "accepted"
    record = SharedDataRecord.objects.get(application=application, material__code="M-ID")
    assert record.status == FetchStatus.FOUND and record.consented_by == clerk


def test_at_the_window_a_source_without_a_record_asks_the_clerk_to_check_the_original(client):
    number = generated_resident_id()  # not in the population register
    application, url = sitting(client, clerk_of("BUNDLE"), number, "李新华")

    response = client.post(url, form_post(application, shared_consent="on"))

    assert response.status_code == 200
    application.refresh_from_db()
    assert application.state == "draft"
    page = response.content.decode()
    assert 'data-testid="no-record"' in page
    assert 'name="seen" value="M-ID"' in page
    data = form_post(application)
    data["seen"] = [*data["seen"], "M-ID"]
    response = client.post(url, data)
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == "accepted"
    assert application.materials.get(material__code="M-ID").provision == "at_window"


def test_without_the_tick_nothing_is_fetched_and_the_originals_are_at_the_window(client):
    number = generated_resident_id()
    application, url = sitting(client, clerk_of("BUNDLE"), number, "李新华")
    response = client.post(url, form_post(application))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == "accepted"
    assert not SharedDataRecord.objects.exists()
