"""Jobs the ops tests run: one that fails until a Redis flag is set, then succeeds."""
from caas.core import jobs

FLAG = "caas-test:flaky-may-pass"


def flaky(label: str = "") -> str:
    if not jobs.connection().exists(FLAG):
        raise RuntimeError(f"flaky job {label} is not allowed to pass yet")
    return f"passed {label}"


def allow() -> None:
    jobs.connection().set(FLAG, "1")
