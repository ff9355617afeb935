"""credit_models: point-in-time features, PD and credit-limit models, explanations and an MLflow
registry for consumer credit lines."""

__version__ = "0.1.0"
