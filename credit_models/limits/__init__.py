"""The credit-limit model and limit policy: capacity (how much a customer needs and can carry),
tiered and risk-based limits, periodic review, promotion limits, backtests and stress tests."""
