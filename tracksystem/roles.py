"""Roles: the `engineer` and `manager` groups; staff users are administrators.

Pages and the API ask the same questions here, so a permission holds in both.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework import permissions

ENGINEER = "engineer"
MANAGER = "manager"

NO_ROLE_MESSAGE = (
    "Your account has no role yet. Ask an administrator to add you to the "
    "engineer or manager group."
)


def role_names(user):
    # Asked several times per request (permission, template, queryset):
    # one query, remembered on the user object for the rest of the request.
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_role_names"):
        user._role_names = frozenset(user.groups.values_list("name", flat=True))
    return user._role_names


def has_role(user):
    return user.is_authenticated and (user.is_staff or bool(role_names(user)))


def can_read_all(user):
    """Managers and administrators read every entry; engineers only their own."""
    return user.is_authenticated and (user.is_staff or MANAGER in role_names(user))


class HasRole(permissions.BasePermission):
    message = NO_ROLE_MESSAGE

    def has_permission(self, request, view):
        return has_role(request.user)


class ReadsAll(permissions.BasePermission):
    message = "Only managers and administrators can see this."

    def has_permission(self, request, view):
        return can_read_all(request.user)


def role_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_role(request.user):
            raise PermissionDenied(NO_ROLE_MESSAGE)
        return view(request, *args, **kwargs)

    return wrapper


def manager_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_read_all(request.user):
            raise PermissionDenied("Only managers and administrators can see this.")
        return view(request, *args, **kwargs)

    return wrapper


def roles_context(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"reads_all": can_read_all(user)}
