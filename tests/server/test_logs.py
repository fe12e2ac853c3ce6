"""Logs a deployment collects: one JSON object per line with the worker's and the hearing's
ids, and never a resident ID number or a link token, whoever logged them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from server.logs import ContextFilter, JsonFormatter, TextFormatter, bind


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter("w2"))
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_json_lines_carry_worker_and_hearing_ids_and_no_personal_data(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    with bind(hearing=42, participant=7):
        logger.info("declared %s at /join/%s", "620602199001011235", "A" * 32)
    logger.info("no context here")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["worker"] == "w2" and first["hearing"] == 42 and first["participant"] == 7
    assert first["msg"] == "declared 620602********1235 at /join/***"
    assert "hearing" not in second and second["level"] == "INFO"


def test_text_lines_show_the_bound_ids(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(TextFormatter())
    with bind(hearing=5):
        logger.warning("worker lost")
    assert stream.getvalue().rstrip().endswith("worker lost [hearing=5]")
