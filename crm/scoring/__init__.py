"""Lead scoring: engagement (decaying), fit and predictive scores with explanations."""
