import json

import worker


def call(method, payload=None):
    return json.loads(worker.dispatch(method, json.dumps(payload or {})))


def test_unknown_method_is_a_structured_validation_error():
    out = call("no.such.method")
    assert out["ok"] is False
    assert out["error"]["kind"] == "validation"
    assert "unknown worker method" in out["error"]["message"]


def test_calls_before_boot_are_refused():
    out = call("info")
    assert out["ok"] is False and "not been booted" in out["error"]["message"]


def test_a_python_exception_comes_back_with_type_message_and_traceback(monkeypatch):
    monkeypatch.setattr(worker.STATE, "_shm", _NoopShm())  # pretend booted; debug.raise needs nothing
    monkeypatch.setattr(worker.STATE, "test_handlers", True)
    out = call("debug.raise", {"message": "boom"})
    assert out["ok"] is False
    err = out["error"]
    assert (err["kind"], err["type"], err["message"]) == ("python", "ZeroDivisionError", "boom")
    assert "Traceback" in err["traceback"] and "debug_raise" in err["traceback"]


def test_bad_json_payload_is_reported_not_raised():
    out = json.loads(worker.dispatch("ping", "{not json"))
    assert out["ok"] is False and out["error"]["type"] == "JSONDecodeError"


class _NoopShm:
    def release(self, refs):
        pass

    def end_call(self):
        pass


def test_test_handlers_are_absent_unless_boot_asked_for_them(monkeypatch):
    monkeypatch.setattr(worker.STATE, "_shm", _NoopShm())
    monkeypatch.setattr(worker.STATE, "test_handlers", False)
    for method in worker.TEST_HANDLERS:
        out = call(method, {"message": "boom", "seconds": 0, "steps": 1, "stepSeconds": 0, "failAt": None})
        assert out["ok"] is False and "unknown worker method" in out["error"]["message"], method
    assert not set(worker.TEST_HANDLERS) & set(worker.HANDLERS)
    assert all(method.startswith("debug.") for method in worker.TEST_HANDLERS)


def test_every_handler_resolves_to_a_function(monkeypatch):
    monkeypatch.setattr(worker.STATE, "test_handlers", True)
    for method in [*worker.HANDLERS, *worker.TEST_HANDLERS]:
        assert callable(worker.resolve(method)), method


def test_non_finite_numbers_reach_javascript_as_null() -> None:
    """JSON has no NaN or Infinity: a value that holds one still parses in JavaScript (as null)."""
    from worker import to_json

    text = to_json({"loss": float("nan"), "values": [1.0, float("inf"), (float("-inf"),)], "ok": True})
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"loss": None, "values": [1.0, None, [None]], "ok": True}
