"""Nuki connect flows under /locks/connect/nuki/: the API-token page, "Sign in with Nuki", its callback."""

from django.urls import path

from locks.connect import nuki

urlpatterns = [
    path("", nuki.nuki_connect, name="nuki_connect"),
    path("oauth/", nuki.nuki_connect_oauth, name="nuki_connect_oauth"),
    path("callback/", nuki.nuki_callback, name="nuki_callback"),
]
