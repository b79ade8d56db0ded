"""Rules of the reference catalog that decide what an applicant is asked for (issue 16 part 11,
domain.md §9.1): checked on the loaded fixtures, through the applicant's own set of materials
(bundles.selectors.required_materials) for every combination of the questionnaire's answers."""

from itertools import product

import pytest

from bundles.selectors import planned_items, required_materials
from kuaiban.catalog.models import Bundle, BundleItem, ItemMaterial
from tests.builders import draft
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def every_answer_set(code: str) -> list[dict[str, bool]]:
    questions = list(Bundle.objects.get(code=code).questions.values_list("code", flat=True))
    combinations = product((False, True), repeat=len(questions))
    return [dict(zip(questions, values, strict=True)) for values in combinations]


def asked(code: str, answers: dict[str, bool]) -> tuple[set[str], set[str]]:
    """(item codes, material codes) of a draft of bundle `code` with these answers."""
    citizen = Bundle.objects.get(code=code).open_to("citizen")
    user = UserFactory(citizen=True) if citizen else UserFactory(enterprise=True)
    application = draft(user, code, answers)
    items = {planned.item.code for planned in planned_items(application)}
    materials = {required.material.code for required in required_materials(application)}
    return items, materials


@pytest.mark.parametrize("bundle", ["B01", "B04"])
def test_rule_catalog_hiring_bundles_never_ask_termination_certificate(bundle):
    """Hiring someone (B01, B04) needs no proof that a contract ended: SI-002's 增员 asks for
    the contract only; the certificate is B02's (its 就业登记注销 EM-007)."""
    for answers in every_answer_set(bundle):
        _items, materials = asked(bundle, answers)
        assert "M-TERMINATION" not in materials, answers
    assert ItemMaterial.objects.filter(item__code="SI-002", material__code="M-CONTRACT").exists()
    _items, b02_materials = asked("B02", {})
    assert "M-TERMINATION" in b02_materials


def test_rule_catalog_startup_never_asks_a_founder_for_a_labour_contract():
    """B06's founder is self-employed: no item of the bundle asks for a labour contract, while
    the employer's B01 still does (增员, 医保参保)."""
    for answers in every_answer_set("B06"):
        _items, materials = asked("B06", answers)
        assert "M-CONTRACT" not in materials, answers
    _items, b01_materials = asked("B01", {})
    assert "M-CONTRACT" in b01_materials


def test_rule_catalog_unemployment_asks_for_a_training_certificate_only_after_training():
    """B03: the training subsidy (EM-011) is claimed with the certificate of a completed
    training; its question asks about completed training, and only a yes asks for it."""
    link = BundleItem.objects.select_related("condition").get(
        bundle__code="B03", item__code="EM-011"
    )
    assert link.condition is not None and link.condition_answer is True
    assert "已参加职业培训" in link.condition.text_zh and "证书" in link.condition.text_zh
    assert "需要参加" not in link.condition.text_zh
    code = link.condition.code
    _items, without = asked("B03", {code: False})
    assert "M-TRAINING-CERT" not in without
    items, with_training = asked("B03", {code: True})
    assert "EM-011" in items and "M-TRAINING-CERT" in with_training


@pytest.mark.parametrize(
    ("bundle", "question", "item", "material"),
    [
        # Its only own material, the loan application form, is the one form online (asked
        # only at the window: Material.replaced_by_online_form).
        ("B06", "LOAN", "EM-006", None),
        ("B06", "SUBSIDY", "EM-009", "M-PREMISES"),
        ("B09", "PENSION_BALANCE", "SI-022", None),
        ("B09", "MEDICAL_BALANCE", "EX-006", None),
    ],
)
def test_rule_catalog_optional_items_are_chosen_not_always_included(
    bundle, question, item, material
):
    """B06's loan and subsidy and B09's account inheritances are the applicant's choice: a no
    leaves the item (and the materials only it needs) out of the application."""
    link = BundleItem.objects.select_related("condition").get(bundle__code=bundle, item__code=item)
    assert link.condition is not None and link.condition.code == question
    items_no, materials_no = asked(bundle, {question: False})
    items_yes, materials_yes = asked(bundle, {question: True})
    assert item not in items_no and item in items_yes
    if material:
        assert material not in materials_no and material in materials_yes


@pytest.mark.parametrize(
    ("bundle", "always"),
    [
        ("B06", {"EM-008", "EM-001", "EM-003", "SI-019"}),
        ("B09", {"SI-024", "SI-012", "SI-023"}),
    ],
)
def test_rule_catalog_what_every_applicant_of_the_bundle_needs_stays_unconditional(bundle, always):
    """Whatever the answers, the founder is registered and insured (B06), and a retiree's death
    stops the pension, pays the funeral grant and survivors' pension and cancels the card (B09)."""
    for answers in every_answer_set(bundle):
        items, _materials = asked(bundle, answers)
        assert always <= items, answers
