from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from tracksystem.roles import can_read_all


@login_required
def home(request):
    if can_read_all(request.user):
        return redirect("dashboard")
    return redirect("week")
