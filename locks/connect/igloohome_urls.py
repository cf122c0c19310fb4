from django.urls import path

from locks.connect.igloohome import igloohome_connect_view

urlpatterns: list = [
    path("", igloohome_connect_view, name="igloohome_connect"),
]
