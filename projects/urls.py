from django.urls import path

from projects import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<int:pk>/", views.project_detail, name="project-detail"),
]
