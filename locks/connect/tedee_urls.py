"""Tedee connect flow: /locks/connect/tedee/ starts the sign-in, callback/ finishes it."""

from django.urls import path

from locks.connect import tedee

urlpatterns = [
    path("", tedee.tedee_connect, name="tedee_connect"),
    path("callback/", tedee.tedee_callback, name="tedee_callback"),
]
