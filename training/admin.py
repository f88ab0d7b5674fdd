"""Django admin for rounds, jobs, checkpoints and schedules: read-mostly, with the actions
that go through the services (schedule, cancel, retry)."""

from django import forms
from django.contrib import admin, messages

from config.errors import ApplicationError
from training.models import Checkpoint, DataSnapshot, RoundSchedule, TrainingJob, TrainingRound
from training.services import jobs as job_services
from training.services import rounds as round_services


class TrainingJobInline(admin.TabularInline):
    model = TrainingJob
    extra = 0
    can_delete = False
    fields = ["stage", "status", "step", "total_steps", "attempts", "worker", "heartbeat_at", "message"]
    readonly_fields = fields
    show_change_link = True


class RoundScheduleForm(forms.ModelForm):
    """"Add training round" in the admin = schedule a round (now, or at start_at)."""

    class Meta:
        model = TrainingRound
        fields = ["project", "start_at", "config"]

    def clean(self):
        data = super().clean()
        try:
            data["config"] = round_services.round_config_validate(data.get("config") or {})
        except ApplicationError as exc:
            raise forms.ValidationError({"config": exc.message}) from exc
        project = data.get("project")
        if project and TrainingRound.objects.filter(project=project, status__in=round_services.ACTIVE).exists():
            raise forms.ValidationError({"project": "This project already has a scheduled or running round."})
        return data


@admin.register(TrainingRound)
class TrainingRoundAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "trigger", "start_at", "started_at", "finished_at"]
    list_filter = ["status", "trigger", "project"]
    readonly_fields = ["project", "number", "status", "trigger", "snapshot", "message", "start_at", "config",
                       "started_at", "finished_at", "scheduled_by"]
    inlines = [TrainingJobInline]
    actions = ["cancel_rounds"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = RoundScheduleForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else RoundScheduleForm.Meta.fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        # Scheduling goes through the service: numbering, the one-active-round rule, on-commit start.
        created = round_services.round_schedule(
            project=form.cleaned_data["project"], scheduled_by=request.user, config=form.cleaned_data["config"],
            start_at=form.cleaned_data.get("start_at"),
        )
        obj.pk = obj.id = created.id
        obj.number = created.number

    @admin.action(description="Cancel the selected rounds")
    def cancel_rounds(self, request, queryset):
        for round_ in queryset:
            try:
                round_services.round_cancel(round_id=round_.id)
            except ApplicationError as exc:
                self.message_user(request, f"{round_}: {exc.message}", messages.WARNING)


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "step", "total_steps", "attempts", "worker", "heartbeat_at"]
    list_filter = ["status", "stage"]
    readonly_fields = [f.name for f in TrainingJob._meta.fields]
    actions = ["retry_jobs"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected failed or cancelled jobs")
    def retry_jobs(self, request, queryset):
        for job in queryset:
            try:
                job_services.job_retry(job_id=job.id)
            except ApplicationError as exc:
                self.message_user(request, f"{job}: {exc.message}", messages.WARNING)


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "stage", "round", "path", "created_at"]
    list_filter = ["stage", "project"]
    readonly_fields = [f.name for f in Checkpoint._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DataSnapshot)
class DataSnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "counts", "created_at"]
    readonly_fields = [f.name for f in DataSnapshot._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RoundSchedule)
class RoundScheduleAdmin(admin.ModelAdmin):
    list_display = ["project", "every_hours", "rankings_threshold", "updated_at"]
    actions = ["schedule_round_now"]

    @admin.action(description="Schedule a round now for the selected projects")
    def schedule_round_now(self, request, queryset):
        for schedule in queryset.select_related("project"):
            try:
                round_ = round_services.round_schedule(project=schedule.project, scheduled_by=request.user, config=schedule.config)
                self.message_user(request, f"Scheduled {round_}.")
            except ApplicationError as exc:
                self.message_user(request, f"{schedule.project}: {exc.message}", messages.WARNING)
