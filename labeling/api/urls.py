from django.urls import path

from labeling.api import views

# The labeling loop's two calls come first: URLs resolve in order, and these are most of the traffic.
urlpatterns = [
    path("projects/<slug:slug>/tasks/next/", views.NextTaskView.as_view(), name="task-next"),
    path("assignments/<int:assignment_id>/submit/", views.AssignmentSubmitView.as_view(), name="assignment-submit"),
    path("auth/csrf/", views.CsrfView.as_view(), name="auth-csrf"),
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/stats/", views.MeStatsView.as_view(), name="me-stats"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<slug:slug>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<slug:slug>/activity/", views.ProjectActivityView.as_view(), name="project-activity"),
    path("projects/<slug:slug>/prompts/", views.PromptListView.as_view(), name="prompt-list"),
    path("projects/<slug:slug>/prompts/import/", views.PromptImportView.as_view(), name="prompt-import"),
    path("prompts/<int:prompt_id>/", views.PromptDetailView.as_view(), name="prompt-detail"),
    path("assignments/", views.AssignmentListView.as_view(), name="assignment-list"),
    path("assignments/<int:assignment_id>/", views.AssignmentDetailView.as_view(), name="assignment-detail"),
    path("assignments/<int:assignment_id>/heartbeat/", views.AssignmentHeartbeatView.as_view(), name="assignment-heartbeat"),
    path("assignments/<int:assignment_id>/draft/", views.AssignmentDraftView.as_view(), name="assignment-draft"),
    path("assignments/<int:assignment_id>/skip/", views.AssignmentSkipView.as_view(), name="assignment-skip"),
    path("users/", views.UserListView.as_view(), name="user-list"),
    path("users/<int:user_id>/", views.UserDetailView.as_view(), name="user-detail"),
    path("roles/", views.RoleListView.as_view(), name="role-list"),
]
