from django import template

from tracksystem.formats import format_hours

register = template.Library()


@register.filter(name="hours")
def hours_filter(value):
    if value is None or value == "":
        return ""
    return format_hours(value)
