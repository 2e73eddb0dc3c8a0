"""Open Inference Protocol v2 routes for every served model."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from gazer.errors import InvalidInput, ModelNotReady
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.middleware import request_id
from gazer.serving.protocol import (
    InferenceRequest,
    InferenceResponse,
    ModelMetadata,
    ModelReady,
    ServerLive,
    ServerReady,
    TensorMetadata,
    decode_input,
    encode_output,
    tensor_metadata,
)
from gazer.serving.state import ServingState

router = APIRouter(prefix="/v2", tags=["inference (Open Inference Protocol v2)"])


def state_of(request: Request) -> ServingState:
    state: ServingState = request.app.state.gazer
    return state


@router.get("/health/live", response_model=ServerLive)
def live() -> ServerLive:
    """The process is up."""
    return ServerLive(live=True)


@router.get("/health/ready", response_model=ServerReady)
def ready(request: Request) -> ServerReady:
    """Every always-on endpoint has its champion loaded."""
    state = state_of(request)
    ok = all(e.champion.current is not None or e.config.serverless
             for e in state.endpoints.values())
    return ServerReady(ready=ok)


@router.get("/models/{name}", response_model=ModelMetadata,
            dependencies=[require("predict")], responses=errors(404))
def metadata(name: str, request: Request) -> ModelMetadata:
    """Versions loaded, input and output tensors, and the endpoint's state."""
    endpoint = state_of(request).endpoint(name)
    model = endpoint.champion.current
    inputs: list[TensorMetadata] = []
    if model is not None and model.example is not None:
        inputs.append(tensor_metadata("input-0", model.example))
    outputs = [tensor_metadata(n, v) for n, v in model.outputs_like.items()] if model else []
    versions = [str(s.current.version) for s in (endpoint.champion, endpoint.challenger)
                if s.current is not None]
    return ModelMetadata(
        name=name, versions=versions,
        platform=type(model.model).__module__.split(".")[0] if model else "unloaded",
        inputs=inputs,
        outputs=outputs,
        parameters={**endpoint.status(),
                    "swaps": [vars(s) for s in list(endpoint.swaps)[-10:]]},
    )


@router.get("/models/{name}/ready", response_model=ModelReady,
            dependencies=[require("predict")], responses=errors(404))
def model_ready(name: str, request: Request) -> ModelReady:
    """Whether the endpoint can answer now (a serverless one loads on demand)."""
    endpoint = state_of(request).endpoint(name)
    return ModelReady(name=name, ready=endpoint.champion.current is not None
                      or endpoint.config.serverless)


@router.post("/models/{name}/infer", response_model=InferenceResponse,
             dependencies=[require("predict")],
             responses=errors(404, 503))
async def infer(name: str, body: InferenceRequest, request: Request) -> InferenceResponse:
    """Predict. ``parameters.key`` (or header ``X-Request-Key``) keeps canary routing sticky."""
    # async: a batched request awaits its batch on the event loop; anything that may block
    # (a serverless load, an unbatched model call) goes to a worker thread as before
    state = state_of(request)
    endpoint = state.endpoint(name)
    if len(body.inputs) != 1:
        raise InvalidInput(f"model {name!r} takes exactly one input tensor; got {len(body.inputs)}")
    tensor = decode_input(body.inputs[0])
    if tensor.ndim == 1:
        tensor = tensor.reshape(1, -1)
    key = (body.parameters or {}).get("key") or request.headers.get("x-request-key")
    rid = body.id or request_id(request)
    if endpoint.champion.current is None and not endpoint.config.serverless:
        raise ModelNotReady(f"model {name!r} is not loaded yet; retry shortly")
    wanted = {o.name for o in body.outputs} if body.outputs else None
    sticky = str(key) if key else None
    if state.batches_now(name, tensor):
        answer = await state.predict_batched(name, tensor, rid, sticky, wanted)
    else:
        answer = await run_in_threadpool(state.predict, name, tensor, rid, sticky, wanted)
    outputs = [encode_output(k, v) for k, v in answer.outputs.items()]
    return InferenceResponse(model_name=name, model_version=str(answer.model.version),
                             id=rid, parameters={"role": answer.role}, outputs=outputs,
                             request_id=rid)
