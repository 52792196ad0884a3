"""The deployment files cannot be started here, so they are checked against the app they run:
Procfile, Dockerfile, docker-compose.yml and every deploy/k8s/*.yaml parse; every ``flask …``
command they run exists in the app's CLI with those options (queue names too); gunicorn's app
path imports and its config holds only real gunicorn settings; probe paths are routes; HPAs
target Deployments that request CPU; every environment variable is one the code reads; exactly
one process runs the periodic-job scheduler."""
from __future__ import annotations

import ast
import importlib
import re
import runpy
import shlex
from pathlib import Path

import click
import pytest
import yaml
from sqlalchemy import text
from flask.cli import ScriptInfo

ROOT = Path(__file__).resolve().parents[2]
K8S = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def env_names_read(path: Path) -> set[str]:
    """Names a module reads from the environment: ``os.environ.get("X")``, ``env.get("X")``,
    ``os.environ["X"]``, ``_bool("X", …)``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "get") or (
                    isinstance(func, ast.Name) and func.id == "_bool"):
                names.add(node.args[0].value)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and ast.unparse(node.value) == "os.environ":
            names.add(node.slice.value)
    return {n for n in names if isinstance(n, str) and ENV_NAME.match(n)}


ALLOWED_ENV = env_names_read(ROOT / "config.py") | env_names_read(GUNICORN_CONF) | {"FLASK_APP"}


def check_env(names, where: str) -> None:
    unknown = sorted(set(names) - ALLOWED_ENV)
    assert not unknown, f"{where}: environment variables nothing reads: {unknown}"


def test_the_env_scan_sees_what_config_reads():
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DB_APP_ROLE", "DB_APP_PASSWORD", "APP_DATABASE_URL",
            "DB_POOL_SIZE", "DB_MAX_OVERFLOW", "SESSION_COOKIE_SECURE", "TRUSTED_PROXY_HOPS", "WEB_CONCURRENCY",
            "GUNICORN_THREADS", "PORT"} <= ALLOWED_ENV
    assert "NOT_A_SETTING" not in ALLOWED_ENV


# --- commands ---------------------------------------------------------------------------------

def flask_command(app, argv: list[str]) -> click.Context:
    """Resolve ``flask a b --opt x`` in the app's CLI and parse its options (without running it)."""
    info = ScriptInfo(create_app=lambda: app)
    ctx = click.Context(app.cli, info_name="flask", obj=info)
    command, args = app.cli, list(argv)
    while isinstance(command, click.Group):
        assert args, f"flask {' '.join(argv)}: names a group, not a command"
        name = args.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"flask {' '.join(argv)}: no command {name!r}"
        if isinstance(sub, click.Group):
            ctx = click.Context(sub, info_name=name, parent=ctx, obj=info)
        command = sub
    try:
        return command.make_context(name, args, parent=ctx, obj=info)
    except click.UsageError as exc:
        pytest.fail(f"flask {' '.join(argv)}: {exc.format_message()}")


def check_command(app, argv: list[str], where: str) -> dict:
    """A process's command: a flask command the app has, or gunicorn with our config and app path."""
    from caas.core import jobs

    if argv[0] == "gunicorn":
        assert argv[1:3] == ["-c", "deploy/gunicorn.conf.py"], where
        assert (ROOT / argv[2]).is_file()
        module, _, call = argv[3].partition(":")
        assert call == "create_app()", where
        assert callable(getattr(importlib.import_module(module), "create_app"))
        return {"kind": "web"}
    assert argv[0] == "flask", f"{where}: runs {argv[0]!r}"
    ctx = flask_command(app, argv[1:])
    if ctx.command.name == "worker":
        queues = ctx.params["queues"]
        assert queues and set(queues) <= set(jobs.QUEUES), f"{where}: queues {queues}"
        return {"kind": "worker", "cron": not ctx.params["no_cron"], "queues": set(queues)}
    return {"kind": ctx.command.name}


def test_the_command_check_refuses_what_the_app_does_not_have(app):
    from _pytest.outcomes import Failed

    for bad in (["flask", "wrker"], ["flask", "worker", "--no-such-flag"], ["flask", "billing"]):
        with pytest.raises((AssertionError, Failed)):
            check_command(app, bad, "probe")
    with pytest.raises(AssertionError):
        check_command(app, ["flask", "worker", "-q", "no-such-queue"], "probe")


def processes_cover_every_queue_and_one_scheduler(found: list[dict], where: str) -> None:
    from caas.core import jobs

    workers = [p for p in found if p["kind"] == "worker"]
    assert sum(p["cron"] for p in workers) == 1, f"{where}: exactly one worker runs the cron scheduler"
    assert set().union(*(p["queues"] for p in workers)) == set(jobs.QUEUES), f"{where}: a queue nobody works"


# --- Procfile and Dockerfile -----------------------------------------------------------------

