"""The Qt windows. Widgets only: every rule comes from the domain, every record from the store."""
