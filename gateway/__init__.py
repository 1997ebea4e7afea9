"""A de-identifying DICOMweb gateway: a streaming reverse proxy that shows each role its own view of a PACS."""

__version__ = "0.1.0"
