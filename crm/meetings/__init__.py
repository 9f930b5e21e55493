"""Meeting links: meeting types, availability, atomic public booking, iCalendar invites."""
