"""Money in more than one currency: the company's base currency, dated exchange rates, and the
conversions every total goes through (issue #17). See ``services`` for which date a deal's
amount is converted at."""
