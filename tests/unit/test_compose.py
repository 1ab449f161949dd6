"""Static checks of the compose deployment (docker-compose.yml, deploy/Dockerfile).

No Docker engine is needed: the compose file is validated against the official
Compose Specification JSON schema, then the project's own facts are checked
(the four services, their environment, ports, healthchecks and start order; Kafka
in KRaft mode; MongoDB as the replica set rs0; Mailpit; named volumes). The small
healthcheck programs are run for real against a stub HTTP server on loopback, and
when a `docker compose` (v2) or `docker-compose` (v1) binary is installed its own
`config -q` check runs as well (skipped otherwise).

Vendored schema: deploy/compose-spec.schema.json is an unmodified copy of
`schema/compose-spec.json` from the Compose Specification repository
(github.com/compose-spec/compose-spec, commit 00655e2222608fa6eaecdf12ac5195889ca2244a),
Copyright The Compose Specification Authors, licensed under the Apache License,
Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). To update it, replace
the file with a newer upstream copy byte for byte and update SCHEMA_SHA256 below.
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "deploy" / "compose-spec.schema.json"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
MONGO_SCRIPT = ROOT / "deploy" / "mongo-init-replica.js"

SCHEMA_SHA256 = "bc50c2d79102aed8df21b3a13e56c9396c7a06da6cff5ce37629f2ee7eb41735"

APP_PORTS = {"registration": 8001, "agenda": 8002, "results": 8003, "notify": 8004}
APP_SERVICES = tuple(APP_PORTS)
INFRA_SERVICES = ("kafka", "mongo", "mailpit")
SEED_FILE_IN_IMAGE = "/app/deploy/seed/themenforum-2.json"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose-style variable interpolation (${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?error}, ${VAR:+alt}, $$), applied to every string value in a document."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        if op in (":-", "-"):
            unset = current is None or (op == ":-" and current == "")
            return arg if unset else current
        if op in (":?", "?"):
            if current is None or (op == ":?" and current == ""):
                raise AssertionError(f"required variable {name} is not set: {arg}")
            return current
        if op in (":+", "+"):
            present = current is not None and (op == "+" or current != "")
            return arg if present else ""
        return current or ""

    return _VAR.sub(replace, value)


def env_dict(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict of strings (both compose notations)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in env.items()}


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """Map container port -> host port of a service's published ports."""
    mapping: dict[int, int] = {}
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            mapping[int(entry["target"])] = int(entry["published"])
            continue
        spec = str(entry).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        assert len(parts) >= 2, f"port {entry!r} is exposed but not published on the host"
        mapping[int(parts[-1])] = int(parts[-2])
    return mapping


def named_volume_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(volume name, target) of each named-volume mount of a service."""
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            if entry.get("type", "volume") == "volume" and entry.get("source"):
                mounts.append((entry["source"], entry["target"]))
            continue
        source, _, rest = str(entry).partition(":")
        if rest and not source.startswith((".", "/", "~", "$")):
            mounts.append((source, rest.split(":", 1)[0]))
    return mounts


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            if entry.get("type") == "bind":
                mounts.append((entry["source"], entry["target"]))
            continue
        source, _, rest = str(entry).partition(":")
        if source.startswith((".", "/", "~")):
            mounts.append((source, rest.split(":", 1)[0]))
    return mounts


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """'NAME://host:port,...' -> {NAME: (host, port)}."""
    result = {}
    for item in value.split(","):
        name, _, address = item.strip().partition("://")
        host, _, port = address.rpartition(":")
        result[name] = (host, int(port))
    return result


def python_healthcheck_code(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] == "CMD", test
    assert test[1:3] == ["python", "-c"], f"expected a `python -c` healthcheck, got {test}"
    return test[3]


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    assert isinstance(doc, dict), "docker-compose.yml is not a mapping"
    return doc


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    """The compose document as `docker compose` sees it with an empty environment
    (every ${VAR:-default} resolved to its default)."""
    return interpolate(raw, env={})


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema)


def _schema_errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    validator = _validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


# --------------------------------------------------------------------------
# the Compose Specification
# --------------------------------------------------------------------------


def test_vendored_schema_is_the_upstream_draft7_file(schema: dict[str, Any]) -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256, (
        "deploy/compose-spec.schema.json differs from the vendored upstream copy"
    )
    assert "draft-07" in schema["$schema"]
    assert _validator(schema).__class__ is jsonschema.Draft7Validator


@pytest.mark.parametrize("form", ["as written", "interpolated"])
def test_compose_file_matches_compose_specification(
    form: str, raw: dict[str, Any], compose: dict[str, Any], schema: dict[str, Any]
) -> None:
    doc = raw if form == "as written" else compose
    errors = _schema_errors(schema, doc)
    assert not errors, "docker-compose.yml violates the Compose Specification:\n" + "\n".join(errors)


def test_schema_check_catches_a_broken_file(compose: dict[str, Any], schema: dict[str, Any]) -> None:
    """Guard against a validator that accepts anything."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["registration"]["depends_on"]["kafka"]["condition"] = "service_ready"
    broken["services"]["agenda"]["healthcheck"]["intervall"] = "10s"
    broken["volumes"]["kafka-data"] = ["not", "a", "mapping"]
    errors = "\n".join(_schema_errors(schema, broken))
    assert "services/registration/depends_on" in errors
    assert "services/agenda/healthcheck" in errors
    assert "volumes/kafka-data" in errors


