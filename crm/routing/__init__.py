"""Lead routing (issue 20): who owns a contact a website form creates. Rules an admin sets
(territory by country or time zone, the company's owner, round robin among chosen reps), tried
in order; the owner is alerted at once. The form's contact gets the browser's time zone, else
its company's."""
