from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from tracksystem.roles import can_read_all


@login_required
def home(request):
    if can_read_all(request.user):
        return redirect("dashboard")
    return redirect("week")


def connection_help(request):
    """What each banner means; open to anyone, signed in or not."""
    return render(request, "help/connection.html")
