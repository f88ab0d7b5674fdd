"""The Django admin for labeling data: browse, search and fix things by hand."""

from django.contrib import admin

from labeling.models import Assignment, Demonstration, Project, Prompt, Ranking, RankingEntry, Sample, Task, TaskSample


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "k", "overlap", "lease_seconds", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["id", "short_text", "project", "category", "split", "source", "created_at"]
    list_filter = ["project", "split", "category", "source"]
    search_fields = ["text"]
    raw_id_fields = ["created_by"]
    readonly_fields = ["text_hash"]

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]


class TaskSampleInline(admin.TabularInline):
    model = TaskSample
    raw_id_fields = ["sample"]
    extra = 0


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "project", "prompt", "status", "submitted_count", "overlap", "priority", "round_number", "created_at"]
    list_filter = ["project", "kind", "status", "round_number"]
    search_fields = ["prompt__text"]
    raw_id_fields = ["prompt"]
    inlines = [TaskSampleInline]
    list_select_related = ["project", "prompt"]


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ["id", "short_text", "origin", "round_number", "checkpoint_id", "created_at"]
    list_filter = ["origin", "round_number"]
    search_fields = ["text", "prompt__text"]
    raw_id_fields = ["prompt", "demonstration"]

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "labeler", "status", "expires_at", "created_at", "submitted_at"]
    list_filter = ["status", "task__kind", "task__project"]
    search_fields = ["labeler__username"]
    raw_id_fields = ["task", "labeler"]
    list_select_related = ["task", "labeler"]


@admin.register(Demonstration)
class DemonstrationAdmin(admin.ModelAdmin):
    list_display = ["id", "prompt", "labeler", "time_spent_ms", "created_at"]
    list_filter = ["prompt__project"]
    search_fields = ["text", "prompt__text", "labeler__username"]
    raw_id_fields = ["assignment", "prompt", "labeler"]
    list_select_related = ["prompt", "labeler"]


class RankingEntryInline(admin.TabularInline):
    model = RankingEntry
    raw_id_fields = ["sample"]
    extra = 0


@admin.register(Ranking)
class RankingAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "labeler", "none_acceptable", "time_spent_ms", "created_at"]
    list_filter = ["none_acceptable", "task__project"]
    search_fields = ["labeler__username", "task__prompt__text"]
    raw_id_fields = ["assignment", "task", "labeler"]
    inlines = [RankingEntryInline]
    list_select_related = ["task", "labeler"]


@admin.register(RankingEntry)
class RankingEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "ranking", "sample", "rank", "score"]
    raw_id_fields = ["ranking", "sample"]