def test_procfile_runs_commands_the_app_has(app):
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    procs = dict(line.split(":", 1) for line in lines)
    assert set(procs) == {"release", "web", "worker", "scheduler"}
    found = {name: check_command(app, shlex.split(cmd), f"Procfile {name}") for name, cmd in procs.items()}
    assert found["release"] == {"kind": "setup-db"} and found["web"] == {"kind": "web"}
    assert found["scheduler"]["cron"] and not found["worker"]["cron"]
    processes_cover_every_queue_and_one_scheduler(list(found.values()), "Procfile")


def test_dockerfile_builds_the_image_they_run(app):
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text.splitlines()
    assert "libpango-1.0-0" in text and "requirements.txt" in text and "USER 10001" in text
    cmd = yaml.safe_load(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    assert check_command(app, cmd, "Dockerfile CMD") == {"kind": "web"}
    env = dict(re.findall(r"\b([A-Z_]+)=(\S+)", re.search(r"^ENV (.*?)\n\n", text, re.M | re.S).group(1)))
    assert env["FLASK_APP"] == "app:create_app" and env["CAAS_ENV"] == "production"
    check_env([k for k in env if not k.startswith(("PYTHON", "PIP_"))], "Dockerfile")


# --- docker-compose.yml ----------------------------------------------------------------------

def test_compose_file_has_every_process_and_the_services_they_need(app):
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {"web", "worker", "scheduler", "postgres", "redis", "migrate"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16" and services["redis"]["image"] == "redis:7"
    redis_cmd = services["redis"]["command"]
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert redis_cmd[redis_cmd.index("--maxmemory-policy") + 1] == "noeviction"
    for name in ("postgres", "redis", "web"):
        assert services[name]["healthcheck"]["test"], name
    health = re.search(r"http://127\.0\.0\.1:8000(/\w+)", " ".join(services["web"]["healthcheck"]["test"])).group(1)
    assert health in {rule.rule for rule in app.url_map.iter_rules()}
    found = []
    for name in ("migrate", "web", "worker", "scheduler"):
        service = services[name]
        assert service["build"] == "." and (ROOT / "Dockerfile").is_file()
        found.append(check_command(app, service["command"], f"compose {name}"))
        check_env(service["environment"], f"compose {name}")
        if name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert found[0] == {"kind": "setup-db"}
    processes_cover_every_queue_and_one_scheduler(found, "docker-compose.yml")


# --- Kubernetes ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, dict]]:
    """kind → name → document, over every file in deploy/k8s."""
    found: dict[str, dict[str, dict]] = {}
    for path in K8S:
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["apiVersion"] and doc["metadata"]["name"], path.name
            assert doc["metadata"]["name"] not in found.get(doc["kind"], {}), f"{path.name}: duplicate"
            found.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return found


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def test_k8s_has_a_deployment_per_process_type_and_a_migration_job(app, manifests):
    deployments = manifests["Deployment"]
    assert {"caas-web", "caas-worker", "caas-scheduler"} <= set(deployments)
    found = []
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        for container in containers(deployment):
            found.append(check_command(app, container["command"], f"{name}/{container['name']}"))
    processes_cover_every_queue_and_one_scheduler(found, "deploy/k8s")
    scheduler = deployments["caas-scheduler"]["spec"]
    assert scheduler["replicas"] == 1 and scheduler["strategy"]["type"] == "Recreate"
    [migrate] = [c for job in manifests["Job"].values() for c in containers(job)]
    assert check_command(app, migrate["command"], "migration Job") == {"kind": "setup-db"}


def test_k8s_web_probes_are_routes_and_the_service_reaches_them(app, manifests):
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    web = manifests["Deployment"]["caas-web"]
    [container] = containers(web)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] in routes
        assert container[probe]["httpGet"]["port"] in ports
    service = manifests["Service"]["caas-web"]["spec"]
    assert service["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    assert all(port["targetPort"] in ports for port in service["ports"])
    claims = {v["persistentVolumeClaim"]["claimName"] for v in web["spec"]["template"]["spec"]["volumes"]}
    assert claims <= set(manifests["PersistentVolumeClaim"])


def test_k8s_hpas_scale_existing_deployments_on_cpu(manifests):
    hpas = manifests["HorizontalPodAutoscaler"]
    assert {hpa["spec"]["scaleTargetRef"]["name"] for hpa in hpas.values()} >= {"caas-web", "caas-worker"}
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in manifests["Deployment"], name
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"], name
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        for container in containers(manifests["Deployment"][target["name"]]):
            assert container["resources"]["requests"]["cpu"], f"{name}: utilisation needs a CPU request"
    assert "caas-scheduler" not in {hpa["spec"]["scaleTargetRef"]["name"] for hpa in hpas.values()}


def test_k8s_config_and_secret_refs_exist_and_name_settings_the_code_reads(manifests):
    config_maps, secrets = manifests["ConfigMap"], manifests["Secret"]
    for name, config_map in config_maps.items():
        check_env(config_map["data"], f"ConfigMap {name}")
    for name, secret in secrets.items():
        check_env(secret["stringData"], f"Secret {name}")
    workloads = [*manifests["Deployment"].values(), *manifests["Job"].values()]
    for workload in workloads:
        for container in containers(workload):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets
            check_env([e["name"] for e in container.get("env", [])], workload["metadata"]["name"])
    assert "caas-config" in config_maps and "caas-secrets" in secrets


def test_k8s_redis_is_persistent_with_noeviction(manifests):
    [redis] = containers(manifests["StatefulSet"]["caas-redis"])
    args = redis["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    url = manifests["ConfigMap"]["caas-config"]["data"]["REDIS_URL"]
    assert url.startswith(f"redis://{manifests['Service']['caas-redis']['metadata']['name']}:")


# --- gunicorn and the pool settings ----------------------------------------------------------

def test_gunicorn_config_reads_the_environment_and_holds_only_gunicorn_settings(monkeypatch):
    from gunicorn.config import Config as GunicornConfig

    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    monkeypatch.setenv("GUNICORN_THREADS", "3")
    monkeypatch.setenv("PORT", "9001")
    values = {k: v for k, v in runpy.run_path(str(GUNICORN_CONF)).items()
              if not k.startswith("_") and not callable(v) and not hasattr(v, "__file__")}
    settings = GunicornConfig()
    for key, value in values.items():
        assert key in settings.settings, f"not a gunicorn setting: {key}"
        settings.set(key, value)  # gunicorn's own validation
    assert (settings.workers, settings.threads, settings.address) == (7, 3, [("0.0.0.0", 9001)])
    assert settings.worker_class_str == "gthread" and settings.preload_app is True
    assert callable(runpy.run_path(str(GUNICORN_CONF))["post_fork"])


def test_post_fork_drops_the_pool_inherited_from_the_master(found_services):
    from sqlalchemy import text

    from app import create_app
    from caas.core.extensions import db
    from tests.conftest import make_config

    web = create_app(make_config(found_services))
    with web.app_context():
        engine = db.engine
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        inherited = engine.pool
        assert inherited.checkedin() == 1

    class Server:
        class app:  # noqa: N801  (gunicorn's arbiter.app)
            @staticmethod
            def wsgi():
                return web

    runpy.run_path(str(GUNICORN_CONF))["post_fork"](Server, None)
    with web.app_context():
        assert db.engine.pool is not inherited and db.engine.pool.checkedin() == 0
        db.engine.dispose()
    inherited.dispose()


def test_pool_settings_come_from_the_environment():
    from config import Config, engine_options

    custom_plans = "-c plan_cache_mode=force_custom_plan"
    assert engine_options({}) == {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10, "pool_timeout": 30.0,
                                  "pool_recycle": -1, "connect_args": {"connect_timeout": 3, "options": custom_plans}}
    tuned = engine_options({"DB_POOL_SIZE": "20", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT": "5",
                            "DB_POOL_RECYCLE": "1800", "DB_CONNECT_TIMEOUT": "10"})
    assert (tuned["pool_size"], tuned["max_overflow"], tuned["pool_timeout"], tuned["pool_recycle"],
            tuned["connect_args"]) == (20, 0, 5.0, 1800, {"connect_timeout": 10, "options": custom_plans})
    assert Config.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"] is True


def test_the_app_applies_the_pool_settings(found_services):
    from app import create_app
    from caas.core.extensions import db
    from config import engine_options
    from tests.conftest import make_config

    web = create_app({**make_config(found_services),
                      "SQLALCHEMY_ENGINE_OPTIONS": engine_options({"DB_POOL_SIZE": "3", "DB_MAX_OVERFLOW": "1"})})
    with web.app_context():
        assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (3, 1)
        # Every execution planned with its values: a generic plan cannot see the RLS tenant or provider.
        assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
        db.session.rollback()
        db.engine.dispose()


@pytest.mark.parametrize("hops, expected", [(0, "10.0.0.9"), (1, "203.0.113.7")])
def test_trusted_proxy_hops_take_the_client_address_from_the_proxy(found_services, hops, expected):
    from flask import request

    from app import create_app
    from tests.conftest import make_config

    web = create_app({**make_config(found_services), "TRUSTED_PROXY_HOPS": hops})
    web.add_url_rule("/_ip", "probe_ip", lambda: f"{request.remote_addr} {request.scheme}")
    response = web.test_client().get("/_ip", environ_base={"REMOTE_ADDR": "10.0.0.9"},
                                     headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert response.get_data(as_text=True) == f"{expected} {'https' if hops else 'http'}"
