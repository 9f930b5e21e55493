"""Email sequences: templates, sequences and their steps, enrollments, the step scheduler."""
