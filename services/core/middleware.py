"""Security headers Django has no setting for: Content-Security-Policy (Django 5.2 has none built in)."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Adds ``settings.CITYAI_CONTENT_SECURITY_POLICY`` to every response that has none yet."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CITYAI_CONTENT_SECURITY_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
