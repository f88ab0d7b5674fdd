from django.urls import path

from exports.api import views

urlpatterns = [
    path("projects/<slug:slug>/exports/", views.ProjectExportCreateView.as_view(), name="project-export-create"),
    path("projects/<slug:slug>/import/<str:kind>/", views.PreferenceImportView.as_view(), name="project-preference-import"),
    path("exports/", views.ExportListView.as_view(), name="export-list"),
    path("exports/<uuid:job_id>/", views.ExportDetailView.as_view(), name="export-detail"),
    path("exports/<uuid:job_id>/repeat/", views.ExportRepeatView.as_view(), name="export-repeat"),
    path("exports/<uuid:job_id>/download/", views.ExportDownloadView.as_view(), name="export-download"),
    path("checkpoints/<uuid:checkpoint_id>/download/", views.CheckpointArchiveView.as_view(), name="checkpoint-download"),
    path("checkpoints/<uuid:checkpoint_id>/card/", views.CheckpointCardView.as_view(), name="checkpoint-card"),
]
