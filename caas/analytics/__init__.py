"""Analytics for platform admins (and, for their own tenant, client admins): the application funnel,
disbursed volumes and portfolio at risk, revenue, providers, and scoring calibration.

One module per dashboard. Each holds data functions that take a session, a ``Window`` (a range of
days) and an optional client, aggregate in SQL and return plain frozen dataclasses, and a
``dashboard(...)`` that lays the figures out as charts (``charts``, pure SVG geometry) and tables
(``tables``: the same rows for the page's accessible fallback and for CSV).

The caller chooses what is visible by the scope it runs in, as ``caas.market.overview`` does: a
client admin's tenant scope (row-level security limits every figure to that tenant) or a platform
admin's audited all-tenants read (``platform_access(client_id=None)``); ``client_id`` narrows an
all-tenants read to one client. Nothing here writes.

Money stays in integer minor units per currency and is never summed across currencies; rates are
Decimals rounded half-even to four places (``ratio``).
"""
