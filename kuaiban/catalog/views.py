from django.shortcuts import render

from kuaiban.web import or_404

from . import selectors


def guide_index(request):
    return render(
        request,
        "catalog/guide_index.html",
        {"bundles": selectors.published_bundles(), "items": selectors.published_items()},
    )


def bundle_detail(request, code):
    return render(
        request, "catalog/bundle_guide.html", {"guide": or_404(selectors.bundle_guide(code))}
    )


def item_detail(request, code):
    return render(request, "catalog/item_guide.html", {"guide": or_404(selectors.item_guide(code))})
