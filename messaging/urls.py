app_name = "messaging"

urlpatterns: list = []  # filled by the guest-messaging pages (issue 9)
