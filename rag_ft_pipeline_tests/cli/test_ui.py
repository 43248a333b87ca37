"""The Dagster UI as a person uses it: started with the README's commands from a shell whose PATH
does not hold the virtual environment, and driven in a real headless Chromium (Debian's, through
Playwright; nothing downloads a browser). Screenshots of each page go to artifacts/ui-test/."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from rag_ft_pipeline_tests.helpers import (
    ASSET_GRAPH,
    REPO_ROOT,
    SAMPLE_DOCS,
    SAMPLE_GOLDEN,
    free_port,
    graphql,
    stop_process_group,
)

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "artifacts" / "ui-test"
# Without these, Chromium keeps calling home, and a closed network refuses it many times a second.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]
BARE_PATH = "/usr/bin:/bin"  # no virtual environment on it, as in a fresh shell
GROUPS = sorted({group for group, _ in ASSET_GRAPH.values()})


def environment(tmp_path: Path, docs: Path) -> dict[str, str]:
    """A fresh shell's environment: no venv on PATH, the project's folders set, offline."""
    return {
        "PATH": BARE_PATH,
        "HOME": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "LANG": "C.UTF-8",
        "RAG_FT_DOCS_DIR": str(docs),
        "RAG_FT_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "RAG_FT_GOLDEN_SET": str(SAMPLE_GOLDEN),
    }


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """Run `command` (which starts the UI on `port`) until the webserver answers, then stop its
    whole process group."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                if graphql(port, "{ assetNodes { id } }")["data"]["assetNodes"]:
                    break
            except (OSError, KeyError, TypeError):
                pass
            assert process.poll() is None, f"the UI command exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no UI within 240 s:\n{log.read_text()[-3000:]}"
            time.sleep(2)
        yield
    finally:
        stop_process_group(process, 60)


def locations(port: int) -> list[str]:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
    return [e["name"] for e in graphql(port, query)["data"]["workspaceOrError"]["locationEntries"]]


