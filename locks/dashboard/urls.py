from django.urls import path

from locks.dashboard import views

app_name = "integrations"

urlpatterns = [
    path("", views.integrations, name="index"),
    path("<slug:provider>/", views.panel, name="panel"),
    path("<slug:provider>/refresh/", views.refresh_locks, name="refresh_locks"),
    path("<slug:provider>/disconnect/", views.disconnect, name="disconnect"),
    path("<slug:provider>/locks/<int:lock_id>/check/", views.check_lock_now, name="check_lock_now"),
    path("<slug:provider>/properties/<int:property_id>/", views.assignment_save, name="assignment_save"),
    path("<slug:provider>/properties/<int:property_id>/row/", views.assignment_row, name="assignment_row"),
    path("<slug:provider>/properties/<int:property_id>/remove/", views.assignment_remove, name="assignment_remove"),
]
