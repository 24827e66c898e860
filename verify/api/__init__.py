"""The HTTP verification service and its web pages."""