def wait_for(what: str, check, seconds: float, every: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {seconds:.0f} s"
        time.sleep(every)


def test_rag_ft_ui_runs_from_a_shell_without_the_virtual_environment(tmp_path: Path):
    docs = shutil.copytree(SAMPLE_DOCS, tmp_path / "docs")
    port = free_port()
    command = [str(REPO_ROOT / ".venv" / "bin" / "rag-ft"), "ui", "--port", str(port)]
    with serving(command, environment(tmp_path, docs), port, tmp_path / "ui.log"):
        nodes = graphql(port, "{ assetNodes { assetKey { path } groupName } }")["data"]["assetNodes"]
        assert {n["assetKey"]["path"][-1]: n["groupName"] for n in nodes} == {k: g for k, (g, _) in ASSET_GRAPH.items()}
        assert locations(port) == ["rag_ft_pipeline"]  # named as workspace.yaml, dg and deploy/ name it


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class UI:
    """A page of the Dagster UI, with the first-visit dialog out of the way and screenshots kept."""

    def __init__(self, browser, port: int) -> None:
        # Tall enough for the questions group's whole graph: the UI draws only the nodes in view.
        self.page = browser.new_page(viewport={"width": 1600, "height": 2000})
        self.base = f"http://127.0.0.1:{port}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="networkidle")
        skip = self.page.get_by_role("button", name="Skip")  # "Join the Dagster community", first visits only
        try:
            skip.wait_for(timeout=3000)
            skip.click()
        except PlaywrightTimeout:  # no dialog this time
            pass

    def text(self, *expected: str) -> str:
        """The page's text, once each of `expected` is on it (the UI renders after the network is idle)."""
        for part in expected:
            self.page.get_by_text(part).first.wait_for(timeout=60_000)
        return self.page.locator("body").inner_text()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    def show_markdown_image(self, alt: str) -> None:
        """Open an asset's latest materialization and show the image a Markdown metadata entry holds."""
        buttons = self.page.get_by_text("[Show Markdown]")
        buttons.first.wait_for(timeout=60_000)
        for index in range(buttons.count()):
            buttons.nth(index).click()
            image = self.page.get_by_role("dialog").locator(f'img[alt="{alt}"]')
            try:  # the dialog renders after the click: give it time before judging this entry
                image.first.wait_for(timeout=10_000)
            except PlaywrightTimeout:
                image = None
            if image is not None:
                assert image.first.get_attribute("src").startswith("data:image/png;base64,")
                assert image.first.evaluate("img => img.naturalWidth") > 100  # it decoded: a real picture
                return
            self.page.get_by_role("button", name="Close").click()
        raise AssertionError(f"no image {alt!r} in the metadata")


def test_the_ui_from_the_readme_in_a_real_browser(tmp_path: Path, browser):
    docs = tmp_path / "docs"
    docs.mkdir()
    names = [
        "adverse_event_reporting_in_clinical_trials.md",
        "sterilization_process_controls.md",
        "cybersecurity_for_connected_devices.md",
    ]
    for name in names:
        shutil.copy(SAMPLE_DOCS / name, docs / name)
    port = free_port()
    with serving(["make", "ui", f"PORT={port}"], environment(tmp_path, docs), port, tmp_path / "make-ui.log"):
        ui = UI(browser, port)

        # The asset graph: every group, and in each group's graph every asset.
        ui.open("/asset-groups")
        ui.shot("01_lineage")
        text = ui.text(*GROUPS)
        assert all(group in text for group in GROUPS)
        for group in GROUPS:
            ui.open(f"/locations/rag_ft_pipeline/asset-groups/{group}")
            assets = [name for name, (g, _) in ASSET_GRAPH.items() if g == group]
            text = ui.text(*assets)
            for asset in assets:
                assert asset in text, f"{asset} not in the {group} graph"
            ui.shot(f"02_group_{group}")

        # "Materialize all", all partitions, launched as a person would; the backfill must succeed.
        ui.open("/asset-groups")
        ui.page.get_by_role("button", name="Materialize all").click()
        dialog = ui.page.get_by_role("dialog")
        dialog.get_by_role("button", name="All", exact=True).click()
        assert "3 partitions" in dialog.inner_text()
        ui.shot("03_materialize_all")
        dialog.get_by_role("button", name="Launch backfill").click()
        query = "{ partitionBackfillsOrError(limit: 1) { ... on PartitionBackfills { results { id status } } } }"

        def finished():
            results = graphql(port, query)["data"]["partitionBackfillsOrError"]["results"]
            return results and results[0]["status"] != "REQUESTED" and results[0]

        backfill = wait_for("the backfill", finished, 1500, every=15)
        ui.open(f"/runs/b/{backfill['id']}")
        ui.shot("04_backfill")
        assert backfill["status"] == "COMPLETED_SUCCESS", backfill

        # The comparison's chart and metrics table, and the chunks' token histogram, in metadata.
        ui.open("/assets/comparison?view=events")
        text = ui.text("fine-tuned vs base on your golden set")
        assert "hybrid_finetuned" in text and "hit@1" in text and "fine-tuned vs base on your golden set" in text
        ui.show_markdown_image("base vs fine-tuned vs BM25 vs hybrid")
        ui.shot("05_comparison_chart")
        ui.open("/assets/chunks?view=events")
        ui.show_markdown_image("tokens per chunk")
        ui.shot("06_chunks_histogram")
        ui.open("/assets/finetuned_model?view=events")
        ui.show_markdown_image("training loss and validation NDCG@10 by step")
        ui.shot("07_training_curves")

        # The documents sensor, switched on in the UI; a new document lands; the daemon runs it.
        ui.open("/locations/rag_ft_pipeline/sensors/documents_folder_sensor")
        toggle = ui.page.locator("label").filter(has=ui.page.locator("input[type=checkbox]")).first
        toggle.wait_for(state="visible")
        toggle.click()
        sensors = '{ sensorsOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "rag_ft_pipeline"}) { ... on Sensors { results { name sensorState { status } } } } }'

        def sensor_running():
            results = graphql(port, sensors)["data"]["sensorsOrError"]["results"]
            return {s["name"]: s["sensorState"]["status"] for s in results}["documents_folder_sensor"] == "RUNNING"

        wait_for("the sensor switched on in the UI", sensor_running, 60, every=2)  # the click's mutation is async
        ui.shot("07_sensor_on")
        new = "stability_testing_of_drug_products.md"
        shutil.copy(SAMPLE_DOCS / new, docs / new)
        runs = '{ runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "documents_folder_sensor"}]}) { ... on Runs { results { runId status } } } }'

        def sensor_run_done():
            results = graphql(port, runs)["data"]["runsOrError"]["results"]
            return results and results[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED") and results[0]

        run = wait_for("the sensor's run", sensor_run_done, 600, every=10)
        assert run["status"] == "SUCCESS", run
        ui.open(f"/runs/{run['runId']}")
        ui.shot("08_sensor_run")
        partitions = graphql(
            port, '{ assetNodeOrError(assetKey: {path: ["chunks"]}) { ... on AssetNode { partitionKeys } } }'
        )
        assert sorted(partitions["data"]["assetNodeOrError"]["partitionKeys"]) == sorted([*names, new])
        ui.open("/assets/chunks?view=partitions")
        assert new in ui.text(new)
        ui.shot("09_new_partition")
