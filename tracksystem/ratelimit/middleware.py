class RateLimitHeadersMiddleware:
    """Adds the RateLimit fields to every response whose request was counted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)

        decision = getattr(request, "ratelimit", None)
        if decision is not None:
            for name, value in decision.headers().items():
                response.headers[name] = value
        return response
