"""Pathway: offline NDTMS case recording for CJIT and secure-setting substance misuse teams."""

APP_NAME = "Pathway"
__version__ = "0.1.0"
CMSID = f"PATHWAY-{__version__}"
