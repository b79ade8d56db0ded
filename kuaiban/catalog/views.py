from django.shortcuts import render

from kuaiban.web import or_404

from . import selectors


def guide_index(request):
    """Search by words of a name or a code, and the bundles for a person or an employer."""
    index = selectors.guide_index(request.GET.get("q", ""), request.GET.get("for", ""))
    return render(request, "catalog/guide_index.html", {"index": index})


def bundle_detail(request, code):
    return render(
        request, "catalog/bundle_guide.html", {"guide": or_404(selectors.bundle_guide(code))}
    )


def item_detail(request, code):
    return render(request, "catalog/item_guide.html", {"guide": or_404(selectors.item_guide(code))})
