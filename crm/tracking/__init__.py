"""Tracking: email opens and clicks, website page views and forms, a verdict on every event."""
