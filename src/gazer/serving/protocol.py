"""Open Inference Protocol v2 (REST) request and response models.

Typed with pydantic so ``/docs`` documents every field; ``decode_input`` checks that the
data matches the declared shape and datatype and says what was expected when not.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gazer.errors import InvalidInput

Datatype = Literal["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32",
                   "INT64", "FP16", "FP32", "FP64", "BYTES"]
_NUMPY = {"BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
          "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
          "INT64": np.int64, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
          "BYTES": np.object_}


def _integral(value: Any) -> Any:
    """``3.0`` is an integer in JSON (Schema); strict models would refuse it."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer in a strict request body: refuses "3", true and 3.5, accepts 3 and 3.0.
JsonInt = Annotated[int, BeforeValidator(_integral)]


# a registry version: MLflow keeps it in a 32-bit INTEGER column (on PostgreSQL too), so a
# larger number is refused here (422), not by the database (502)
MAX_VERSION = 2**31 - 1


def json_int(ge: int, le: int) -> Any:
    """``JsonInt`` within bounds, the bounds stated in the schema (``minimum``/``maximum``)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_integral)]


class RequestInput(BaseModel):
    """One input tensor: its name, shape, datatype and row-major flattened data."""

    model_config = ConfigDict(strict=True)

    name: str = Field(examples=["input-0"])
    shape: list[JsonInt] = Field(examples=[[1, 30]], min_length=1, max_length=8)
    datatype: Datatype = Field(examples=["FP64"])
    parameters: dict[str, Any] | None = None
    data: list[Any] = Field(examples=[[0.0] * 30])


class RequestOutput(BaseModel):
    name: str


class InferenceRequest(BaseModel):
    """``POST /v2/models/{name}/infer`` body."""

    model_config = ConfigDict(strict=True)

    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = None


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: Datatype
    data: list[Any]


class InferenceResponse(BaseModel):
    """The answer: outputs plus the model version that produced them."""

    model_name: str
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[ResponseOutput]
    request_id: str | None = Field(default=None, description=(
        "The id the prediction log keeps this answer under (the request's id, else the "
        "x-request-id header): give feedback on it with POST /v2/feedback"))


class TensorMetadata(BaseModel):
    """One tensor of a model's signature; ``-1`` in ``shape`` is a free dimension."""

    name: str
    datatype: Datatype
    shape: list[int]


class ModelMetadata(BaseModel):
    """``GET /v2/models/{name}``: versions, platform, inputs, and the endpoint's state."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: dict[str, Any] = {}


class ServerLive(BaseModel):
    live: bool


class ServerReady(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


def decode_input(tensor: RequestInput) -> np.ndarray:
    """The tensor as a numpy array of its declared shape and type."""
    if any(d < 0 for d in tensor.shape):
        raise InvalidInput(f"input {tensor.name!r}: shape must be non-negative; got {tensor.shape}")
    expected = math.prod(tensor.shape)
    flat = _flatten(tensor.data)
    if len(flat) != expected:
        raise InvalidInput(
            f"input {tensor.name!r}: shape {tensor.shape} needs {expected} values; "
            f"got {len(flat)}"
        )
    try:
        array: np.ndarray = np.asarray(flat, dtype=_NUMPY[tensor.datatype])
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"input {tensor.name!r}: data must be {tensor.datatype} values; {exc}"
        ) from exc
    if tensor.datatype != "BYTES" and not all(
        isinstance(v, int | float | bool) for v in flat[:1000]
    ):
        raise InvalidInput(f"input {tensor.name!r}: data must be numbers for {tensor.datatype}")
    return array.reshape(tensor.shape)


def _flatten(data: list[Any]) -> list[Any]:
    if data and isinstance(data[0], list):
        return [v for row in data for v in _flatten(row)]
    return data


def datatype_of(values: Any) -> Datatype:
    """The one OIP datatype gazer answers with for an array like ``values``."""
    kind = np.asarray(values).dtype.kind
    if kind == "b":
        return "BOOL"
    if kind in "iu":
        return "INT64"
    if kind == "f":
        return "FP64"
    return "BYTES"


def tensor_metadata(name: str, values: Any) -> TensorMetadata:
    """Metadata for a tensor like ``values``: its datatype, and its shape with a free batch."""
    array = np.asarray(values)
    return TensorMetadata(name=name, datatype=datatype_of(array),
                          shape=[-1, *list(array.shape[1:])])


def encode_output(name: str, values: np.ndarray) -> ResponseOutput:
    array = np.asarray(values)
    datatype = datatype_of(array)
    cast = {"INT64": np.int64, "FP64": np.float64, "BYTES": str}.get(datatype)
    if cast is not None:
        array = array.astype(cast)
    return ResponseOutput(name=name, shape=list(array.shape), datatype=datatype,
                          data=array.reshape(-1).tolist())
