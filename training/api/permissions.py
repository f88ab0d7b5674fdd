"""Who may see and steer training: admins write; admins and ML engineers read; labelers never."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from labeling.roles import is_admin, is_ml_engineer


class TrainingReadOrAdminWrite(BasePermission):
    message = "Training rounds are for admins (and, read-only, ML engineers)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            return is_admin(user) or is_ml_engineer(user)
        return is_admin(user)
