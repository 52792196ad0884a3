"""Python SDK of the CaaS client API (/api/v1): ``CaaS`` (the client), typed models and errors,
and ``webhooks.verify`` for ``CaaS-Signature``. The ``caas`` command and the MCP server
(``caas mcp serve``, extra ``caas-sdk[mcp]``) are built on it."""
from caas_sdk import models, webhooks
from caas_sdk.client import CaaS, __version__, new_idempotency_key
from caas_sdk.errors import (APIConnectionError, APIError, AuthenticationError, CaasError, ConflictError,
                             NotFoundError, PermissionDeniedError, RateLimitError, ServerError, ValidationError)
from caas_sdk.retry import RetryPolicy
from caas_sdk.webhooks import WebhookVerificationError

__all__ = ["CaaS", "RetryPolicy", "models", "webhooks", "new_idempotency_key", "__version__",
           "CaasError", "APIConnectionError", "APIError", "AuthenticationError", "PermissionDeniedError",
           "NotFoundError", "ConflictError", "ValidationError", "RateLimitError", "ServerError",
           "WebhookVerificationError"]
