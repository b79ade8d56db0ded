"""`manage.py check` says when the OCR engine or its Chinese data is missing (a warning: the
portal runs, but the NAME_IN_MATERIAL rules read no uploaded image and say nothing; scripts/test
installs Debian's tesseract-ocr, tesseract-ocr-chi-sim and poppler-utils)."""

from django.core.checks import Warning, register

from .text import OCR_LANGUAGES, pdftotext_binary, tesseract_binary, tesseract_languages

HINT = "apt-get install tesseract-ocr tesseract-ocr-chi-sim poppler-utils"


@register()
def ocr_engine_present(app_configs, **kwargs) -> list[Warning]:
    warnings = []
    if tesseract_binary() is None:
        warnings.append(
            Warning(
                "No tesseract (KUAIBAN_TESSERACT): uploaded images are not read by the pre-check.",
                hint=HINT,
                id="precheck.W001",
            )
        )
    else:
        missing = set(OCR_LANGUAGES.split("+")) - tesseract_languages()
        if missing:
            warnings.append(
                Warning(
                    f"tesseract has no data for {', '.join(sorted(missing))}: uploaded images "
                    "are not read by the pre-check.",
                    hint=HINT,
                    id="precheck.W002",
                )
            )
    if pdftotext_binary() is None:
        warnings.append(
            Warning(
                "No pdftotext (KUAIBAN_PDFTOTEXT): uploaded PDFs are not read by the pre-check.",
                hint=HINT,
                id="precheck.W003",
            )
        )
    return warnings
