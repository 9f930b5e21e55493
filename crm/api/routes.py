"""Imports each feature's API module so their routes attach to the blueprint."""
