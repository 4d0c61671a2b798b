"""Every error class of the three packages: importable by name, picklable, the right LangChain type.

The classes are found at run time -- every subclass of ``WorkersAIError`` once every module of
the three packages is imported -- so a class added later is checked without editing this file.
Workers, Ray, Celery and durable agents pickle exceptions to move them between processes; pickle
finds a class by module and name, so a class built at run time or one whose ``__init__`` cannot
be re-run from ``args`` breaks there, far from where it was raised.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import multiprocessing
import pickle
import pkgutil
import typing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import langchain_core.exceptions as lc
import pytest

import langchain_workers_ai
import langchain_workers_ai.errors as lcw
import llama_index_workers_ai
import workers_ai
import workers_ai.errors as core

PACKAGES = tuple(p.__name__ for p in (workers_ai, langchain_workers_ai, llama_index_workers_ai))


def _import_every_module() -> None:
    """Import every module of the three packages, so every error class is defined."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if module.name.rpartition(".")[2] != "__main__":  # a __main__ runs a program
                importlib.import_module(module.name)


def _error_classes() -> list[type[core.WorkersAIError]]:
    _import_every_module()
    found: list[type[core.WorkersAIError]] = []
    pending = [core.WorkersAIError]
    while pending:
        cls = pending.pop()
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    # Subclasses that tests or users define elsewhere are not ours to export.
    ours = [cls for cls in found if cls.__module__.partition(".")[0] in PACKAGES]
    return sorted(ours, key=lambda cls: (cls.__module__, cls.__qualname__))


ERROR_CLASSES = _error_classes()
LANGCHAIN_CLASSES = [c for c in ERROR_CLASSES if c.__module__.startswith("langchain_workers_ai")]
CORE_CLASSES = [c for c in ERROR_CLASSES if c.__module__.startswith("workers_ai")]


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# Values for parameters by name: the APIStatusError family gets every Cloudflare field.
SAMPLES: dict[str, Any] = {
    "message": "Workers AI is out of capacity",
    "status_code": 429,
    "code": 3040,
    "codes": (3040, 3021),
    "errors": [{"code": 3040, "message": "Capacity temporarily exceeded"}],
    "request_id": "req-0123",
    "hint": "Retry later, or use a less busy model.",
    "headers": {"retry-after": "3", "cf-ray": "8f00aa"},
    "body": {"success": False, "errors": [{"code": 3040, "message": "Capacity"}]},
    "owner": "ChatWorkersAI",
    "argument": "temprature",
    "suggestion": "temperature",
    "error_class": core.CapacityError,
}
_BY_TYPE: dict[Any, Any] = {str: "sample", int: 7, float: 1.5, bool: True}
_BY_ORIGIN: dict[Any, Any] = {tuple: (), list: [], dict: {}}


def _sample_for(cls: type, parameter: inspect.Parameter) -> Any:
    """A value for a required parameter that :data:`SAMPLES` does not name, from its type."""
    hint = typing.get_type_hints(cls.__init__).get(parameter.name, Any)
    for option in (hint, *typing.get_args(hint)):  # X, or the first fitting member of X | None
        if option in _BY_TYPE:
            return _BY_TYPE[option]
        if typing.get_origin(option) in _BY_ORIGIN:
            return _BY_ORIGIN[typing.get_origin(option)]
    pytest.fail(f"add a sample value for {parameter.name!r} ({hint}) of {_name(cls)}")


def _parameters(cls: type[core.WorkersAIError]) -> list[inspect.Parameter]:
    if not inspect.isfunction(cls.__init__):  # no __init__ in Python: Exception(*args)
        return [inspect.Parameter("message", inspect.Parameter.POSITIONAL_ONLY)]
    return list(inspect.signature(cls).parameters.values())


