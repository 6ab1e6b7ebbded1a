"""Month-end output: the NDTMS submission CSV, the pre-upload check, reports and sheets."""
