"""Secrets never appear in any output: a job runs with credentials from the environment
(client credentials and password flows, a daemon fire, a failed login, ``status``) and
every byte of stdout and stderr is searched for them."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfrenew.localorg.app import LocalOrg
from tests.integration.ops_support import (
    Process,
    named,
    run_sfrenew,
    seeded_org,
    sfrenew_env,
    write_config,
    write_job,
)

pytestmark = pytest.mark.integration

WRONG_PASSWORD = "Wrong-Password-Never-Logged-7731"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with seeded_org(tmp_path_factory.mktemp("secrets-org"), contracts=30) as started:
        yield started


def _configs(org: LocalOrg, folder: Path) -> dict[str, Path]:
    info = org.connection_info
    common = f"  target: org\n  my_domain_url: {org.instance_url}\n  bulk_poll_seconds: 0.1\n"
    flows = {
        "client_credentials": f"  auth: client_credentials\n  consumer_key: {info['client_id']}\n"
                              "  consumer_secret_env: SFRENEW_TEST_CLIENT_SECRET\n"
                              "  password_env: SFRENEW_TEST_PASSWORD\n",
        "password": f"  auth: password\n  username: {info['username']}\n"
                    "  password_env: SFRENEW_TEST_PASSWORD\n",
        "wrong_password": f"  auth: password\n  username: {info['username']}\n"
                          "  password_env: SFRENEW_TEST_WRONG_PASSWORD\n",
    }
    out = {}
    for name, flow in flows.items():
        (folder / name).mkdir()
        out[name] = write_config(folder / name, org, salesforce=common + flow)
    return out


def test_no_secret_in_any_output(org: LocalOrg, tmp_path: Path) -> None:
    info = org.connection_info
    secrets = {"client secret": info["client_secret"], "password": info["password"],
               "wrong password": WRONG_PASSWORD}
    env = sfrenew_env(SFRENEW_TEST_CLIENT_SECRET=info["client_secret"],
                      SFRENEW_TEST_PASSWORD=info["password"],
                      SFRENEW_TEST_WRONG_PASSWORD=WRONG_PASSWORD,
                      REQUESTS_CA_BUNDLE=info["ca_file"])
    configs = _configs(org, tmp_path)
    jobs = tmp_path / "jobs"
    write_job(jobs, "renewals", "trigger: {cron: '0 2 * * *'}\nsteps: [pull, plan, apply]\n")
    write_job(jobs, "tick", "trigger: {interval: {seconds: 1}}\nsteps: [pull]\n")
    outputs: list[str] = []

    for flow in ("client_credentials", "password"):
        done = run_sfrenew(["jobs", "run", "renewals", "--config", str(configs[flow]),
                            "--jobs-dir", str(jobs)], cwd=tmp_path, env=env)
        outputs += [done.stdout, done.stderr]
        # done (4: the seeded book's deliberately bad contracts are skipped and reported)
        assert done.returncode == 4, done.stdout + done.stderr
        assert "run_finished" in done.stderr

    status = run_sfrenew(["status", "--config", str(configs["client_credentials"])],
                         cwd=tmp_path, env=env)
    outputs += [status.stdout, status.stderr]
    assert "daily API allocation:" in status.stdout
    assert "remaining" in status.stdout

    failed = run_sfrenew(["jobs", "run", "renewals", "--config", str(configs["wrong_password"]),
                          "--jobs-dir", str(jobs)], cwd=tmp_path, env=env)
    outputs += [failed.stdout, failed.stderr]
    assert failed.returncode != 0

    daemon = Process(["run", "--config", str(configs["client_credentials"]), "--jobs-dir",
                      str(jobs)], cwd=tmp_path, env=env)
    try:
        daemon.wait_for(lambda ev: bool(named(ev, "job_finished")))
        daemon.signal(signal.SIGTERM)
        assert daemon.finish() == 0
    finally:
        daemon.kill()
    outputs.append(daemon.output())

    everything = "\n".join(outputs)
    assert len(everything) > 1000  # the runs really logged
    for label, value in secrets.items():
        assert value not in everything, f"the {label} leaked into the output"
