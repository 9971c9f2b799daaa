"""Parallel tuning on PostgreSQL: two launchers — as on two machines, each with its own run folder —
share one study in the database and together finish exactly N trials.

CI (``.ci/run``) and ``make test`` start a local server with ``.ci/postgres.sh`` (``make test`` only when
the postgresql binaries are installed and it runs as root) and pass its URL in
``DEEPZOO_TEST_POSTGRES_URL``; without it the test tries the URL that script prints by default, and skips
when no server answers, saying how to get one (:data:`ENABLE`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import optuna
import pytest

from deepzoo.tune.study import trial_status

pytestmark = pytest.mark.slow

DEFAULT_URL = "postgresql+psycopg2://deepzoo:deepzoo@127.0.0.1:5432/deepzoo_test"
ENABLE = ("to run it, start a local server and pass its URL: export DEEPZOO_TEST_POSTGRES_URL=\"$(sudo "
          ".ci/postgres.sh)\" (Debian/Ubuntu; installs postgresql if missing; `make test` does this itself as "
          "root when the binaries are installed), or set DEEPZOO_TEST_POSTGRES_URL="
          "postgresql+psycopg2://USER:PASSWORD@HOST:PORT/DB for a server where USER may create tables in DB")


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("DEEPZOO_TEST_POSTGRES_URL") or DEFAULT_URL
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as err:  # no driver, no server, wrong credentials: nothing to test against
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        pytest.skip(f"no PostgreSQL server reachable at {url.split('@')[-1]} ({reason}); {ENABLE}")
    return url


def test_two_launchers_share_a_postgres_study(postgres_url, tmp_path):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    space = tmp_path / "space.yaml"
    space.write_text("optim.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "deepzoo", "tune", "--model", "mlp", "--data", "moons", "--space", str(space),
               "--sampler", "tpe", "--pruner", "median", "--epochs", "5", "--trials", "5",
               "--storage", postgres_url, "--study", name]
    procs = [subprocess.Popen([*command, "--runs-dir", str(tmp_path / f"machine{i}")], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outputs = [p.communicate(timeout=400)[0] for p in procs]
    try:
        assert [p.returncode for p in procs] == [0, 0], outputs
        trials = optuna.load_study(study_name=name, storage=postgres_url).trials
        finished = [t for t in trials if trial_status(t) in ("complete", "pruned", "failed")]
        assert sorted(t.user_attrs["slot"] for t in finished) == [0, 1, 2, 3, 4]  # exactly N, none twice
        assert all(trial_status(t) in ("complete", "pruned", "surplus") for t in trials)
        # both launchers ran trials, each in its own folder
        hosts = {tuple(sorted(p.name for p in (tmp_path / f"machine{i}" / name / "trials").iterdir()))
                 for i in range(2)}
        assert all(hosts) and len({t.user_attrs["worker"]["pid"] for t in finished}) == 2
    finally:
        optuna.delete_study(study_name=name, storage=postgres_url)
