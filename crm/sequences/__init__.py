"""Email sequences: templates, sequences and their steps, enrollments, the step runner and
the tasks steps create for reps.

Owns: the template library and the sequence builder (``library.py``, checked by the input
models in ``inputs.py``), enrollments (``enrollments.py``; many at once in ``bulk.py``), the step
runner that fires due steps (``runner.py``: renders emails into mail's outbox, creates tasks,
moves enrollments on, ends them), call / social / manual-email tasks (``tasks.py``) and what
other features' news does to enrollments (``subscribers.py``, ``hooks.py``).

Offers (``services.py``): enrolling, stopping, pausing and resuming; ``due_call_tasks`` and
``complete_call_task`` (calls); ``run_due_steps``; ``connect_signals`` (subscribes sequences to
mail's ``emails_sent`` / ``email_failed`` / ``email_bounced`` / ``reply_received`` /
``out_of_office_received`` / ``contact_unsubscribed`` and meetings' ``meeting_booked``).

Called by: calls (call tasks), the app factory (``connect_signals``, from the manifest), the
worker's jobs, its pages, API and the contact page's panel. Uses mail's and meetings' services.
"""
