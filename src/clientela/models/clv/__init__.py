"""Lifetime value of non-contractual customers: BG/NBD, Pareto/NBD and Gamma-Gamma.

The estimators follow scikit-learn's contract (``__init__`` stores parameters, ``fit`` returns
the estimator, learned attributes end in ``_``, predictions before ``fit`` raise
:class:`~clientela.errors.NotFittedError`) and take plain arrays: repeat purchases ``x``, the
time of the last one ``t_x`` and the time observed ``T``.  :func:`clv_summary` computes those
from the datamart's transactions as an Ibis expression.  See ``docs/clv.md``.
"""

from clientela.models.clv._bgnbd import BGNBDModel, bgnbd_log_likelihood
from clientela.models.clv._gamma_gamma import GammaGammaModel, gamma_gamma_log_likelihood
from clientela.models.clv._pareto_nbd import ParetoNBDModel, pareto_nbd_log_likelihood
from clientela.models.clv._summary import CLV_SUMMARY_COLUMNS, clv_summary
from clientela.models.clv._value import (
    PurchaseModel,
    discounted_purchases,
    lifetime_value,
    period_rate,
)

__all__ = [
    "CLV_SUMMARY_COLUMNS",
    "BGNBDModel",
    "GammaGammaModel",
    "ParetoNBDModel",
    "PurchaseModel",
    "bgnbd_log_likelihood",
    "clv_summary",
    "discounted_purchases",
    "gamma_gamma_log_likelihood",
    "lifetime_value",
    "pareto_nbd_log_likelihood",
    "period_rate",
]
