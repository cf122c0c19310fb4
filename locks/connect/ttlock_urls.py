from django.urls import path

from locks.connect.ttlock import ttlock_connect_view

urlpatterns = [
    path("", ttlock_connect_view, name="ttlock_connect"),
]
