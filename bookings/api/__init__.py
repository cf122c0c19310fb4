"""The PMS booking API (/api/v1/)."""
