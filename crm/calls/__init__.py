"""The rep's day: prospecting time blocks, the daily call queue, call logging, plan vs actual."""
