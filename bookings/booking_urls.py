app_name = "booking_pages"

urlpatterns: list = []  # filled by the host booking pages (issue 8)
