"""Adapters for outside services, one module each, each with its local stand-in (llm, email, sms, ...)."""
