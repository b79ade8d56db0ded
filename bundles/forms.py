"""Forms of the applicant's journey. They parse input; the services decide."""

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from kuaiban.cases.models import Application
from kuaiban.catalog.models import FormField
from kuaiban.ratings.models import Grade


class QuestionnaireForm(forms.Form):
    """One yes/no radio per scenario question of the bundle."""

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        for question in questions:
            self.fields[question.code] = forms.TypedChoiceField(
                label=question.text,
                choices=[("yes", _("Yes")), ("no", _("No"))],
                coerce=lambda value: value == "yes",
                widget=forms.RadioSelect,
            )

    def answers(self) -> dict[str, bool]:
        return dict(self.cleaned_data)


_WIDGETS = {
    FormField.Kind.LONG_TEXT: lambda f: forms.Textarea(attrs={"rows": 3}),
    FormField.Kind.DATE: lambda f: forms.DateInput(attrs={"type": "date"}),
    # A month picker where the browser has one; elsewhere a text box that says the format.
    FormField.Kind.MONTH: lambda f: forms.TextInput(
        attrs={"type": "month", "placeholder": "YYYY-MM", "pattern": r"\d{4}-\d{2}"}
    ),
    FormField.Kind.NUMBER: lambda f: forms.TextInput(attrs={"inputmode": "decimal"}),
    FormField.Kind.RESIDENT_ID: lambda f: forms.TextInput(
        attrs={"autocomplete": "off", "maxlength": 18}
    ),
    FormField.Kind.PHONE: lambda f: forms.TextInput(attrs={"inputmode": "tel", "maxlength": 13}),
    FormField.Kind.BANK_ACCOUNT: lambda f: forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "off"}
    ),
    FormField.Kind.CHOICE: lambda f: forms.Select(
        choices=[("", "—"), *[(c, c) for c in f.choice_list]]
    ),
    FormField.Kind.YES_NO: lambda f: forms.RadioSelect(
        choices=[("yes", _("Yes")), ("no", _("No"))]
    ),
}


class CatalogAnswerField(forms.CharField):
    """One answer of the one form. Never required for the form itself (the service reports every
    missing value together with the rest), but marked required on screen when the catalog says
    so (`marked_required`)."""

    def __init__(self, *, marked_required: bool, **kwargs):
        super().__init__(required=False, **kwargs)
        self.marked_required = marked_required


class ApplicationForm(forms.Form):
    """The one tailored form: the catalog's fields for the planned items, plus result delivery.

    Values are validated by the service (`clean_form_value`), so the rules live in one place;
    this form only renders and carries the raw text back on error.
    """

    delivery = forms.ChoiceField(
        label=_("How do you want to receive the results?"),
        choices=Application.Delivery.choices,
        widget=forms.RadioSelect,
    )
    delivery_address = forms.CharField(
        label=_("Postal address (for results by post)"), required=False, max_length=300
    )

    def __init__(self, *args, form_fields, **kwargs):
        super().__init__(*args, **kwargs)
        self.catalog_fields = form_fields
        for form_field in form_fields:
            widget_factory = _WIDGETS.get(form_field.kind)
            self.fields[form_field.code] = field = CatalogAnswerField(
                label=form_field.label,
                help_text=form_field.help,
                marked_required=form_field.required,
                widget=widget_factory(form_field) if widget_factory else None,
                validators=[form_field.check_answer_length],
            )
            field.widget.attrs["data-kind"] = form_field.kind
            if isinstance(field.widget, forms.TextInput | forms.Textarea):
                field.widget.attrs.setdefault("maxlength", form_field.answer_max_length)

    def raw_answers(self) -> dict[str, str]:
        return {f.code: self.data.get(f.code, "") for f in self.catalog_fields}


class UploadForm(forms.Form):
    material = forms.CharField(widget=forms.HiddenInput)
    file = forms.FileField(
        label=_("File (PDF, JPEG or PNG)"),
        error_messages={"required": _("Choose a file to upload.")},
    )


class ReturnAnswerForm(forms.Form):
    """Why a returned material stays unchanged (未更改，原因：…), or, with no material, the
    answer to a return that carried only a note."""

    material = forms.CharField(widget=forms.HiddenInput, required=False)
    explanation = forms.CharField(
        label=_("Unchanged, because"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CommitmentForm(forms.Form):
    material = forms.CharField(widget=forms.HiddenInput)
    agree = forms.BooleanField(
        label=_(
            "I have read the notice and make this commitment; I know the liability for a false one."
        )
    )
    signed_name = forms.CharField(label=_("Sign with your real name"), max_length=100)


class ReuseForm(forms.Form):
    material = forms.CharField(widget=forms.HiddenInput)
    file_id = forms.IntegerField(widget=forms.HiddenInput)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=300)
    confirm = forms.BooleanField(
        label=_("I understand that a withdrawn application ends here and cannot be resumed."),
        error_messages={"required": _("Tick the box to confirm the withdrawal.")},
    )


class ObjectionForm(forms.Form):
    """免申即享: the person objects to a proposal made without an application."""

    reason = forms.CharField(
        label=_("Why do you object?"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


class RatingForm(forms.Form):
    """好差评: what to rate (an item case or the whole application), the overall grade, the
    template's dimensions for how the service was given, a comment, and whether the unit may see
    who rated."""

    target = forms.ChoiceField(label=_("What you rate"))
    grade = forms.TypedChoiceField(
        label=_("Overall"), choices=Grade.choices, coerce=int, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    named = forms.BooleanField(
        label=_("The unit may see my name and number to contact me"), required=False
    )

    def __init__(self, *args, targets, dimensions, **kwargs):
        super().__init__(*args, **kwargs)
        target = cast(forms.ChoiceField, self.fields["target"])
        target.choices = [(t.key, t.label) for t in targets]
        if len(targets) == 1:
            self.fields["target"].initial = targets[0].key
        self.dimension_names = [str(d) for d in dimensions]
        for dimension in dimensions:
            self.fields[str(dimension)] = forms.TypedChoiceField(
                label=dimension.label,
                choices=Grade.choices,
                coerce=int,
                widget=forms.RadioSelect,
                required=False,
            )

    def dimensions(self) -> dict[str, int]:
        return {
            name: self.cleaned_data[name]
            for name in self.dimension_names
            if self.cleaned_data.get(name) not in (None, "")
        }


class RectificationRatingForm(forms.Form):
    grade = forms.TypedChoiceField(
        label=_("How was the rectification?"),
        choices=Grade.choices,
        coerce=int,
        widget=forms.RadioSelect,
    )


class HearingAnswerForm(forms.Form):
    response = forms.CharField(
        label=_("Your statement (陈述申辩)"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
