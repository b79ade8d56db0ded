from django.core.cache import cache

from .selectors import COVERAGE_CACHE_KEY, calendar_coverage


def calendar_coverage_warning(request):
    """On admin pages, warn staff when the next 90 days are not covered by a loaded calendar."""
    if not request.path.startswith("/admin/") or not getattr(request.user, "is_staff", False):
        return {}
    try:
        coverage = cache.get(COVERAGE_CACHE_KEY)
    except Exception:  # Redis down: compute it, it is one query
        return {"calendar_coverage": calendar_coverage()}
    if coverage is None:
        coverage = calendar_coverage()
        cache.set(COVERAGE_CACHE_KEY, coverage, 300)
    return {"calendar_coverage": coverage}
