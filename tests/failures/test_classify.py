"""Every failure kind, raised for real, classified without importing any framework."""

from __future__ import annotations

import errno

import pytest

import sigopt_ai as sigopt
from sigopt_ai._failures import (
    MAX_MESSAGE_LENGTH,
    MAX_TRACEBACK_LENGTH,
    FailureInfo,
    FailureKind,
    FailureRegistry,
    classify,
    register_failure_classifier,
    register_failure_type,
)

K = sigopt.FailureKind


def framework_error(module: str, name: str, base: type[BaseException] = RuntimeError) -> type[BaseException]:
    """An exception class with a framework's module and class name (the frameworks are not installed)."""
    return type(name, (base,), {"__module__": module})


def raised(exc: BaseException) -> BaseException:
    """``exc`` after a real raise, with its traceback."""
    try:
        raise exc
    except BaseException as caught:
        return caught


def huge_allocation() -> BaseException:
    try:
        bytearray(1 << 55)  # 32 PiB: the allocator refuses at once
    except MemoryError as exc:
        return exc
    raise AssertionError("the allocation succeeded")


CASES = [
    ("real MemoryError from an allocation", huge_allocation, K.OOM),
    (
        "torch.cuda.OutOfMemoryError",
        lambda: framework_error("torch.cuda", "OutOfMemoryError")("CUDA oom"),
        K.OOM,
    ),
    (
        "CUDA out of memory RuntimeError",
        lambda: RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        K.OOM,
    ),
    (
        "TensorFlow ResourceExhaustedError",
        lambda: framework_error("tensorflow.python.framework.errors_impl", "ResourceExhaustedError", Exception)("OOM"),
        K.OOM,
    ),
    (
        "JAX RESOURCE_EXHAUSTED",
        lambda: framework_error("jaxlib.xla_extension", "XlaRuntimeError")("RESOURCE_EXHAUSTED: Out of memory"),
        K.OOM,
    ),
    ("std::bad_alloc", lambda: RuntimeError("std::bad_alloc"), K.OOM),
    (
        "XGBoostError (a ValueError) failing to allocate",
        lambda: framework_error("xgboost.core", "XGBoostError", ValueError)("bad_malloc: Failed to allocate 8 GB"),
        K.OOM,
    ),
    (
        "LightGBMError std::bad_alloc",
        lambda: framework_error("lightgbm.basic", "LightGBMError", Exception)("std::bad_alloc"),
        K.OOM,
    ),
    (
        "XGBoostError refusing a parameter",
        lambda: framework_error("xgboost.core", "XGBoostError", ValueError)("value 2 for Parameter subsample"),
        K.INVALID_ASSIGNMENT,
    ),
    (
        "torch anomaly detection NaN",
        lambda: RuntimeError("Function 'MseLossBackward0' returned nan values in its 0th output."),
        K.DIVERGED,
    ),
    ("OSError ENOMEM", lambda: OSError(errno.ENOMEM, "Cannot allocate memory"), K.OOM),
    ("InvalidAssignment", lambda: sigopt.InvalidAssignment("batch too big"), K.INVALID_ASSIGNMENT),
    ("ValueError", lambda: ValueError("bad"), K.INVALID_ASSIGNMENT),
    (
        "ZeroDivisionError (ArithmeticError)",
        lambda: ZeroDivisionError("division by zero"),
        K.INVALID_ASSIGNMENT,
    ),
    ("OverflowError (ArithmeticError)", lambda: OverflowError("math range error"), K.INVALID_ASSIGNMENT),
    ("FloatingPointError", lambda: FloatingPointError("overflow encountered"), K.DIVERGED),
    ("sigopt.Diverged", lambda: sigopt.Diverged("loss is nan"), K.DIVERGED),
    ("KeyboardInterrupt", lambda: KeyboardInterrupt(), K.INTERRUPTED),
    ("Terminated (SIGTERM)", lambda: sigopt.Terminated("SIGTERM"), K.INTERRUPTED),
    ("ConnectionError", lambda: ConnectionResetError("reset by peer"), K.INFRASTRUCTURE),
    ("TimeoutError", lambda: TimeoutError("timed out"), K.INFRASTRUCTURE),
    ("BrokenPipeError", lambda: BrokenPipeError(errno.EPIPE, "Broken pipe"), K.INFRASTRUCTURE),
    ("disk full", lambda: OSError(errno.ENOSPC, "No space left on device"), K.INFRASTRUCTURE),
    (
        "requests ConnectionError by name",
        lambda: framework_error("requests.exceptions", "ConnectionError", OSError)("refused"),
        K.INFRASTRUCTURE,
    ),
    (
        "NCCL error by name",
        lambda: framework_error("torch.distributed", "DistBackendError")("NCCL"),
        K.INFRASTRUCTURE,
    ),
    ("TypeError (a bug)", lambda: TypeError("unsupported operand"), K.ERROR),
    ("NameError (a bug)", lambda: NameError("name 'x' is not defined"), K.ERROR),
    ("KeyError (a bug)", lambda: KeyError("lr"), K.ERROR),
    ("plain RuntimeError", lambda: RuntimeError("something else"), K.ERROR),
]


