"""Framework integrations: callbacks and loggers that record training into a sigopt_ai run.

Import the one for your framework; each imports its framework only then, and says which extra
installs it when it is missing::

    from sigopt_ai.integrations.xgboost import SigOptCallback      # pip install "sigopt-ai[xgboost]"
    from sigopt_ai.integrations.lightgbm import SigOptCallback     # pip install "sigopt-ai[lightgbm]"
    from sigopt_ai.integrations.lightning import SigOptLogger      # pip install "sigopt-ai[lightning]"
    from sigopt_ai.integrations.keras import SigOptCallback        # pip install "sigopt-ai[keras]"
    from sigopt_ai.integrations.transformers import SigOptCallback  # pip install "sigopt-ai[transformers]"
    from sigopt_ai.integrations.sklearn import SigOptSearchCV      # pip install "sigopt-ai[sklearn]"
    from sigopt_ai.integrations.ray import SigOptSearch            # pip install "sigopt-ai[ray]"

Every integration behaves the same way (:class:`~sigopt_ai.integrations._run.IntegrationRun`): it
records into the run given as ``run=``, else the current run (an experiment loop's, say), else a
run it starts and ends itself; and a failure is classified as it would be leaving ``with run:``.
"""
