"""Forms of the residents' pages (server-side validation; the services check everything again)."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from participation.services import MAX_COMMENT, MAX_DESCRIPTION, MAX_TITLE


class LoginEmailForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)


class LoginCodeForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)
    code = forms.CharField(label=_("Login code"), max_length=32)


class ProposalForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE)
    description = forms.CharField(
        label=_("Description"), max_length=MAX_DESCRIPTION, widget=forms.Textarea
    )
    cost = forms.IntegerField(label=_("Estimated cost"), min_value=1)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int)

    def __init__(self, *args, process, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cost"].validators.append(MaxValueValidator(process.max_cost))
        self.fields["cost"].help_text = _("In %(currency)s, at most %(max)s.") % {
            "currency": process.currency,
            "max": process.max_cost,
        }
        self.fields["category"].choices = [
            (c.pk, c.name) for c in process.categories.order_by("name")
        ]


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Your comment"), max_length=MAX_COMMENT, widget=forms.Textarea)


class ImageForm(forms.Form):
    image = forms.FileField(
        label=_("Image (JPEG or PNG)"),
        help_text=_("At most 3 MiB. Location, camera and other hidden data are removed."),
    )
    description = forms.CharField(
        label=_("What the image shows (for people who cannot see it)"), max_length=200
    )
