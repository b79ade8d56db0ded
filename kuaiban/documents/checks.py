"""`manage.py check` says when the PDFs' Chinese font is missing (a warning: the portal runs,
but a document's download would fail; scripts/demo, test and serve install it)."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Warning, register


@register()
def pdf_font_present(app_configs, **kwargs) -> list[Warning]:
    path = Path(settings.KUAIBAN_PDF_FONT)
    if path.is_file():
        return []
    return [
        Warning(
            f"No font at KUAIBAN_PDF_FONT={path}: result documents cannot be rendered.",
            hint="apt-get install fonts-wqy-zenhei, or point KUAIBAN_PDF_FONT at a TrueType "
            "font with Simplified Chinese.",
            id="documents.W001",
        )
    ]
