from django.urls import path

from training.api import views

urlpatterns = [
    path("projects/<slug:slug>/rounds/", views.ProjectRoundsView.as_view(), name="project-rounds"),
    path("projects/<slug:slug>/round-schedule/", views.RoundScheduleSettingsView.as_view(), name="project-round-schedule"),
    path("projects/<slug:slug>/round-metrics/", views.RoundMetricsView.as_view(), name="project-round-metrics"),
    path("rounds/<int:round_id>/", views.RoundDetailView.as_view(), name="round-detail"),
    path("rounds/<int:round_id>/cancel/", views.RoundCancelView.as_view(), name="round-cancel"),
    path("jobs/<uuid:job_id>/retry/", views.JobRetryView.as_view(), name="job-retry"),
    path("checkpoints/", views.CheckpointListView.as_view(), name="checkpoint-list"),
    path("checkpoints/<uuid:checkpoint_id>/", views.CheckpointDetailView.as_view(), name="checkpoint-detail"),
]