# --------------------------------------------------------------------------
# the project's own facts
# --------------------------------------------------------------------------


def test_services_present(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == set(APP_SERVICES) | set(INFRA_SERVICES)


def test_every_service_restarts_and_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service.get("restart") == "unless-stopped", name
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_service_healthy_dependencies_have_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on must name a condition"
        for target, rule in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            if rule.get("condition") == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target}, which has no healthcheck"


def test_published_host_ports_do_not_collide(compose: dict[str, Any]) -> None:
    seen: dict[int, str] = {}
    for name, service in compose["services"].items():
        for host_port in published_ports(service).values():
            assert host_port not in seen, f"{name} and {seen[host_port]} both publish host port {host_port}"
            seen[host_port] = name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_image_and_command(name: str, compose: dict[str, Any]) -> None:
    service = compose["services"][name]
    build = service["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == "deploy/Dockerfile"
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    assert service["command"] == ["python", "-m", f"services.{name}"]
    images = {compose["services"][other].get("image") for other in APP_SERVICES}
    assert len(images) == 1 and None not in images, f"the four services must share one image tag, got {images}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_environment(name: str, raw: dict[str, Any], compose: dict[str, Any]) -> None:
    env = env_dict(compose["services"][name])
    raw_env = env_dict(raw["services"][name])

    assert env["HTTP_HOST"] == "0.0.0.0"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert int(env["KAFKA_TOPIC_PARTITIONS"]) >= 1
    assert env["SMTP_HOST"] == "mailpit"
    assert env["SMTP_PORT"] == "1025"
    assert env["LOG_LEVEL"].upper() in {"DEBUG", "INFO", "WARNING", "ERROR"}

    # MongoDB: the replica set rs0 on the `mongo` service, with retryable writes left on.
    url = urlsplit(env["MONGODB_URL"])
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    assert url.scheme == "mongodb" and url.netloc == "mongo:27017", env["MONGODB_URL"]
    assert query.get("replicaSet") == "rs0"
    assert query.get("retryWrites", "true") == "true", "real MongoDB keeps the driver's retryable writes"
    assert "directConnection" not in query

    # The bootstrap token is the operator's to set: read from the environment / .env,
    # never a literal in the file.
    assert re.fullmatch(r"\$\{FORUM_BOOTSTRAP_TOKEN(:?-[^}]*)?\}", raw_env["FORUM_BOOTSTRAP_TOKEN"])
    assert env["FORUM_BOOTSTRAP_TOKEN"], "the placeholder default must not be empty"

    for other, port in APP_PORTS.items():
        assert env[f"{other.upper()}_PORT"] == str(port)
        public = urlsplit(env[f"{other.upper()}_PUBLIC_URL"])
        assert public.scheme in ("http", "https") and public.netloc, other
        if public.hostname == "localhost":
            assert public.port == port, f"{other.upper()}_PUBLIC_URL points at the wrong port"

    if name == "registration":
        assert env["FORUM_SEED_FILE"] == SEED_FILE_IN_IMAGE
    else:
        assert "FORUM_SEED_FILE" not in env, "only the registration service seeds the catalogue"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_port_is_published(name: str, compose: dict[str, Any]) -> None:
    port = APP_PORTS[name]
    assert published_ports(compose["services"][name]) == {port: port}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_bus_and_store(name: str, compose: dict[str, Any]) -> None:
    depends = compose["services"][name]["depends_on"]
    needed = {"kafka", "mongo"} | ({"mailpit"} if name == "notify" else set())
    assert needed <= set(depends), f"{name} must wait for {needed - set(depends)}"
    for target in needed:
        assert depends[target]["condition"] == "service_healthy", (name, target)
    assert not set(depends) & set(APP_SERVICES), "services talk through Kafka, not start order"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_healthcheck_asks_readyz(name: str, compose: dict[str, Any]) -> None:
    code = python_healthcheck_code(compose["services"][name])
    compile(code, f"<{name} healthcheck>", "exec")
    assert f"127.0.0.1:{APP_PORTS[name]}/readyz" in code
    assert "curl" not in code and "wget" not in code


class _StubHandler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        code = self.status if self.path == "/readyz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_healthcheck_runs(name: str, compose: dict[str, Any]) -> None:
    """Run the healthcheck program against a stub: 200 -> healthy, 503 or nothing -> unhealthy."""
    code = python_healthcheck_code(compose["services"][name])

    class Handler(_StubHandler):
        pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    local = code.replace(f"127.0.0.1:{APP_PORTS[name]}", f"127.0.0.1:{port}")
    assert local != code

    def run(snippet: str) -> int:
        return subprocess.run([sys.executable, "-c", snippet], capture_output=True, timeout=30).returncode

    try:
        Handler.status = 200
        assert run(local) == 0
        Handler.status = 503
        assert run(local) != 0
    finally:
        server.shutdown()
        server.server_close()
    assert run(local) != 0, "a service that does not answer must count as unhealthy"


def test_kafka_is_a_single_kraft_node(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    env = env_dict(kafka)
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in key for key in env), "KRaft mode runs without ZooKeeper"
    assert env["CLUSTER_ID"], "the apache/kafka image needs CLUSTER_ID in KRaft mode"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"

    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller in bound and controller not in advertised
    assert set(bound) <= set(protocols)
    assert set(advertised) <= set(bound)

    by_address = {address: name for name, address in advertised.items()}
    internal = by_address.get(("kafka", 9092))
    external = by_address.get(("localhost", 9092))
    assert internal, "containers must reach the broker as kafka:9092"
    assert external, "the host must reach the broker as localhost:9092"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == internal
    assert bound[internal][1] == 9092
    # The host's localhost:9092 must land on the EXTERNAL listener's port in the container.
    assert published_ports(kafka).get(bound[external][1]) == 9092

    app_partitions = {env_dict(compose["services"][n])["KAFKA_TOPIC_PARTITIONS"] for n in APP_SERVICES}
    assert app_partitions == {env["KAFKA_NUM_PARTITIONS"]}
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[key] == "1", f"{key} must be 1 on a single broker"
    assert any(target == env["KAFKA_LOG_DIRS"] for _, target in named_volume_mounts(kafka))
    assert "kafka-broker-api-versions" in " ".join(kafka["healthcheck"]["test"])


def test_mongo_is_a_single_node_replica_set(compose: dict[str, Any]) -> None:
    mongo = compose["services"]["mongo"]
    assert re.fullmatch(r"mongo:8(\.\d+)*", mongo["image"]), mongo["image"]
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0"

    # The healthcheck runs the init script, which is bind-mounted from the repository.
    mounted = {target: source for source, target in bind_mounts(mongo)}
    test = " ".join(mongo["healthcheck"]["test"])
    assert "mongosh" in test
    script_target = next(t for t in mounted if t.endswith("mongo-init-replica.js"))
    assert script_target in test
    assert (ROOT / mounted[script_target]).resolve() == MONGO_SCRIPT.resolve()

    script = MONGO_SCRIPT.read_text(encoding="utf-8")
    assert "replSetInitiate" in script and '"rs0"' in script
    assert "quit(1)" in script and "isWritablePrimary" in script

    # The member address written into the replica-set config must be the host the
    # services connect to, or the driver cannot find the primary.
    member = env_dict(mongo)["MONGO_REPLICA_HOST"]
    for name in APP_SERVICES:
        assert urlsplit(env_dict(compose["services"][name])["MONGODB_URL"]).netloc == member
    targets = {target for _, target in named_volume_mounts(mongo)}
    assert "/data/db" in targets


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_mongo_init_script_parses() -> None:
    result = subprocess.run(["node", "--check", str(MONGO_SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_mailpit_catches_smtp(compose: dict[str, Any]) -> None:
    mailpit = compose["services"]["mailpit"]
    assert mailpit["image"].startswith("axllent/mailpit:")
    assert published_ports(mailpit) == {1025: 1025, 8025: 8025}
    assert named_volume_mounts(mailpit), "keep caught mail across restarts"


def test_named_volumes_declared_and_used(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = {name for service in compose["services"].values() for name, _ in named_volume_mounts(service)}
    assert used <= declared, f"undeclared volumes: {used - declared}"
    assert declared <= used, f"declared but unused volumes: {declared - used}"
    for name in ("kafka", "mongo"):
        assert named_volume_mounts(compose["services"][name]), f"{name} must keep its data in a named volume"
    for name, service in compose["services"].items():
        for source, _ in bind_mounts(service):
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"


# --------------------------------------------------------------------------
# the image
# --------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path.rstrip("/")).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = fnmatch.translate(pattern.replace("**/", ""))
        if any(re.match(regex, c) or (pattern.startswith("**/") and re.match(regex, Path(c).name)) for c in candidates):
            ignored = not negate
    return ignored


def test_dockerfile_installs_the_project_without_dev_extras() -> None:
    instructions = _dockerfile_instructions()
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert re.search(r"pip install (--[\w-]+ )*\.(\s|$)", runs), "the image installs the project with `pip install .`"
    assert "embedded" not in runs and "[test" not in runs
    bases = [rest for keyword, rest in instructions if keyword == "FROM"]
    args = dict(rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest)
    resolved = [interpolate(base.split()[0], args) for base in bases]
    assert all(re.match(r"python:3\.11(\.\d+)?-slim", base) for base in resolved), resolved
    assert ("WORKDIR", "/app") in instructions
    user = [rest for keyword, rest in instructions if keyword == "USER"]
    assert user and user[-1] not in ("root", "0"), "the services run as an unprivileged user"
    cmd = json.loads(next(rest for keyword, rest in reversed(instructions) if keyword == "CMD"))
    assert cmd[:2] == ["python", "-m"] and cmd[2].startswith("services.")


def test_dockerfile_copies_what_the_services_need() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copies = [rest for keyword, rest in _dockerfile_instructions() if keyword == "COPY" and "--from" not in rest]
    sources = [source for rest in copies for source in rest.split()[:-1] if not source.startswith("--")]
    for needed in ("pyproject.toml", "shared", "services", "deploy/seed/"):
        assert needed in sources, f"the Dockerfile does not copy {needed}"
    for source in sources:
        assert not _ignored(source, patterns), f".dockerignore hides {source} from the build"
    for secret in (".env", ".git", ".venv", "tests"):
        assert _ignored(secret, patterns), f".dockerignore should exclude {secret}"
    # FORUM_SEED_FILE=/app/deploy/seed/... works because WORKDIR is /app and the
    # seed folder is copied to ./deploy/seed/.
    assert any(rest.split()[-1].rstrip("/") in ("./deploy/seed", "/app/deploy/seed") for rest in copies)


def test_seed_file_is_json_when_present() -> None:
    seed = ROOT / "deploy" / "seed" / Path(SEED_FILE_IN_IMAGE).name
    if not seed.exists():
        pytest.skip(f"{seed.relative_to(ROOT)} is not written yet")
    json.loads(seed.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------
# the real compose tools, where installed
# --------------------------------------------------------------------------


def _compose_commands() -> list[list[str]]:
    commands = []
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            commands.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        commands.append(["docker-compose"])
    return commands


@pytest.mark.parametrize("tool", ["docker compose", "docker-compose"])
def test_compose_tool_accepts_the_file(tool: str) -> None:
    command = next((c for c in _compose_commands() if " ".join(c) == tool), None)
    if command is None:
        pytest.skip(f"`{tool}` is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "FORUM_", "DOCKER_"))}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr or result.stdout
