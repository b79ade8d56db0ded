from kuaiban import optional_cache

from .selectors import COVERAGE_CACHE_KEY, calendar_coverage


def calendar_coverage_warning(request):
    """On admin pages, warn staff when the next 90 days are not covered by a loaded calendar."""
    if not request.path.startswith("/admin/") or not getattr(request.user, "is_staff", False):
        return {}
    coverage = optional_cache.get(COVERAGE_CACHE_KEY)
    if coverage is None:  # not kept yet, or Redis down: compute it, it is one query
        coverage = calendar_coverage()
        optional_cache.set(COVERAGE_CACHE_KEY, coverage, 300)
    return {"calendar_coverage": coverage}
