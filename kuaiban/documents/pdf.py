"""The PDF of a result document (ReportLab), from its stored facts: the same document renders
the same bytes every time (ReportLab's invariant mode, no clock in the file).

Chinese text needs a CJK TrueType font embedded in the file (subset by ReportLab, with its
ToUnicode map, so the text can be searched and extracted). It comes from Debian's
`fonts-wqy-zenhei` (WenQuanYi Zen Hei, TrueType outlines; `scripts/demo`, `scripts/test` and
`scripts/serve` install it when missing), found at `settings.KUAIBAN_PDF_FONT`. PyPI has no
maintained package of a Simplified-Chinese font, and Noto CJK's Debian package has CFF outlines,
which ReportLab cannot embed.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import segno
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from .models import ResultDocument
from .services import code_display

FONT = "KuaibanCJK"
# Punctuation that never starts a line (禁则): it stays at the end of the line before.
NO_LINE_START = set("，。、；：？！）》」』〕】,.;:?!)")


@cache
def font_registered() -> str:
    """Register the CJK font once per process; its name. Fails loudly, naming the package."""
    path = Path(settings.KUAIBAN_PDF_FONT)
    if not path.is_file():
        raise ImproperlyConfigured(
            f"KUAIBAN_PDF_FONT: no font at {path} (install Debian's fonts-wqy-zenhei, or point "
            "the setting at another TrueType font with Simplified Chinese)"
        )
    # The first face of a collection (.ttc); a plain .ttf has only that one.
    pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
    return FONT


def verification_url(document: ResultDocument) -> str:
    """The public page that checks this document (absolute: it is printed and in the QR)."""
    return settings.KUAIBAN_PUBLIC_URL + reverse("documents:verify", kwargs={"code": document.code})


def _wrapped(text: str, width: float, size: float) -> list[str]:
    """Lines of `text` that fit `width` (Chinese has no spaces: break between characters)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            too_wide = pdfmetrics.stringWidth(line + char, FONT, size) > width
            if too_wide and line and char not in NO_LINE_START:
                lines.append(line)
                line = char
            else:
                line += char
        lines.append(line)
    return lines


def _qr(pdf: canvas.Canvas, url: str, x: float, y: float, size: float) -> None:
    """The QR code of the verification link, drawn as vector squares."""
    matrix = segno.make(url, error="m").matrix
    border = 2
    count = len(matrix) + 2 * border
    module = size / count
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                pdf.rect(
                    x + (col_index + border) * module,
                    y + size - (row_index + border + 1) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )


def document_pdf(document: ResultDocument) -> bytes:
    """The document as a one-page A4 PDF, labelled in the portal's language."""
    font = font_registered()
    facts = document.facts
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    width, height = A4
    left, right = 25 * mm, width - 25 * mm
    with translation.override(settings.LANGUAGE_CODE):
        pdf.setTitle(f"{facts.get('title', '')} {facts.get('reference', '')}")
        pdf.setAuthor(str(_("Kuaiban")))
        pdf.setFont(font, 20)
        pdf.drawCentredString(width / 2, height - 35 * mm, facts.get("title", ""))
        pdf.setFont(font, 10.5)
        pdf.drawRightString(
            right, height - 45 * mm, _("Reference: %(ref)s") % {"ref": facts.get("reference")}
        )
        rows = [
            (_("Applicant"), facts.get("applicant", "")),
            (_("Applied for"), facts.get("subject", "")),
            (_("Item"), f"{facts.get('item', '')} ({facts.get('item_code', '')})"),
            (_("Handled by"), facts.get("unit", "")),
            (_("Outcome"), facts.get("outcome", "")),
            (_("Reason"), facts.get("reason", "")),
            (_("Legal basis"), facts.get("legal_basis", "")),
            (_("Date of the decision"), facts.get("decided_on", "")),
        ]
        if facts.get("revokes_code"):
            rows.append(
                (
                    _("Revokes"),
                    f"{facts.get('revokes_title', '')} ({facts.get('revokes_code', '')})",
                )
            )
        y = height - 60 * mm
        size = 12
        # a label and its colon (full-width in Chinese)
        labels = [_("%(label)s:") % {"label": label} for label, _v in rows]
        label_width = max(pdfmetrics.stringWidth(text, font, size) for text in labels)
        label_width = min(label_width + 4 * mm, 60 * mm)
        for label, (_l, value) in zip(labels, rows, strict=True):
            if not value:
                continue
            pdf.setFont(font, size)
            pdf.drawString(left, y, label)
            for line in _wrapped(str(value), right - left - label_width, size):
                pdf.drawString(left + label_width, y, line)
                y -= size * 1.6
            y -= size * 0.4
        url = verification_url(document)
        qr_size = 32 * mm
        bottom = 30 * mm
        _qr(pdf, url, right - qr_size, bottom, qr_size)
        pdf.setFont(font, 10.5)
        pdf.drawString(
            left,
            bottom + qr_size - 10,
            _("Verification code: %(code)s") % {"code": code_display(document.code)},
        )
        pdf.drawString(left, bottom + qr_size - 26, _("Check this document at:"))
        pdf.setFont(font, 8)
        for index, line in enumerate(_wrapped(url, right - left - qr_size - 5 * mm, 8)):
            pdf.drawString(left, bottom + qr_size - 40 - index * 11, line)
        pdf.setFont(font, 9)
        pdf.drawString(
            left,
            bottom,
            _("Anyone may check a code on the verification page; it shows only masked data."),
        )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
