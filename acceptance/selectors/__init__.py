"""Reads for the supervision pages, one module per page: `dashboard`, `drilldown` (the lists
behind the figures and the overdue list) and `programme` (the year-end goals); `common` holds
the period and the filter cleaning they share. Import a name from the module that defines it.

Selectors compute and return; keeping pages in the cache is `acceptance.page_cache`'s.
"""
