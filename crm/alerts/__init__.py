"""In-app alerts to a user (hot leads, replies, bookings), delivered by short polling."""
