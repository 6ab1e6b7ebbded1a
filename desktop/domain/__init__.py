"""The domain layer: the NDTMS dataset specifications, the rules and the episode workflow.

Pure Python: no Qt, no database. Everything else in Pathway is derived from here.
"""
