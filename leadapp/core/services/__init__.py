"""The domain services: plain functions over a session and ids."""
