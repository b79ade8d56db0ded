"""Personal API tokens: made from a logged-in session (a password log-in, or single sign-on
through the provincial platform), so a token carries what that log-in proved (staff: the
second factor); revoked by presenting it."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from kuaiban.accounts.api_tokens import PersonalTokenAuthentication, token_issue, token_revoke
from kuaiban.accounts.models import ApiToken


class TokenRequest(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, default="")


class TokenIssued(serializers.Serializer):
    token = serializers.CharField(help_text=_("Shown once; send it as `Authorization: Bearer …`."))
    expires_at = serializers.DateTimeField()


@extend_schema(tags=["tokens"])
class TokenCreate(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=TokenRequest, responses={201: TokenIssued})
    def post(self, request):
        given = TokenRequest(data=request.data)
        given.is_valid(raise_exception=True)
        row, token = token_issue(user=request.user, name=given.validated_data["name"])
        return Response(
            TokenIssued({"token": token, "expires_at": row.expires_at}).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["tokens"])
class TokenRevoke(APIView):
    authentication_classes = [PersonalTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise exceptions.NotFound()
        token_revoke(request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
