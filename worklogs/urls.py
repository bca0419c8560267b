from django.urls import path

from worklogs import views

urlpatterns = [
    path("", views.week, name="week"),
    path("new/", views.worklog_create, name="worklog-create"),
    path("<int:pk>/edit/", views.worklog_edit, name="worklog-edit"),
    path("<int:pk>/delete/", views.worklog_delete, name="worklog-delete"),
    path("export.csv", views.export_csv, name="worklog-export"),
]
