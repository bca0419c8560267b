from django.urls import path

from ops import views

urlpatterns = [path("", views.overview, name="ops-overview")]
