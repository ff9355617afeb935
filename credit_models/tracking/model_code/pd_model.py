"""The PD pyfunc, defined as code for ``mlflow.pyfunc.log_model(python_model=<this file>)``."""

from mlflow.models import set_model

from credit_models.tracking.pd_pyfunc import ProbabilityOfDefaultModel

set_model(ProbabilityOfDefaultModel())
