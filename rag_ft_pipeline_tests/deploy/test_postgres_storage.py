"""Materializations with Dagster's storage in a real PostgreSQL, configured by deploy/dagster.yaml.

`.ci/run` starts PostgreSQL on loopback and sets RAG_FT_TEST_POSTGRES_URL; each test works in a
schema of its own in that database, dropped afterwards."""

import os
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.ingestion import documents_partitions
from rag_ft_pipeline.defs.runner import materialize_pipeline, register_documents
from rag_ft_pipeline_tests.helpers import REPO_ROOT, SAMPLE_DOCS, copy_documents, project_settings

pytestmark = pytest.mark.slow

POSTGRES_URL_ENV = "RAG_FT_TEST_POSTGRES_URL"


def sql(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with closing(psycopg2.connect(url)) as connection, connection, connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        message = f"{POSTGRES_URL_ENV} is not set (.ci/run starts PostgreSQL and sets it)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the Postgres tests")
        pytest.skip(message)
    return url


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema, so every run starts from empty storage and Dagster creates its tables anew."""
    name = f"rag_ft_test_{uuid.uuid4().hex[:12]}"
    sql(postgres_url, f"CREATE SCHEMA {name}")
    yield name
    sql(postgres_url, f"DROP SCHEMA {name} CASCADE")


def test_materializations_are_stored_in_postgres(tmp_path: Path, postgres_url: str, schema: str, monkeypatch):
    # deploy/dagster.yaml as it is, with the variables compose provides, pointed at the test database;
    # only the port and the schema (through libpq's search_path) are set here.
    url = urlsplit(postgres_url)
    for name, value in {
        "USER": url.username,
        "PASSWORD": url.password,
        "HOST": url.hostname,
        "DB": url.path[1:],
    }.items():
        monkeypatch.setenv(f"DAGSTER_POSTGRES_{name}", unquote(value or ""))
    config = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    config["storage"]["postgres"]["postgres_db"].update(
        port=url.port or 5432, params={"options": f"-csearch_path={schema}"}
    )
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))

    docs = copy_documents(sorted(SAMPLE_DOCS.glob("*.md"))[:2], tmp_path / "docs")
    settings = project_settings(docs, tmp_path)

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1  # the `training` pool
        doc_ids = register_documents(settings, instance)
        result = materialize_pipeline(
            build_definitions(settings), instance, selection="key:clean_markdown or key:chunks"
        )
        assert result.success

    # A new instance on the same database reads everything back from Postgres.
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        (run,) = instance.get_runs()
        assert run.run_id == result.run_id and run.status == dg.DagsterRunStatus.SUCCESS
        assert instance.get_dynamic_partitions(documents_partitions.name) == doc_ids
        for key in ("clean_markdown", "chunks"):
            records = instance.fetch_materializations(dg.AssetKey(key), limit=10).records
            assert sorted(record.partition_key for record in records) == sorted(doc_ids)
            assert {record.run_id for record in records} == {result.run_id}

    assert sql(postgres_url, f"SELECT run_id, status FROM {schema}.runs") == [(result.run_id, "SUCCESS")]
    (materialized,) = sql(
        postgres_url,
        f"SELECT count(*) FROM {schema}.event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
        (result.run_id,),
    )
    assert materialized == (2 * len(doc_ids),)
