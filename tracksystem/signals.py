from django.dispatch import Signal

# An exception the site answered itself instead of letting it escape, such as
# a database error answered with 503: keyword arguments `request` and
# `exception`. Operations records these beside the unhandled ones.
error_answered = Signal()
