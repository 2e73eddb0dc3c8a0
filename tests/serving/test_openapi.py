"""Schemathesis fuzzes every documented route from /openapi.json: no input gives a 5xx."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from tests.serving.factory import live_server, registry_with, settings_for


def test_no_generated_input_makes_the_server_fail(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, admin_api_key="admin-key-0123456789"),
                     registry=registry_with(2), endpoints=[EndpointSettings(name="m")])
    with live_server(app) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        failures: list[str] = []
        statuses: list[int] = []
        modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
        for operation, mode in [(op, mode) for op in operations for mode in modes]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None)
            def check(case: schemathesis.Case) -> None:
                response = case.call(base_url=base)
                statuses.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path}: "
                                    f"{response.status_code} {response.text[:200]}")

            try:
                check()
            except Unsatisfiable:  # a route with no inputs has no invalid ones to send
                assert mode == schemathesis.GenerationMode.NEGATIVE
        assert failures == []
        assert len(statuses) >= 100
        assert {200, 422} <= set(statuses)  # both valid and rejected inputs were tried
