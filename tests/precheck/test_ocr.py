"""The pre-check reads uploaded materials (kuaiban/precheck/text.py: Debian's tesseract for
images, poppler's pdftotext for PDFs) and compares them with the form (rule kind
NAME_IN_MATERIAL, shipped as PC-B07-ID-OCR): in a task after the submission committed, a FLAG
for the clerk on the intake page. Generated ID-card images (WenQuanYi Zen Hei, generated names
and numbers); a missing or failing engine makes the rule silent, never an error."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont

from bundles.services import materials
from kuaiban import broker
from kuaiban.cases import uploads
from kuaiban.catalog.models import Material
from kuaiban.precheck import checks
from kuaiban.precheck.models import PrecheckFinding
from kuaiban.precheck.rules import Facts, RuleKind, RuleSpec, Severity, evaluate
from kuaiban.precheck.services import material_precheck
from kuaiban.precheck.text import stored_text
from tests.builders import clerk_of, ready_application, submit
from tests.factories import UserFactory, generated_resident_id

pytestmark = pytest.mark.django_db

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def id_card_png(name: str, number: str) -> bytes:
    """A generated ID-card-like image (front side's text) with this name and number."""
    font = ImageFont.truetype(FONT, 40)
    image = Image.new("RGB", (900, 330), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 40), f"姓名  {name}", font=font, fill="black")
    draw.text((40, 110), "性别 男  民族 汉", font=font, fill="black")
    draw.text((40, 210), f"公民身份号码  {number}", font=font, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def id_card_pdf(name: str, number: str) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("WQY-OCR-TEST", FONT, subfontIndex=0))
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setFont("WQY-OCR-TEST", 16)
    page.drawString(72, 720, f"姓名 {name}")
    page.drawString(72, 690, f"公民身份号码 {number}")
    page.save()
    return out.getvalue()


def _stored(owner, content: bytes, name: str = "id.png", content_type: str = "image/png"):
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    return uploads.store(owner=owner, material=Material.objects.get(code="M-ID"), upload=upload)


# -- text extraction ---------------------------------------------------------------------------


def ocr_findings(application):
    """The OCR rule's findings only: the other B07 rules (age, contributions) depend on the
    generated person and are tested elsewhere."""
    return PrecheckFinding.objects.filter(application=application, rule__code="PC-B07-ID-OCR")


def test_the_text_of_an_uploaded_id_card_image_has_its_name_and_number():
    owner = UserFactory(citizen=True)
    number = generated_resident_id()
    text = stored_text(_stored(owner, id_card_png("张三", number)))
    squeezed = "".join((text or "").split())
    assert "张三" in squeezed
    assert number in squeezed


def test_the_text_of_an_uploaded_pdf_is_read_without_ocr():
    owner = UserFactory(citizen=True)
    number = generated_resident_id()
    pdf = id_card_pdf("李四", number)
    text = stored_text(_stored(owner, pdf, "id.pdf", "application/pdf"))
    squeezed = "".join((text or "").split())
    assert "李四" in squeezed and number in squeezed


def test_a_missing_or_failing_engine_reads_nothing_and_raises_nothing(settings):
    stored = _stored(UserFactory(citizen=True), id_card_png("张三", generated_resident_id()))
    settings.KUAIBAN_TESSERACT = "/nonexistent/tesseract"
    assert stored_text(stored) is None
    settings.KUAIBAN_TESSERACT = "false"  # runs and fails (exit code 1)
    assert stored_text(stored) is None


def test_the_system_check_warns_when_tesseract_is_missing(settings):
    assert checks.ocr_engine_present(None) == []  # installed here, with chi_sim
    settings.KUAIBAN_TESSERACT = "/nonexistent/tesseract"
    settings.KUAIBAN_PDFTOTEXT = "/nonexistent/pdftotext"
    ids = [w.id for w in checks.ocr_engine_present(None)]
    assert ids == ["precheck.W001", "precheck.W003"]


# -- the rule kind, pure -----------------------------------------------------------------------


def test_name_in_material_compares_ignoring_whitespace_and_says_nothing_when_unread():
    rule = RuleSpec(
        "R",
        RuleKind.NAME_IN_MATERIAL,
        Severity.FLAG,
        "x",
        params={"material": "M-ID", "field": "n", "id_field": "id"},
    )
    form = {"n": "张三", "id": "32100219600101001x"}
    read = {"M-ID": "姓名 张 三\n公民身份号码 3210 0219 6001 0100 1X"}
    assert evaluate([rule], Facts(form=form, material_texts=read)) == []
    other = {"M-ID": "姓名 李四\n公民身份号码 32100219600101001X"}
    assert [f.field for f in evaluate([rule], Facts(form=form, material_texts=other))] == ["n"]
    wrong_number = {"M-ID": "姓名 张三\n公民身份号码 32100219600101002X"}
    found = evaluate([rule], Facts(form=form, material_texts=wrong_number))
    assert [f.field for f in found] == ["id"]
    # Not uploaded, unreadable, or no name typed: nothing fires (never a guess).
    assert evaluate([rule], Facts(form=form)) == []
    assert evaluate([rule], Facts(form=form, material_texts={"M-ID": None})) == []
    assert evaluate([rule], Facts(form={}, material_texts=other)) == []


