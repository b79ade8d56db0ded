"""Shared data fetched at submission, with consent (bundles' review page and the window), and
shown to the staff in place of an upload."""

import pytest

from bundles.selectors import required_materials
from bundles.services import submission
from kuaiban.accounts.identity import mask_account, mask_resident_id
from kuaiban.cases.models import Application, ApplicationMaterial, ApplicationState
from kuaiban.shareddata.models import FetchStatus, SharedDataRecord
from tests.builders import (
    accepted,
    case_of,
    clerk_of,
    on_record,
    ready_application,
    review_submit,
    reviewer_of,
    upload,
)

pytestmark = pytest.mark.django_db

CONSENT = {"consent": "on"}


def review(client, application, data=None):
    return review_submit(client, application, data)


def records(application) -> dict[str, SharedDataRecord]:
    return {
        r.material.code: r
        for r in SharedDataRecord.objects.filter(application=application).select_related("material")
    }


def test_rule_shared_fetch_the_data_is_fetched_at_submission_and_shown_to_the_reviewer(
    client, citizen
):
    """Rule SHARED-FETCH: with the applicant's consent, each shared-data material is fetched when
    they submit; found, it is provided as shared data backed by the record, and the reviewer's
    case page shows the facts (personal numbers masked), the source and the time."""
    on_record(citizen)
    application = ready_application(citizen, "B07")
    client.force_login(citizen)
    page = client.get(f"/applications/{application.reference}/review/").content.decode()
    assert 'data-testid="shared-data-consent"' in page
    assert 'data-material="M-ID"' in page and 'data-material="M-BANK"' in page

    response = review(client, application, CONSENT)

    assert response["Location"].endswith(f"/applications/{application.reference}/done/")
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    fetched = records(application)
    assert {code: r.status for code, r in fetched.items()} == {
        "M-ID": FetchStatus.FOUND,
        "M-BANK": FetchStatus.FOUND,
    }
    assert all(r.consented_by == citizen and r.consented_at for r in fetched.values())
    provided = application.materials.filter(material__code__in=fetched)
    assert {m.provision for m in provided} == {ApplicationMaterial.Provision.SHARED}

    accepted(application, clerk_of("BUNDLE"))
    client.force_login(reviewer_of("SBZX"))
    case = case_of(application, "SI-013")
    page = client.get(f"/staff/cases/{case.pk}/").content.decode()
    assert 'data-testid="shared-facts"' in page
    assert mask_resident_id(citizen.resident_id) in page
    assert citizen.resident_id not in page
    assert mask_account("6222020000001234") in page
    assert fetched["M-ID"].source_reference in page


def test_rule_shared_consent_nothing_is_fetched_or_submitted_without_consent(client, citizen):
    """Rule SHARED-CONSENT: without the ticked consent nothing is fetched and nothing submitted."""
    on_record(citizen)
    application = ready_application(citizen, "B07")
    client.force_login(citizen)
    response = review(client, application)
    assert response["Location"].endswith(f"/applications/{application.reference}/review/")
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    assert not SharedDataRecord.objects.exists()


def test_rule_shared_fallback_asked_of_the_applicant_only_when_the_source_has_no_record(
    client, citizen
):
    """Rule SHARED-FALLBACK: a source without a record refuses the submission, naming the
    material; the materials page offers an upload for it (and only for it); once uploaded the
    application submits."""
    on_record(citizen, insured=False)  # in the population register, no insurance history
    application = ready_application(citizen, "B07")
    client.force_login(citizen)

    review(client, application, CONSENT)

    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    fetched = records(application)
    assert fetched["M-BANK"].status == FetchStatus.NO_RECORD
    assert fetched["M-ID"].status == FetchStatus.FOUND
    required = {e.material.code: e for e in required_materials(application)}
    assert required["M-BANK"].needs_action and not required["M-ID"].needs_action
    problems = submission.missing_for_submission(application)
    assert any(required["M-BANK"].material.name in p for p in problems)
    page = client.get(f"/applications/{application.reference}/materials/").content.decode()
    assert page.count('data-testid="no-record"') == 1
    assert (
        page.count(
            'name="action" value="upload"><input type="hidden" name="material" value="M-BANK"'
        )
        == 1
    )
    assert 'value="upload"><input type="hidden" name="material" value="M-ID"' not in page

    client.post(
        f"/applications/{application.reference}/materials/",
        {"action": "upload", "material": "M-BANK", "file": upload()},
    )
    response = review(client, application, CONSENT)

    assert response["Location"].endswith("/done/")
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    bank = application.materials.get(material__code="M-BANK")
    assert bank.provision == ApplicationMaterial.Provision.UPLOAD
    assert application.materials.get(material__code="M-ID").provision == "shared"


def test_rule_shared_window_the_clerk_ticks_the_persons_consent_and_the_data_is_fetched(
    client, citizen
):
    """Rule SHARED-WINDOW: in-person intake fetches the same way when the clerk ticks that the
    person consented; the consent is recorded as the clerk's."""
    on_record(citizen)
    application = ready_application(citizen, "B07")
    Application.objects.filter(pk=application.pk).update(channel=Application.Channel.WINDOW)
    application.refresh_from_db()
    clerk = clerk_of("BUNDLE")
    fetched = submission.shared_data_fetch(application=application, actor=clerk, consented=True)
    assert {r.material.code for r in fetched} == {"M-ID", "M-BANK"}
    assert all(r.consented_by == clerk and r.status == FetchStatus.FOUND for r in fetched)
    # Fetched once: a second sitting asks nothing again.
    again = submission.shared_data_fetch(application=application, actor=clerk, consented=True)
    assert again == []


def test_a_source_switched_off_fetches_nothing_and_asks_no_consent(client, citizen, settings):
    """Provider "off" (production's default until a department's endpoint is set): the shared
    materials are recorded as shared data as before, nothing fetched, no consent asked."""
    settings.KUAIBAN_SHARED_DATA_PROVIDER = "off"
    application = ready_application(citizen, "B07")
    client.force_login(citizen)
    page = client.get(f"/applications/{application.reference}/review/").content.decode()
    assert 'data-testid="shared-data-consent"' not in page
    assert review(client, application)["Location"].endswith("/done/")
    assert not SharedDataRecord.objects.exists()
    assert application.materials.get(material__code="M-ID").provision == "shared"
