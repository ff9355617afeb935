"""The credit-decision pyfunc, defined as code for ``mlflow.pyfunc.log_model(python_model=<this
file>)``."""

from mlflow.models import set_model

from credit_models.tracking.limit_pyfunc import CreditDecisionModel

set_model(CreditDecisionModel())
