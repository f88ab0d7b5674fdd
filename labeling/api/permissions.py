"""Who may call which labeling endpoint. Every view names its permission explicitly."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from labeling.roles import is_admin, is_labeler, is_ml_engineer, user_roles


def _authenticated(request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class HasAnyRole(BasePermission):
    message = "Your account has no role yet; ask an admin to give you one."

    def has_permission(self, request, view) -> bool:
        return _authenticated(request) and bool(user_roles(request.user))


class IsLabeler(BasePermission):
    message = "Only labelers can do this."

    def has_permission(self, request, view) -> bool:
        return _authenticated(request) and is_labeler(request.user)


class IsAdmin(BasePermission):
    message = "Only admins can do this."

    def has_permission(self, request, view) -> bool:
        return _authenticated(request) and is_admin(request.user)


class AnyRoleReadAdminWrite(BasePermission):
    message = "Only admins can change projects."

    def has_permission(self, request, view) -> bool:
        if not _authenticated(request):
            return False
        if request.method in SAFE_METHODS:
            return bool(user_roles(request.user))
        return is_admin(request.user)


class EngineerReadAdminWrite(BasePermission):
    message = "Prompts are for admins (and, read-only, ML engineers)."

    def has_permission(self, request, view) -> bool:
        if not _authenticated(request):
            return False
        if request.method in SAFE_METHODS:
            return is_admin(request.user) or is_ml_engineer(request.user)
        return is_admin(request.user)