def build(cls: type[core.WorkersAIError], **overrides: Any) -> core.WorkersAIError:
    """An instance of ``cls`` with every parameter it takes that :data:`SAMPLES` names set."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in _parameters(cls):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name in overrides:
            value = overrides[parameter.name]
        elif parameter.name in SAMPLES:
            value = SAMPLES[parameter.name]
        elif parameter.default is parameter.empty:
            value = _sample_for(cls, parameter)
        else:
            continue
        if parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
        else:
            args.append(value)
    return cls(*args, **kwargs)


def assert_same_error(clone: BaseException, error: BaseException) -> None:
    assert type(clone) is type(error)
    assert clone.__dict__ == error.__dict__
    assert clone.args == error.args
    assert str(clone) == str(error)
    assert repr(clone) == repr(error)


def test_the_whole_tree_is_found() -> None:
    """Guards the discovery itself: a broken walk would check nothing."""
    expected = {core.WorkersAIError, core.APIStatusError, core.UnknownArgumentError}
    assert expected <= set(ERROR_CLASSES)
    assert {lcw.RateLimitError, lcw.ContextOverflowError} <= set(LANGCHAIN_CLASSES)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=_name)
def test_importable_by_name_from_its_package(cls: type[core.WorkersAIError]) -> None:
    package = importlib.import_module(cls.__module__.partition(".")[0])
    assert getattr(package, cls.__name__, None) is cls, f"export {cls.__name__} from {package}"
    assert cls.__name__ in package.__all__
    assert cls.__dict__.get("__doc__"), f"give {cls.__name__} a docstring"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=_name)
def test_survives_pickle_and_copy_with_its_attributes(cls: type[core.WorkersAIError]) -> None:
    error = build(cls)
    clones = [pickle.loads(pickle.dumps(error, protocol=protocol)) for protocol in range(6)]
    clones += [copy.copy(error), copy.deepcopy(error)]
    for clone in clones:
        assert_same_error(clone, error)
    given = {p.name: SAMPLES[p.name] for p in _parameters(cls) if p.name in SAMPLES}
    if issubclass(cls, core.APIStatusError):
        assert set(given) >= {"message", "status_code", "code", "codes", "errors", "request_id"}
        assert set(given) >= {"hint", "headers", "body"}
    for name, value in given.items():  # kept under the parameter's name, where it is kept
        if hasattr(error, name):
            assert getattr(clones[-1], name) == value, name


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=_name)
def test_survives_pickle_after_being_raised(cls: type[core.WorkersAIError]) -> None:
    with pytest.raises(cls) as info:
        raise build(cls) from ValueError("cause")
    clone = pickle.loads(pickle.dumps(info.value))
    assert_same_error(clone, info.value)


@pytest.mark.parametrize("cls", CORE_CLASSES, ids=_name)
def test_langchain_conversion_keeps_the_core_class(cls: type[core.WorkersAIError]) -> None:
    """A core class without a twin of its own must not be converted into its parent's twin."""
    error = build(cls)
    converted = lcw.to_langchain_error(error)
    assert isinstance(converted, cls)
    assert converted is error or isinstance(converted, lc.LangChainException)
    assert converted.__dict__ == error.__dict__
    assert str(converted) == str(error)
    assert_same_error(pickle.loads(pickle.dumps(converted)), converted)


@pytest.mark.parametrize("cls", LANGCHAIN_CLASSES, ids=_name)
def test_langchain_twin_is_both_types(cls: type[core.WorkersAIError]) -> None:
    core_cls = cls.__bases__[0]
    assert core_cls.__module__.startswith("workers_ai."), "a twin's first base is the core class"
    assert not issubclass(core_cls, lc.LangChainException)
    assert issubclass(cls, lc.LangChainException)
    langchain_types = {t for t in cls.__mro__ if t.__module__ == "langchain_core.exceptions"}
    leaves = {t for t in langchain_types if not any(o.__base__ is t for o in langchain_types)}
    assert len(leaves) == 1, f"{_name(cls)} is several LangChain types: {leaves}"
    if cls is lcw.ContextOverflowError:
        error = build(core_cls, message="Input exceeds the model's max context length")
    else:
        assert lcw.TWINS[core_cls] is cls, f"add {_name(cls)} to langchain_workers_ai.errors.TWINS"
        error = build(core_cls)
    assert type(lcw.to_langchain_error(error)) is cls


# Today's mapping, as langchain-core's own types (the table in langchain_workers_ai.errors).
LANGCHAIN_TYPES: list[tuple[type[core.APIError], type[lc.LangChainException]]] = [
    (core.APIStatusError, lc.ModelAPIError),
    (core.BadRequestError, lc.ModelInvalidRequestError),
    (core.LoRANotSupportedError, lc.ModelInvalidRequestError),
    (core.AuthenticationError, lc.ModelAuthenticationError),
    (core.PermissionDeniedError, lc.ModelPermissionDeniedError),
    (core.NotFoundError, lc.ModelNotFoundError),
    (core.ModelNotFoundError, lc.ModelNotFoundError),
    (core.AccountNotFoundError, lc.ModelInvalidRequestError),
    (core.RequestTimeoutError, lc.ModelTimeoutError),
    (core.ConflictError, lc.ModelAPIError),
    (core.PayloadTooLargeError, lc.ModelInvalidRequestError),
    (core.RateLimitError, lc.ModelRateLimitError),
    (core.CapacityError, lc.ModelRateLimitError),
    (core.QuotaExceededError, lc.ModelRateLimitError),
    (core.InternalServerError, lc.ModelAPIError),
    (core.APIConnectionError, lc.ModelConnectionError),
    (core.APITimeoutError, lc.ModelTimeoutError),
    (core.StreamError, lc.ModelAPIError),
    (core.APIResponseValidationError, lc.ModelAPIError),
]


