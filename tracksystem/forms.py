from django import forms


class DateRangeForm(forms.Form):
    """The `?start=&end=` that narrows a page to a range of dates."""

    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError(
                "The start date must not be after the end date."
            )
        return cleaned

    def dates(self):
        """(start, end) when valid, (None, None) otherwise: an invalid range
        shows its error and the unnarrowed figures."""
        if not self.is_valid():
            return None, None
        return self.cleaned_data["start"], self.cleaned_data["end"]

    def as_query(self):
        start, end = self.dates()
        parts = []
        if start:
            parts.append(f"start={start:%Y-%m-%d}")
        if end:
            parts.append(f"end={end:%Y-%m-%d}")
        return "&".join(parts)
