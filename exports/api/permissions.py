"""Who may take data out (ML engineers and admins) and who may bring it in (admins)."""

from rest_framework.permissions import BasePermission

from labeling.roles import is_admin, is_ml_engineer


class CanExport(BasePermission):
    message = "Exports and downloads are for ML engineers and admins."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (is_ml_engineer(user) or is_admin(user)))


class CanImport(BasePermission):
    message = "Only admins can import data into a project."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and is_admin(user))
