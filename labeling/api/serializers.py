"""Request and response shapes of the labeling API. Names are unique across the whole API
(they become OpenAPI component names and the frontend's TypeScript types)."""

from __future__ import annotations

import copy
from string import ascii_uppercase

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.models import Assignment, Category, Flag, Project, Prompt, Split, Task
from labeling.roles import ALL_ROLES, user_roles


class StrictInput(serializers.Serializer):
    """An input that rejects unknown fields, naming them, instead of silently dropping them.

    DRF deep-copies every declared field (and their child fields) for each serializer it
    builds; an input is built on every request, so here each class copies its declared fields
    once and each instance takes shallow copies of those, bound to itself. Input fields keep
    no state while validating, so the shared child fields are safe across requests and threads.
    """

    def get_fields(self):
        cls = type(self)
        prototypes = cls.__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = super().get_fields()
            cls._field_prototypes = prototypes
        return {name: copy.copy(field) for name, field in prototypes.items()}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


# --- Auth and me --------------------------------------------------------------------------


class LoginInput(StrictInput):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()


class CsrfOutput(serializers.Serializer):
    csrftoken = serializers.CharField()


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return sorted(user_roles(user))


class MeStatsOutput(serializers.Serializer):
    demonstrations = serializers.IntegerField()
    rankings = serializers.IntegerField()
    submitted = serializers.IntegerField()
    skipped = serializers.IntegerField()
    today = serializers.IntegerField()
    median_time_ms = serializers.IntegerField(allow_null=True)
    today_median_time_ms = serializers.IntegerField(allow_null=True)


# --- Projects and prompts -----------------------------------------------------------------


class AvailableWorkOutput(serializers.Serializer):
    demonstration = serializers.IntegerField()
    ranking = serializers.IntegerField()


class ProjectOutput(serializers.ModelSerializer):
    """A project. ``available`` (labelers only, else null): tasks of each kind they could claim
    now, counted up to 1000 (1000 means "1000 or more")."""

    available = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "slug", "name", "guidelines", "k", "overlap", "lease_seconds", "is_active", "created_at", "available"]

    @extend_schema_field(AvailableWorkOutput(allow_null=True))
    def get_available(self, project):
        counts = self.context.get("available")
        return counts.get(project.pk) if counts is not None else None


class ProjectCreateInput(StrictInput):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100)
    guidelines = serializers.CharField(required=False, allow_blank=True, default="")
    k = serializers.IntegerField(min_value=2, max_value=9, required=False, default=4)
    overlap = serializers.IntegerField(min_value=1, max_value=50, required=False, default=1)
    lease_seconds = serializers.IntegerField(min_value=30, required=False, default=1800)


class ProjectUpdateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False)
    guidelines = serializers.CharField(required=False, allow_blank=True)
    k = serializers.IntegerField(min_value=2, max_value=9, required=False)
    overlap = serializers.IntegerField(min_value=1, max_value=50, required=False)
    lease_seconds = serializers.IntegerField(min_value=30, required=False)
    is_active = serializers.BooleanField(required=False)


