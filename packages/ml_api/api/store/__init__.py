"""The prediction store: every priced house, the sale prices joined back, and what they say.

- ``tables``: the two tables, as SQLAlchemy Core declares them;
- ``database``: the engine for a URL, and the migrations' state (``migrations/``, Alembic);
- ``recorder``: writes priced houses off the request path, in batches, losing none silently;
- ``shadow``: a challenger's prices of the recorded houses, made and written apart;
- ``sales``: takes sale prices back, a batch whole or not at all;
- ``monitoring``: live accuracy, coverage and drift over windows of the store.
"""
