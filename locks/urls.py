from django.urls import include, path

app_name = "locks"

urlpatterns = [
    path("connect/ttlock/", include("locks.connect.ttlock_urls")),
    path("connect/tedee/", include("locks.connect.tedee_urls")),
    path("connect/nuki/", include("locks.connect.nuki_urls")),
    path("connect/igloohome/", include("locks.connect.igloohome_urls")),
]
