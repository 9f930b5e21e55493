"""Deterministic demo data: a believable company with two years of sales history."""
