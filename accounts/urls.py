from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("confirm/", views.confirm, name="confirm"),
]
