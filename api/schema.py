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


ERROR = {
    "description": "",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "`detail`: the reason (a message, or a list of them); a "
                "refused body names each field with its messages.",
                "additionalProperties": True,
            }
        }
    },
}
ERRORS = {
    "400": "The request or the service refused it: the messages say why.",
    "401": "No token, or one expired or revoked.",
    "403": "Visible, but this caller may not do it (a session without its CSRF token, an "
    "action the service refuses this user).",
    "404": "No such record, or not one this caller may see.",
    "409": "Someone else changed it first: fetch it again.",
    "429": "Too many calls this minute: wait the seconds of `Retry-After` and call again.",
}


def add_error_responses(result, generator, request, public):
    """A POSTPROCESSING_HOOK: every operation documents the errors it may answer with (the
    same on every endpoint: the permission classes answer 401/404, the services 400/409, the
    throttle 429)."""
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            public_read = not operation.get("security") or {} in operation["security"]
            codes = ["400", "404", "429"]
            if not public_read:
                codes += ["401", "403"]
            if method in ("post", "put", "patch", "delete"):
                codes.append("409")
            for code in codes:
                responses.setdefault(code, {**ERROR, "description": ERRORS[code]})
    return result


class DepartmentClientScheme(OpenApiAuthenticationExtension):
    target_class = "kuaiban.departments.authentication.DepartmentClientAuthentication"
    name = "departmentClient"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A department's (or the provincial platform's) client credential "
            "(kbd_<client id>.<secret>), issued by an administrator: "
            "`manage.py department_client issue`.",
        }