class PromptOutput(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Prompt
        fields = ["id", "project", "text", "category", "split", "source", "metadata", "created_at"]


class PromptCreateInput(StrictInput):
    text = serializers.CharField(trim_whitespace=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False, default=Category.OTHER)
    split = serializers.ChoiceField(choices=Split.choices, required=False, default=Split.TRAIN)
    metadata = serializers.DictField(required=False, default=dict)


class PromptUpdateInput(StrictInput):
    text = serializers.CharField(required=False, trim_whitespace=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    split = serializers.ChoiceField(choices=Split.choices, required=False)
    metadata = serializers.DictField(required=False)


class PromptImportOutput(serializers.Serializer):
    created = serializers.IntegerField()


class PromptImportFileInput(serializers.Serializer):
    file = serializers.FileField()


class ActivityRowOutput(serializers.Serializer):
    labeler_id = serializers.IntegerField()
    username = serializers.CharField(allow_null=True)
    demonstrations = serializers.IntegerField()
    rankings = serializers.IntegerField()
    submitted = serializers.IntegerField()
    skipped = serializers.IntegerField()
    last_24h = serializers.IntegerField()
    per_hour = serializers.FloatField(allow_null=True)
    median_time_ms = serializers.IntegerField(allow_null=True)
    agreement = serializers.FloatField(
        allow_null=True, help_text="Share of sample pairs ordered as another labeler of the same task did (ties left out)."
    )
    agreement_pairs = serializers.IntegerField(help_text="Pairs the agreement is measured on (0: no shared tasks yet).")
    first_shown_best = serializers.FloatField(
        allow_null=True, help_text="Position bias: share of rankings that put the sample shown first in the top group."
    )
    first_shown_best_by_chance = serializers.FloatField(
        allow_null=True, help_text="The same share expected by chance (top group size / K), to compare with."
    )
    last_submitted_at = serializers.DateTimeField(allow_null=True)


# --- Assignments --------------------------------------------------------------------------


class AssignmentPromptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    category = serializers.CharField()


class AssignmentSampleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    text = serializers.CharField()


class AssignmentOutput(serializers.ModelSerializer):
    kind = serializers.CharField(source="task.kind")
    project = serializers.CharField(source="task.project.slug")
    prompt = AssignmentPromptOutput(source="task.prompt")
    samples = serializers.SerializerMethodField()
    guidelines = serializers.CharField(source="task.project.guidelines")

    class Meta:
        model = Assignment
        fields = ["id", "kind", "status", "project", "expires_at", "prompt", "samples", "draft", "draft_saved_at", "guidelines"]

    @extend_schema_field(AssignmentSampleOutput(many=True))
    def get_samples(self, assignment):
        """The task's samples in this labeler's shown order, labelled A, B, C ... as shown."""
        if assignment.task.kind != Task.Kind.RANKING:
            return []
        by_id = {link.sample_id: link.sample for link in assignment.task.task_samples.all()}
        order = [sid for sid in assignment.shown_order if sid in by_id] or list(by_id)
        return [{"id": sid, "label": ascii_uppercase[i], "text": by_id[sid].text} for i, sid in enumerate(order)]


class NextTaskInput(StrictInput):
    kind = serializers.ChoiceField(choices=Task.Kind.choices, required=False, allow_null=True)


class NextTaskOutput(serializers.Serializer):
    assignment = AssignmentOutput(allow_null=True)
    message = serializers.CharField(required=False)


class PromptListQuery(serializers.Serializer):
    split = serializers.ChoiceField(choices=Split.choices, required=False)
    search = serializers.CharField(required=False, max_length=200)


class AssignmentListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Assignment.Status.choices, required=False)


class HeartbeatOutput(serializers.Serializer):
    expires_at = serializers.DateTimeField()


class DraftSaveInput(StrictInput):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)


class DraftSaveOutput(serializers.Serializer):
    draft_saved_at = serializers.DateTimeField()


class SkipInput(StrictInput):
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=500)


class DemonstrationSubmitInput(StrictInput):
    text = serializers.CharField(trim_whitespace=False)
    time_spent_ms = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)


class RankingSubmitInput(StrictInput):
    order = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), allow_empty=False, min_length=1), allow_empty=False, min_length=1,
        help_text="Groups of sample ids, best group first; a group of several is a tie.",
    )
    scores = serializers.DictField(child=serializers.IntegerField(min_value=1, max_value=7), help_text='{"<sample_id>": 1-7} for every sample.')
    flags = serializers.DictField(
        child=serializers.ListField(child=serializers.ChoiceField(choices=Flag.choices)), required=False, default=dict
    )
    none_acceptable = serializers.BooleanField(required=False, default=False)
    time_spent_ms = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)


class AssignmentSubmitOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The demonstration's or ranking's id.")
    kind = serializers.ChoiceField(choices=Task.Kind.choices)
    assignment_id = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()


# --- Users --------------------------------------------------------------------------------


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    is_active = serializers.BooleanField()
    roles = serializers.SerializerMethodField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)

    def get_roles(self, user) -> list[str]:
        # Groups are prefetched by the selector; no query per user.
        return sorted({g.name for g in user.groups.all()} & set(ALL_ROLES))


class UserCreateInput(StrictInput):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ALL_ROLES), required=False, default=list)


class UserUpdateInput(StrictInput):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ALL_ROLES), required=False)
    is_active = serializers.BooleanField(required=False)
    password = serializers.CharField(max_length=256, trim_whitespace=False, required=False)


class RoleOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
