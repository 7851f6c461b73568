"""Test harness shared by every app's tests, loaded as pytest plugins from
tests/conftest.py: import helpers and types from here, and ask for the fixtures by
name. Nothing here knows an app's models."""
