"""How the schema names the API's authentication (imported by `ApiConfig.ready`)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "kuaiban.accounts.api_tokens.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token (kbp_…) made from a logged-in session: "
            "POST /api/v1/tokens/.",
        }