# -- after submission, for the clerk -----------------------------------------------------------


def _b07_with_id_card(card_name: str, card_number: str | None = None):
    """A B07 application of 张三 (generated ID number), ready, with an ID-card image uploaded
    naming `card_name` and `card_number` (by default 张三's number). The identity is not fetched
    from shared data: the upload stands for it."""
    user = UserFactory(citizen=True, real_name="张三")
    user.resident_id = generated_resident_id(birth="19600101")
    user.set_resident_id(user.resident_id)
    user.save()
    application = ready_application(user, "B07")
    card = id_card_png(card_name, card_number or user.resident_id)
    materials.material_upload(
        application=application,
        actor=user,
        material=Material.objects.get(code="M-ID"),
        upload=SimpleUploadedFile("id.png", card, content_type="image/png"),
    )
    return application


@pytest.fixture
def queued(monkeypatch):
    """The pre-check's tasks published, run at once (as a worker would) and listed; the
    others (the notifications' delivery) are taken and left alone."""
    calls = []

    def publish(task, args=(), kwargs=None, **options):
        if task.name.startswith("precheck."):
            calls.append((task.name, tuple(args)))
            task(*args, **(kwargs or {}))
        return True

    monkeypatch.setattr(broker, "publish", publish)
    return calls


def test_a_name_unlike_the_uploaded_id_card_is_flagged_for_the_clerk_after_submission(
    client, queued, django_capture_on_commit_callbacks
):
    application = _b07_with_id_card("李明华")
    with django_capture_on_commit_callbacks() as callbacks:
        submit(application)
    assert application.form_data["retiree_name"] == "张三"
    # Nothing read inside the submission: the task is queued once it committed.
    assert not ocr_findings(application).exists()
    assert queued == []
    for callback in callbacks:
        callback()
    assert queued == [("precheck.material_precheck", (application.pk,))]
    (finding,) = ocr_findings(application)
    assert (finding.rule.code, finding.severity, finding.field) == (
        "PC-B07-ID-OCR",
        Severity.FLAG,
        "retiree_name",
    )
    # The text read is not stored: the message is the rule's, without the names.
    assert "李明华" not in finding.message_zh and "张三" not in finding.message_zh
    # The task delivered twice stores nothing more.
    assert material_precheck(application.pk) == []
    assert ocr_findings(application).count() == 1
    client.force_login(clerk_of("BUNDLE"))
    body = client.get(f"/staff/intake/{application.reference}/").content.decode()
    assert 'data-rule="PC-B07-ID-OCR" data-severity="flag" data-verdict=""' in body
    assert "识别出的文字不含表单填写的退休人员姓名或身份证号码" in body


def test_an_id_card_matching_the_form_is_not_flagged(queued, django_capture_on_commit_callbacks):
    application = _b07_with_id_card("张三")
    with django_capture_on_commit_callbacks(execute=True):
        submit(application)
    assert application.form_data["retiree_id_number"] == application.applicant.resident_id
    assert queued == [("precheck.material_precheck", (application.pk,))]
    assert not ocr_findings(application).exists()


def test_without_the_engine_the_submission_goes_through_and_nothing_is_flagged(
    settings, queued, django_capture_on_commit_callbacks
):
    settings.KUAIBAN_TESSERACT = "/nonexistent/tesseract"
    application = _b07_with_id_card("李明华")
    with django_capture_on_commit_callbacks(execute=True):
        submit(application)
    assert application.state == "submitted"
    assert len(queued) == 1
    assert not ocr_findings(application).exists()


def test_an_id_card_from_shared_data_queues_no_reading(queued, django_capture_on_commit_callbacks):
    user = UserFactory(citizen=True, real_name="张三")
    application = ready_application(user, "B07")  # M-ID not uploaded: shared data at submission
    with django_capture_on_commit_callbacks(execute=True):
        submit(application)
    assert queued == []
    assert not ocr_findings(application).exists()


def test_another_id_number_on_the_card_is_flagged_at_the_id_number_field(
    queued, django_capture_on_commit_callbacks
):
    application = _b07_with_id_card("张三", generated_resident_id(birth="19581111"))
    with django_capture_on_commit_callbacks(execute=True):
        submit(application)
    (finding,) = ocr_findings(application)
    assert (finding.rule.code, finding.field) == ("PC-B07-ID-OCR", "retiree_id_number")
