"""Deterministic demo data: a believable company with two years of sales history.

Owns ``flask --app wsgi crm seed-demo`` (``cli.py``), run by ``make run`` on every start.
``seed.py`` writes what ``people.py`` and ``deals.py`` plan from one seeded random generator;
deal history goes through the deal services so ``DealChange`` replays like real use.
Owns no tables; offers ``seed`` to the CLI and the shared demo catalogue (``catalog.py``,
``timing.py``) that other features' ``demo.py`` seeders read.
"""