@pytest.mark.parametrize(("label", "make", "kind"), CASES, ids=[c[0] for c in CASES])
def test_builtin_rules(label: str, make, kind: sigopt.FailureKind) -> None:  # type: ignore[no-untyped-def]
    exc = raised(make())
    assert classify(exc, registry=FailureRegistry()) is kind


def chained(outer: BaseException, inner: BaseException, *, cause: bool) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            if cause:
                raise outer from exc
            raise outer  # noqa: B904 - an implicit __context__ is what is tested
    except BaseException as final:
        return final


@pytest.mark.parametrize("cause", [True, False])
def test_chain_is_searched_and_the_most_specific_kind_wins(cause: bool) -> None:
    oom = framework_error("torch.cuda", "OutOfMemoryError")("CUDA out of memory")
    wrapped = chained(ValueError("training step failed"), oom, cause=cause)
    assert classify(wrapped, registry=FailureRegistry()) is K.OOM
    bug = chained(TypeError("wrapper bug"), TimeoutError("read timed out"), cause=cause)
    assert classify(bug, registry=FailureRegistry()) is K.INFRASTRUCTURE


def test_cyclic_chain_terminates() -> None:
    a, b = ValueError("a"), TypeError("b")
    a.__context__, b.__context__ = b, a
    assert classify(a, registry=FailureRegistry()) is K.INVALID_ASSIGNMENT


def test_user_types_and_classifiers_win() -> None:
    registry = FailureRegistry()

    class ShardTooLarge(Exception):
        pass

    register_failure_type(ShardTooLarge, "oom", registry=registry)
    register_failure_classifier(lambda e: "infrastructure" if "preempted" in str(e) else None, registry=registry)
    assert classify(ShardTooLarge(), registry=registry) is K.OOM
    assert classify(RuntimeError("node preempted"), registry=registry) is K.INFRASTRUCTURE
    assert classify(ValueError("x"), registry=registry) is K.INVALID_ASSIGNMENT


def test_registration_errors_name_the_rule() -> None:
    registry = FailureRegistry()
    with pytest.raises(sigopt.ValidationError, match="'boom' \\(kind\\) is not a valid failure kind"):
        register_failure_type(ValueError, "boom", registry=registry)
    with pytest.raises(sigopt.ValidationError, match="exc_type must be an exception class"):
        register_failure_type(int, "oom", registry=registry)  # type: ignore[arg-type]
    register_failure_classifier(lambda e: "nonsense", registry=registry)
    with pytest.raises(sigopt.ValidationError, match="the classifier's answer"):
        classify(ValueError(), registry=registry)


def test_public_registration_affects_runs() -> None:
    class Preempted(Exception):
        pass

    from sigopt_ai._failures import default_registry

    sigopt.register_failure_type(Preempted, sigopt.FailureKind.INFRASTRUCTURE)
    try:
        with pytest.raises(Preempted), sigopt.run() as run:
            raise Preempted("spot instance reclaimed")
    finally:
        default_registry.types.pop()
    failure = sigopt.get_run(run.id).failure
    assert failure is not None and failure.kind is K.INFRASTRUCTURE and failure.retryable


@pytest.mark.parametrize(
    ("kind", "assignment", "retryable"),
    [
        (K.OOM, True, False),
        (K.INVALID_ASSIGNMENT, True, False),
        (K.DIVERGED, True, False),
        (K.REPORTED, True, False),
        (K.INTERRUPTED, False, True),
        (K.INFRASTRUCTURE, False, True),
        (K.ERROR, False, False),
    ],
)
def test_kind_effects(kind: sigopt.FailureKind, assignment: bool, retryable: bool) -> None:
    assert kind.is_assignment_failure is assignment
    assert kind.retryable is retryable


def test_every_kind_is_recorded_by_a_real_run() -> None:
    for _label, make, kind in CASES:
        exc = make()
        with pytest.raises(type(exc)), sigopt.run() as run:
            raise exc
        failure = sigopt.get_run(run.id).failure
        assert failure is not None and failure.kind is kind, _label
        assert failure.message == str(exc)


def test_sys_exit_zero_is_a_clean_end() -> None:
    with pytest.raises(SystemExit), sigopt.run() as run:
        raise SystemExit(0)
    assert sigopt.get_run(run.id).state is sigopt.RunState.COMPLETED
    with pytest.raises(SystemExit), sigopt.run() as run:
        raise SystemExit(3)
    assert sigopt.get_run(run.id).failure.kind is K.ERROR  # type: ignore[union-attr]


def test_a_cut_failure_text_is_cut_once_and_rebuilds_equal() -> None:
    long = FailureInfo(FailureKind.ERROR, message="m" * 9_000, traceback="t" * 50_000)
    assert len(long.message) <= MAX_MESSAGE_LENGTH and long.traceback is not None
    assert len(long.traceback) <= MAX_TRACEBACK_LENGTH
    assert FailureInfo.from_json(long.to_json()) == long  # as a failure crosses the wire or the store
