"""A submission's SQL (quality.md P9): the planned items and the one set of materials are computed
once per submission, the catalog is kept per process, and every write is one statement, so the
number of queries does not grow with the bundle: three items, four, or six in two stages cost the
same."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bundles import selectors
from bundles.services import submission
from kuaiban.cases.models import ApplicationMaterial, ApplicationState
from kuaiban.precheck.models import PrecheckRule
from tests.builders import ready_application, single_item_ready
from tests.factories import UserFactory, generated_resident_id

pytestmark = pytest.mark.django_db

# Lock (with the applicant), what the shared-data sources answered, what is provided, the
# applicant's other open applications (the pre-check's duplicate rule applies to every bundle),
# commitments dropped and shared materials recorded, the application, its event, the cases, their
# events, the notifications: 11. The catalog (the bundle's items and questions, the items'
# materials and form fields) and the rules (pre-check, proactive invitations) are kept per
# process until an edit (kuaiban/process_tables.py): a process that has served one submission
# reads none of them again. When a warning or a flag fires, its findings are one INSERT more,
# however many (tested below); the applicants here are born in 1960, past the statutory
# retirement age, so B07's age rule stays quiet and the count the same.
BUNDLE_QUERIES = 11
# A single item reads and writes the same rows (no questions, no bundle items, no invitations).
SINGLE_ITEM_QUERIES = BUNDLE_QUERIES


def _submit_counting_queries(application) -> tuple[int, int]:
    """(queries, item cases created) of one submission through the service; the savepoints of
    the test's own transaction (or the BEGIN and COMMIT of its own, outside one) are not
    counted."""
    applicant = application.applicant
    with CaptureQueriesContext(connection) as captured:
        submission.application_submit(application=application, actor=applicant)
    statements = [q["sql"] for q in captured.captured_queries]
    queries = [
        s
        for s in statements
        if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
    ]
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    return len(queries), application.cases.count()


@pytest.mark.parametrize(
    ("code", "answers", "cases"),
    [
        ("B10", {"BANK_OUTLET": True, "INSURED": True}, 3),
        ("B10", None, 4),
        ("B07", None, 4),
        ("B08", None, 4),
        ("B08", {"FACTS_CLEAR": True, "DEPENDANTS": True, "INSURED": True}, 6),
        ("B06", None, 4),
        ("B06", {"LOAN": True, "SUBSIDY": True}, 6),
    ],
)
def test_a_bundle_submission_runs_the_same_queries_whatever_the_bundle(code, answers, cases):
    warm_up = ready_application(_born_1960(), code, answers)  # the process's first submission
    submission.application_submit(application=warm_up, actor=warm_up.applicant)
    application = ready_application(_born_1960(), code, answers)
    assert _submit_counting_queries(application) == (BUNDLE_QUERIES, cases)


def test_a_catalog_edit_is_read_by_the_next_submission_then_kept_again(committed_db):
    warm_up = ready_application(_born_1960(), "B07")
    submission.application_submit(application=warm_up, actor=warm_up.applicant)
    # The administrator switches the duplicate rule off (saved as the admin saves it): the next
    # submission reads the rules again and no longer asks for the applicant's open applications.
    rule = PrecheckRule.objects.get(code="PC-DUPLICATE")
    rule.enabled = False
    rule.save()
    after_edit = ready_application(_born_1960(), "B07")
    with CaptureQueriesContext(connection) as captured:
        submission.application_submit(application=after_edit, actor=after_edit.applicant)
    statements = " ".join(q["sql"] for q in captured.captured_queries)
    assert '"precheck_precheckrule"' in statements
    assert '"cases_application"."form_data" AS "form_data"' not in statements
    # ... and the one after reads nothing of the catalog or the rules.
    again = ready_application(_born_1960(), "B07")
    assert _submit_counting_queries(again) == (BUNDLE_QUERIES - 1, 4)


def _born_1960():
    return UserFactory(citizen=True, resident_id=generated_resident_id(birth="19600101"))


def test_the_pre_check_s_findings_are_one_insert_however_many():
    first = ready_application(_born_1960(), "B07")
    submission.application_submit(application=first, actor=first.applicant)
    # A second B07 of the same applicant (a duplicate: one finding), and one of someone under the
    # statutory age with a duplicate too (two findings): one INSERT each.
    second = ready_application(first.applicant, "B07")
    assert _submit_counting_queries(second) == (BUNDLE_QUERIES + 1, 4)
    assert second.precheck_findings.count() == 1
    young = UserFactory(citizen=True, resident_id=generated_resident_id(birth="19960101"))
    submission.application_submit(application=ready_application(young, "B07"), actor=young)
    third = ready_application(young, "B07")
    assert _submit_counting_queries(third) == (BUNDLE_QUERIES + 1, 4)
    assert third.precheck_findings.count() == 2


def test_a_single_item_submission_runs_a_constant_number_of_queries():
    warm_up = single_item_ready("EM-001")
    submission.application_submit(application=warm_up, actor=warm_up.applicant)
    assert _submit_counting_queries(single_item_ready("EM-001")) == (SINGLE_ITEM_QUERIES, 1)


def test_a_submission_computes_its_planned_items_and_materials_once(citizen):
    application = ready_application(citizen, "B07")
    planned = mock.Mock(wraps=selectors.planned_items)
    required = mock.Mock(wraps=selectors.required_materials)
    with (
        mock.patch.object(selectors, "planned_items", planned),
        mock.patch.object(submission, "planned_items", planned),
        mock.patch.object(submission, "required_materials", required),
    ):
        submission.application_submit(application=application, actor=citizen)
    assert planned.call_count == 1
    assert required.call_count == 1
    assert application.cases.count() == 4


def test_shared_data_materials_are_recorded_as_provided_by_the_bureau_on_submission(citizen):
    application = ready_application(citizen, "B07")
    shared = {
        e.material.pk for e in selectors.required_materials(application) if e.material.shared_data
    }
    assert shared and not application.materials.filter(material__in=shared).exists()
    submission.application_submit(application=application, actor=citizen)
    recorded = application.materials.filter(material__in=shared)
    assert {m.material_id for m in recorded} == shared
    assert {m.provision for m in recorded} == {ApplicationMaterial.Provision.SHARED}
    assert all(m.provided_at and m.file_id is None for m in recorded)


def test_the_lock_keeps_the_applicant_the_caller_holds_and_reads_it_only_when_it_does_not():
    """The submit POST's lock (`guards.lock_application`) must not read and decrypt the signed-in
    applicant's account again: the view's application already carries it. A caller holding
    the bare application gets the applicant in the same query."""
    from django.db import transaction

    from bundles.services.guards import lock_application
    from kuaiban.cases.models import Application

    application = ready_application(_born_1960(), "B07")
    held = application.applicant
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locked = lock_application(application)
    assert locked.applicant is held
    [lock] = [q["sql"] for q in captured.captured_queries if "FOR" in q["sql"]]
    assert "accounts_user" not in lock
    bare = Application.objects.get(pk=application.pk)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locked = lock_application(bare)
        assert locked.applicant.pk == held.pk
    assert len(captured.captured_queries) == 1
    assert "accounts_user" in captured.captured_queries[0]["sql"]
