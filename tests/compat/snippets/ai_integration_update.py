# Source: sigopt/sigopt-python integration_test/test_experiment.py, TestExperiment.test_update
#   (https://github.com/sigopt/sigopt-python/blob/main/integration_test/test_experiment.py), as a script.
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; the pytest class and method are unwrapped into
#   a script (the asserts are kept). Reformatted to 4-space indents.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sigopt_ai as sigopt

parameters = [
    {"name": "max_depth", "type": "int", "bounds": {"min": 2, "max": 5}},
    {"name": "num_boost_round", "type": "int", "bounds": {"min": 2, "max": 5}},
]
config = {
    "name": "experiment-integration-test",
    "type": "offline",
    "parameters": parameters,
    "metrics": [{"name": "f1", "strategy": "optimize", "objective": "maximize"}],
    "parallel_bandwidth": 1,
    "budget": 3,
}
experiment = sigopt.create_aiexperiment(**config)
parameters = experiment.parameters
parameters[0].bounds.max = 100
parameters[1].bounds.min = 1
new_config = {
    "name": "experiment-integration-test-1",
    "parameters": parameters,
    "parallel_bandwidth": 2,
    "budget": 4,
}
experiment.update(**new_config)
updated_experiment = sigopt.get_aiexperiment(experiment.id)
assert updated_experiment.name == "experiment-integration-test-1"
assert updated_experiment.budget == 4
assert updated_experiment.parallel_bandwidth == 2
assert updated_experiment.parameters[0].bounds.min == 2
assert updated_experiment.parameters[0].bounds.max == 100
assert updated_experiment.parameters[1].bounds.min == 1
assert updated_experiment.parameters[1].bounds.max == 5
print("updated", experiment.id)
