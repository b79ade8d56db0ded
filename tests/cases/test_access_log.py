"""Views and downloads of personal data write one access-log row each (who, what, which,
request id, address); a 404 writes none; the log refuses changes like the event log."""

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError

from devtools.history import history_generate
from kuaiban.accounts.models import Role
from kuaiban.cases.models import AccessKind, AccessLog
from reports.models import ExportJob
from tests.builders import (
    accepted_instant_case,
    clerk_of,
    ready_application,
    reviewer_of,
    submitted,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def one_row(user, kind, object_id, reference=""):
    row = AccessLog.objects.get()
    assert (row.user, row.kind, row.object_id, row.reference) == (
        user,
        kind,
        str(object_id),
        reference,
    )
    assert row.ip == "127.0.0.1" and len(row.request_id) >= 16
    return row


def test_the_staff_case_page_is_logged_once_per_view(client):
    case = accepted_instant_case()
    reviewer = reviewer_of(case.unit.code)
    client.force_login(reviewer_of("SBZX"))
    assert client.get(f"/staff/cases/{case.pk}/").status_code == 404
    assert not AccessLog.objects.exists()
    client.force_login(reviewer)
    response = client.get(f"/staff/cases/{case.pk}/")
    assert response.status_code == 200
    row = one_row(reviewer, AccessKind.CASE_PAGE, case.pk, case.application.reference)
    assert row.request_id == response["X-Request-ID"]
    client.get(f"/staff/cases/{case.pk}/")
    assert AccessLog.objects.count() == 2


def test_the_intake_application_page_is_logged(client):
    application = submitted()
    client.force_login(clerk_of("SOCIAL", "EMPLOY"))
    assert client.get(f"/staff/intake/{application.reference}/").status_code == 404
    assert not AccessLog.objects.exists()
    clerk = clerk_of("BUNDLE")
    client.force_login(clerk)
    assert client.get(f"/staff/intake/{application.reference}/").status_code == 200
    one_row(clerk, AccessKind.INTAKE_PAGE, application.pk, application.reference)


def test_an_uploaded_file_download_is_logged(client):
    applicant = UserFactory(citizen=True)
    draft = ready_application(applicant)
    file_id = draft.materials.exclude(file=None).values_list("file_id", flat=True).first()
    client.force_login(UserFactory(citizen=True))
    assert client.get(f"/files/{file_id}/").status_code == 404
    assert not AccessLog.objects.exists()
    client.force_login(applicant)
    response = client.get(f"/files/{file_id}/")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    one_row(applicant, AccessKind.FILE_DOWNLOAD, file_id)


def test_an_export_download_is_logged(client, eager, django_capture_on_commit_callbacks):
    history_generate(cases=5, seed=3)
    supervisor = UserFactory(supervisor=True)
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/reports/exports/",
            {"kind": "cases", "figure": "received", "start": "2020-01-01", "end": "2030-12-31"},
        )
    job = ExportJob.objects.get()
    client.force_login(UserFactory(supervisor=True))
    assert client.get(f"/reports/exports/{job.pk}/download").status_code == 404
    assert not AccessLog.objects.exists()
    client.force_login(supervisor)
    response = client.get(f"/reports/exports/{job.pk}/download")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    one_row(supervisor, AccessKind.EXPORT_DOWNLOAD, job.pk)


def test_the_access_log_refuses_changes(client):
    application = submitted()
    clerk = clerk_of("BUNDLE")
    client.force_login(clerk)
    client.get(f"/staff/intake/{application.reference}/")
    row = AccessLog.objects.get()
    with pytest.raises(TypeError):
        AccessLog.objects.filter(pk=row.pk).update(kind="x")
    with pytest.raises(TypeError):
        row.delete()
    for sql in (
        "UPDATE cases_accesslog SET object_id = 'x' WHERE id = %s",
        "DELETE FROM cases_accesslog WHERE id = %s",
    ):
        with (
            pytest.raises((InternalError, ProgrammingError), match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [row.pk])
    assert AccessLog.objects.filter(pk=row.pk, object_id=str(application.pk)).exists()


def test_the_admin_shows_the_log_read_only(client):
    application = submitted()
    client.force_login(clerk_of("BUNDLE"))
    client.get(f"/staff/intake/{application.reference}/")
    row = AccessLog.objects.get()
    admin = UserFactory(role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    client.force_login(admin)
    listing = client.get("/admin/cases/accesslog/")
    assert listing.status_code == 200 and application.reference in listing.content.decode()
    page = client.get(f"/admin/cases/accesslog/{row.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get("/admin/cases/accesslog/add/").status_code == 403
    assert client.post(f"/admin/cases/accesslog/{row.pk}/delete/").status_code == 403
    assert AccessLog.objects.count() == 1
