# Source: sigopt/sigopt-python examples/parallel.py (https://github.com/sigopt/sigopt-python/blob/main/examples/parallel.py).
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; `sigopt start-worker` -> `sigopt-ai start-worker`;
#   run_command_on_machine (log into a machine, `raise NotImplementedError` in the example) is a stand-in
#   that starts the command as a local process per "machine" and main waits for them. The test passes
#   --budget 2 --parallel_bandwidth 2 and a stand-in --client_token. run-model.py is the user's model
#   (the example names it but does not show it): a stand-in. Reformatted to 4-space indents.
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import argparse
import shlex
import subprocess

import sigopt_ai as sigopt

machines = []


def run_command_on_machine(machine_number, command):
    # log into machine
    # execute command
    machines.append(subprocess.Popen(shlex.split(command)))  # stand-in: a local process per machine


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument(
        "--parallel_bandwidth",
        type=int,
        default=3,
        help="Number of machines you are running learning on",
    )
    parser.add_argument(
        "--client_token",
        required=True,
        help="Find your CLIENT_TOKEN at https://sigopt.com/tokens",
    )
    the_args = parser.parse_args()

    # Descriptor of what kind of dataset you are modeling
    sigopt.log_dataset("Example dataset")
    # Useful for keeping track of where you got the data
    sigopt.log_metadata(key="Dataset Source", value="Example Source")
    # e.g. Sklern, xgboost, etc.
    sigopt.log_metadata(key="Feature Pipeline Name", value="Example Pipeline")
    # What kind of learning you are attemping
    sigopt.log_model("Example Model Technique")
    # Create an experiment with one paramter, x
    experiment = sigopt.create_experiment(
        name="Basic Test experiment",
        type="offline",
        parameters=[{"name": "x", "bounds": {"max": 50.0, "min": 0.0}, "type": "double"}],
        metrics=[{"name": "holdout_accuracy", "objective": "maximize"}],
        parallel_bandwidth=the_args.parallel_bandwidth,
        budget=the_args.budget,
    )
    print("Created experiment id {0}".format(experiment.id))

    # In a loop: on each machine, start off a learning process, then each reports separately
    # to Sigopt the results
    for machine_number in range(experiment.parallel_bandwidth):
        run_command_on_machine(
            machine_number,
            f"sigopt-ai start-worker {experiment.id} python run-model.py",
        )
    for machine in machines:  # stand-in: wait for the machines
        machine.wait()

    best_runs = experiment.get_best_runs()
    print(best_runs)
