"""Render: chunks → takes, through the take cache, the engine, guards and seeded retries."""