@pytest.mark.parametrize(
    ("core_cls", "langchain_type"), LANGCHAIN_TYPES, ids=[c.__name__ for c, _ in LANGCHAIN_TYPES]
)
def test_each_core_error_becomes_its_langchain_type(
    core_cls: type[core.APIError], langchain_type: type[lc.LangChainException]
) -> None:
    converted = lcw.to_langchain_error(build(core_cls))
    assert isinstance(converted, langchain_type)
    assert isinstance(converted, core_cls)
    others = {t for _, t in LANGCHAIN_TYPES} | {lc.ContextOverflowError}
    assert not [t for t in others - {langchain_type} if isinstance(converted, t)]


def test_context_overflow_is_a_bad_request_and_langchains_context_overflow() -> None:
    error = build(core.BadRequestError, message="Input exceeds the model's context window")
    converted = lcw.to_langchain_error(error)
    assert type(converted) is lcw.ContextOverflowError
    assert isinstance(converted, core.BadRequestError)
    assert isinstance(converted, lc.ContextOverflowError)
    assert not isinstance(converted, lc.ModelInvalidRequestError)


def test_quota_exhaustion_is_not_retryable_for_langchain() -> None:
    """The allocation resets at 00:00 UTC: LangChain's retry middleware must not retry it."""
    assert lcw.QuotaExceededError.is_retryable is False
    assert lcw.CapacityError.is_retryable is True


def test_langchain_errors_reraises_the_twin_with_cause_and_traceback() -> None:
    cause = OSError("socket closed")
    with pytest.raises(lc.ModelRateLimitError) as info, lcw.langchain_errors():
        raise build(core.CapacityError) from cause
    assert type(info.value) is lcw.CapacityError
    assert isinstance(info.value, workers_ai.CapacityError)
    assert info.value.__cause__ is cause
    assert info.value.code == 3040
    assert (
        info.traceback[-1].name
        == "test_langchain_errors_reraises_the_twin_with_cause_and_traceback"
    )


def test_errors_without_a_twin_pass_through_langchain_errors() -> None:
    error = build(core.UnknownArgumentError)
    with pytest.raises(core.UnknownArgumentError) as info, lcw.langchain_errors():
        raise error
    assert info.value is error


def test_unknown_argument_error() -> None:
    error = core.UnknownArgumentError("ChatWorkersAI", "temprature", "temperature")
    assert str(error) == (
        "ChatWorkersAI got an unexpected keyword argument 'temprature'; did you mean 'temperature'?"
    )
    assert isinstance(error, TypeError)
    assert isinstance(error, workers_ai.ConfigurationError)
    assert (error.owner, error.argument, error.suggestion) == (
        "ChatWorkersAI",
        "temprature",
        "temperature",
    )
    plain = core.UnknownArgumentError("WorkersAIEmbeddings", "xyz")
    assert str(plain) == "WorkersAIEmbeddings got an unexpected keyword argument 'xyz'"
    assert plain.suggestion is None


class _PickledBy010:
    """Pickles an APIStatusError the way 0.1.0 did: ``_rebuild_status_error(cls, state)``."""

    def __init__(self, error: core.APIStatusError) -> None:
        self.error = error

    def __reduce__(self) -> tuple[Any, ...]:
        return (core._rebuild_status_error, (type(self.error), self.error.__dict__.copy()))


def test_status_errors_pickled_by_0_1_0_still_load() -> None:
    error = build(core.RateLimitError)
    assert isinstance(error, core.APIStatusError)
    assert_same_error(pickle.loads(pickle.dumps(_PickledBy010(error))), error)


_RAISE_IN_CHILD = """
import workers_ai
from langchain_workers_ai.errors import langchain_errors

with langchain_errors():
    raise workers_ai.QuotaExceededError(
        "Daily free allocation used up",
        status_code=429,
        code=3036,
        request_id="req-child",
        hint="Upgrade to Workers Paid.",
        headers={"cf-ray": "8f00aa"},
        body={"success": False},
    )
"""


def test_a_langchain_error_crosses_a_process_boundary() -> None:
    """Raised in a spawned worker, caught by class in the parent, attributes intact."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(exec, _RAISE_IN_CHILD)  # exec: the child need not import this file
        with pytest.raises(lc.ModelRateLimitError) as info:
            future.result(timeout=60)
    error = info.value
    assert type(error) is langchain_workers_ai.QuotaExceededError
    assert isinstance(error, workers_ai.QuotaExceededError)
    assert (error.status_code, error.code, error.request_id) == (429, 3036, "req-child")
    assert error.headers == {"cf-ray": "8f00aa"}
    assert error.body == {"success": False}
    assert str(error) == (
        "Daily free allocation used up (HTTP 429, code 3036) Hint: Upgrade to Workers Paid. "
        "[request id: req-child] The daily allocation resets at "
        f"{error.resets_at:%Y-%m-%d} 00:00 UTC."
    )
