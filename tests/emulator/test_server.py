"""Running the emulator: loopback only, the CLI's ready line, the in-process server."""
import os
import pathlib
import subprocess
import sys
import time

import pytest
import requests

from stripe_emulator import EmulatorServer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_cli(*args, timeout=10):
    return subprocess.run([sys.executable, "-m", "stripe_emulator", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_cli_refuses_non_loopback_hosts(host):
    result = run_cli("--port", "0", "--host", host)
    assert result.returncode == 2
    assert "127.0.0.1" in result.stderr


def test_in_process_server_refuses_non_loopback_hosts():
    with pytest.raises(ValueError):
        EmulatorServer(host="0.0.0.0")


def test_cli_prints_ready_line_and_serves_on_loopback():
    proc = subprocess.Popen([sys.executable, "-m", "stripe_emulator", "--port", "0",
                             "--api-key", "sk_test_extra"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("Stripe emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        resp = requests.get(url + "/v1/customers",
                            headers={"Authorization": "Bearer sk_test_extra"}, timeout=5)
        assert resp.status_code == 200 and resp.json()["object"] == "list"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_in_process_server_binds_loopback_only():
    with EmulatorServer(port=0) as srv:
        assert srv.url.startswith("http://127.0.0.1:")
        sock = srv._server.socket.getsockname()
        assert sock[0] == "127.0.0.1"
    # After stop the port is released.
    time.sleep(0.05)
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url + "/v1/customers", timeout=1)


def test_cli_reports_a_busy_port():
    with EmulatorServer(port=0) as srv:
        result = run_cli("--port", str(srv.port))
    assert result.returncode == 1
    assert "in use" in result.stderr
