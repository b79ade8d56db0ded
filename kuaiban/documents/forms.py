from django import forms
from django.utils.translation import gettext_lazy as _

from .services import CODE_LENGTH, code_normalized


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code of the document"),
        max_length=40,
        help_text=_(
            "The 16 characters printed on the document (hyphens and spaces may be left out)."
        ),
    )

    def clean_code(self) -> str:
        code = code_normalized(self.cleaned_data["code"])
        if code is None:
            raise forms.ValidationError(
                _("A verification code has %(n)d letters and digits.") % {"n": CODE_LENGTH}
            )
        return code
