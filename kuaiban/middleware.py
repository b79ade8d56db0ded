from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


class LanguageSwitchMiddleware:
    """Chinese unless the visitor chose English with the switch (the language cookie).

    Django's LocaleMiddleware would also follow the browser's Accept-Language; a government
    portal here is Chinese first, whatever the browser says.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response
