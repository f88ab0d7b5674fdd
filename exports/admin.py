"""Read-only admin pages: export jobs and the download log are records, not things to edit."""

from django.contrib import admin

from exports.models import DownloadLog, ExportJob


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExportJob)
class ExportJobAdmin(_ReadOnly):
    list_display = ("id", "project", "kind", "format", "status", "rows_done", "rows_total", "rows_written", "created_by", "created_at")
    list_filter = ("status", "kind", "format", "project")
    search_fields = ("id", "created_by__username")


@admin.register(DownloadLog)
class DownloadLogAdmin(_ReadOnly):
    list_display = ("created_at", "user", "what", "export_job", "checkpoint_id", "ip")
    list_filter = ("what",)
    search_fields = ("user__username", "checkpoint_id")
