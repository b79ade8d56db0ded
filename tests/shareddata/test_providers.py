"""The data-source adapters' LOCAL providers (kuaiban/shareddata/providers.py), and the catalog's
`Material.data_source` in the workbook."""

import pytest

from kuaiban.accounts.services import reference_enterprises_load, reference_identities_load
from kuaiban.catalog.excel import catalog_export, catalog_import
from kuaiban.catalog.models import Material
from kuaiban.shareddata.kinds import DataKind
from kuaiban.shareddata.models import FetchStatus
from kuaiban.shareddata.providers import Subject, lookup, subject_for
from kuaiban.shareddata.services import reference_records_load
from tests.builders import (
    accepted,
    approved,
    case_of,
    clerk_of,
    draft,
    reviewer_of,
    single_item_submitted,
)
from tests.catalog.workbook import edit, find_row, set_cell
from tests.factories import UserFactory, generated_credit_code, generated_resident_id

pytestmark = pytest.mark.django_db


def test_rule_shared_adapters_identity_finds_a_generated_person_and_not_an_unknown_one():
    """Rule SHARED-ADAPTERS: each LOCAL provider finds a generated record and answers no_record
    for an unknown subject (identity: the population register the real-name check reads)."""
    number = generated_resident_id(birth="19880214")
    reference_identities_load([("测试甲", number)])
    found = lookup(DataKind.IDENTITY, Subject(number=number))
    assert found.status == FetchStatus.FOUND
    assert found.facts["name"] == "测试甲"
    assert found.facts["birth_date"] == "1988-02-14"
    unknown = lookup(DataKind.IDENTITY, Subject(number=generated_resident_id()))
    assert unknown.status == FetchStatus.NO_RECORD


def test_rule_shared_adapters_business_registration():
    code = generated_credit_code()
    reference_enterprises_load([(code, "测试科技有限公司", "测试乙")])
    found = lookup(DataKind.BUSINESS_LICENCE, Subject(number=code))
    assert found.status == FetchStatus.FOUND
    assert found.facts == {
        "name": "测试科技有限公司",
        "credit_code": code,
        "representative": "测试乙",
    }
    assert found.reference == code
    assert (
        lookup(DataKind.BUSINESS_LICENCE, Subject(number=generated_credit_code())).status
        == FetchStatus.NO_RECORD
    )


@pytest.mark.parametrize("kind", [DataKind.DEATH, DataKind.SOCIAL_INSURANCE, DataKind.EDUCATION])
def test_rule_shared_adapters_death_and_social_insurance(kind):
    number = generated_resident_id()
    reference_records_load(
        kind, [(number, "REF-1", {"name": "测试丙", "date_of_death": "2026-10-08"})]
    )
    found = lookup(kind, Subject(number=number))
    assert (found.status, found.reference) == (FetchStatus.FOUND, "REF-1")
    assert found.facts["name"] == "测试丙"
    assert lookup(kind, Subject(number=generated_resident_id())).status == FetchStatus.NO_RECORD


def test_rule_shared_adapters_an_earlier_filing_in_this_portal(citizen, other_citizen):
    """The applicant's own decided case of a named item is found (劳动能力鉴定 for the appraisal
    conclusion); another applicant has no such record."""
    appraisal = single_item_submitted("SI-007", citizen)
    accepted(appraisal, clerk_of("SOCIAL"))
    approved(case_of(appraisal), reviewer_of("LDNL"))
    later = draft(citizen, "B07")
    found = lookup(DataKind.PORTAL_FILING, Subject(application=later, items=("SI-007",)))
    assert found.status == FetchStatus.FOUND
    assert found.reference == appraisal.reference
    other = draft(other_citizen, "B07")
    answer = lookup(DataKind.PORTAL_FILING, Subject(application=other, items=("SI-007",)))
    assert answer.status == FetchStatus.NO_RECORD


def test_rule_shared_adapters_an_earlier_stage_of_the_same_application_holds_the_record(citizen):
    """B08's first stage (工伤认定) decides the injury before the second stage needs it: the
    material is backed by this application itself, nothing is asked of the applicant."""
    application = draft(citizen, "B08", {"FACTS_CLEAR": True})
    material = Material.objects.get(code="M-INJURY-DECISION")
    subject = Subject(application=application, items=tuple(material.portal_filing_items()))
    found = lookup(DataKind.PORTAL_FILING, subject)
    assert found.status == FetchStatus.FOUND
    assert found.facts["stage"] == "1"


def test_the_reference_catalogs_shared_materials_name_their_sources():
    """Data, not code: each shared material of the fixture names its kind; the termination
    certificate names none (its record is the employer's B02 filing, not the applicant's own,
    and only B02's items ask for it): recorded as shared, nothing fetched."""
    sources = dict(Material.objects.filter(shared_data=True).values_list("code", "data_source"))
    assert sources == {
        "M-ID": DataKind.IDENTITY,
        "M-LICENCE": DataKind.BUSINESS_LICENCE,
        "M-INSTITUTION-CERT": DataKind.BUSINESS_LICENCE,
        "M-TERMINATION": "",
        "M-BANK": DataKind.SOCIAL_INSURANCE,
        "M-APPRAISAL": DataKind.PORTAL_FILING,
        "M-INJURY-DECISION": DataKind.PORTAL_FILING,
        "M-TRANSFER-CERT": DataKind.SOCIAL_INSURANCE,
    }
    for material in Material.objects.filter(data_source=DataKind.PORTAL_FILING):
        material.full_clean()  # the items it names exist


def test_the_workbook_round_trips_the_data_source_columns(tmp_path):
    path = tmp_path / "catalog.xlsx"
    catalog_export(path)
    Material.objects.filter(code="M-BANK").update(data_source="", data_source_key="")
    Material.objects.filter(code="M-APPRAISAL").update(data_source_key="EM-001")
    catalog_import(path)
    bank = Material.objects.get(code="M-BANK")
    assert bank.data_source == DataKind.SOCIAL_INSURANCE
    assert Material.objects.get(code="M-APPRAISAL").data_source_key == "SI-007"

    def change(book):
        sheet = book["材料"]
        row = find_row(sheet, "材料编码", "M-BANK")
        set_cell(sheet, row, "共享数据源", "identity")

    edit(path, change)
    catalog_import(path)
    assert Material.objects.get(code="M-BANK").data_source == DataKind.IDENTITY


def test_a_portal_filing_source_must_name_known_items():
    material = Material.objects.get(code="M-APPRAISAL")
    material.data_source_key = "NO-SUCH-ITEM"
    with pytest.raises(Exception) as refused:
        material.full_clean()
    assert "data_source_key" in refused.value.message_dict
    material.data_source_key = ""
    material.shared_data = False
    with pytest.raises(Exception) as refused:
        material.full_clean()
    assert "data_source" in refused.value.message_dict


def test_nothing_identifies_an_enterprise_applicants_identity_card_so_nothing_is_fetched():
    """M-ID of an enterprise's application (the employee's, the agent's): the account holds no ID
    number, so there is no subject; the material stays recorded as shared data, as before."""
    application = draft(UserFactory(enterprise=True), "B02")
    assert subject_for(application, Material.objects.get(code="M-ID")) is None
    licence = subject_for(application, Material.objects.get(code="M-LICENCE"))
    assert licence is not None and licence.number == application.applicant.credit_code
