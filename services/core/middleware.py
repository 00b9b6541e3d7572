"""Security headers Django has no setting for: Content-Security-Policy (Django 5.2 has none built in)."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Adds ``settings.CITYAI_CONTENT_SECURITY_POLICY`` to every response that has none yet."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CITYAI_CONTENT_SECURITY_POLICY
        self.docs_policy = settings.CITYAI_CONTENT_SECURITY_POLICY_API_DOCS

    def __call__(self, request):
        response = self.get_response(request)
        # Swagger UI (the API documentation page only) loads its bundle from a CDN.
        policy = self.docs_policy if request.path == "/api/v1/docs" else self.policy
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
