"""The admin sub-application, mounted at /admin/ for the `admin` role only (see `app.build_admin`)."""
