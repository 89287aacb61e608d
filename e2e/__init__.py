"""Browser end-to-end tests."""
