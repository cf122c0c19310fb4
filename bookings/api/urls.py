urlpatterns: list = []  # filled by the API module (issue 8)
