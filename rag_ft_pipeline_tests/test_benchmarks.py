"""Every benchmark in a tiny configuration: it runs and reports sane figures. No timing is asserted
(the machines are noisy; the figures are for people to read)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from rag_ft_pipeline_tests.helpers import FDA_GUIDANCE, REPO_ROOT

pytestmark = pytest.mark.slow

if not FDA_GUIDANCE.is_dir():
    pytest.skip(f"shared FDA corpus not found at {FDA_GUIDANCE}", allow_module_level=True)

from benchmarks import (  # noqa: E402
    burst,
    common,
    incremental,
    indexing,
    llm_throughput,
    onnx_inference,
    quality,
    read_path,
    scale,
    training,
)

# Short FDA texts (dental device guidance, 34 to 51 chunks each) keep every run to seconds.
SHORT_DOCS = ["--fda-start", "20"]


def run(benchmark: common.Benchmark, *flags: str) -> common.Result:
    result = benchmark.run(common.parse_args([benchmark], [*SHORT_DOCS, *flags]))
    assert result.benchmark == benchmark.NAME and result.figures
    for figure in result.figures:
        assert math.isfinite(figure.pipeline) and figure.met in (True, False, None)
        if figure.alternative is not None:
            assert figure.ratio is not None and figure.ratio > 0, figure
    json.dumps(result.to_json())  # everything it reports can be written out
    return result


def test_indexing_stores_every_chunk_both_ways():
    result = run(indexing, "--index-chunks", "40")
    assert result.details["chunks"] == 40
    assert {t["run"] for t in result.details["trials"]} == {"plain", "pipeline"}
    assert all(t["stored"] == 40 for t in result.details["trials"])


def test_training_times_the_default_step_and_each_lever_against_the_peak():
    result = run(training, "--train-pairs", "48", "--train-batch", "8", "--train-index-chunks", "16")
    details = result.details
    assert details["peaks"]["fp32"] > 0 and details["flop_per_pair"] > 0
    assert details["plan"]["full_batch"]  # a batch of 8 fits in memory whole: plain MNRL
    ways = [row["way"] for row in details["levers"]]
    assert ways[0].startswith("MNRL, whole batch") and ways[1].startswith("GradCache") and ways[-1].endswith("compile")
    assert all(row["step_s"] > 0 and row["pairs/s"] > 0 for row in details["levers"])
    for work, (rate, flop) in details["achieved"].items():
        assert rate > 0 and 0 < flop < 10 * max(details["peaks"].values()), work


def test_onnx_inference_encodes_and_searches_with_both_models():
    result = run(onnx_inference, "--onnx-chunks", "60", "--onnx-questions", "12")
    details = result.details
    assert details["chunks"] == 60 and details["questions"] == 12
    assert {t["model"] for t in details["trials"]} == {"torch", "onnx_int8"}
    assert 0.9 < details["cosine_min"] <= details["cosine_mean"] <= 1.0 + 1e-6
    assert all(0.0 <= details["hit@10"][m] <= 1.0 for m in ("torch", "onnx_int8"))
    assert result.figure("hit@10 lost (points)").alternative is None
    assert (
        sum(details["int8_operator_shares"].values()) <= 1.0 + 1e-6
        and "DynamicQuantizeMatMul" in details["int8_operator_shares"]
    )


def test_incremental_update_does_only_the_new_documents_work():
    details = run(incremental, "--incremental-docs", "2").details
    assert details["documents"] == 2 and details["documents converted"] == 1
    assert details["chunks chunked"] == details["chunks embedded"] == details["new_document_chunks"] > 0
    assert details["chunks sent for questions"] == details["new_document_new_texts"]
    assert details["index unchanged"] == details["old_chunks"] > 0
    assert details["only_new_document_work"] and details["index_updated_in_place"]


def test_llm_throughput_asks_each_passage_once():
    result = run(llm_throughput, "--llm-chunks", "8", "--llm-delay", "0.05")
    serial, concurrent = result.details["serial"], result.details["concurrent"]
    assert (serial["concurrency"], concurrent["concurrency"]) == (1, 8)
    for side in (serial, concurrent):
        assert side["requests"] == result.details["distinct_texts"] and side["duplicate requests"] == 0
        assert side["pairs"] == 8 and side["failed"] == 0
    assert result.figure("duplicate requests").met


def test_scale_measures_each_size_in_its_own_process():
    sizes = run(scale, "--scale-docs", "2", "1").details["sizes"]
    assert [s["docs"] for s in sizes] == [1, 2]
    assert 0 < sizes[0]["chunks"] < sizes[1]["chunks"]
    assert all(0 < s["RSS model MB"] <= s["RSS chunked MB"] <= s["RSS indexed MB"] for s in sizes)


def test_quality_reads_the_comparison_of_a_whole_pipeline_run():
    details = run(quality, "--quality-docs", "1", "--quality-train-pairs", "32").details
    assert details["documents"] == 1 and details["train_pairs"] == 32 and details["questions"] > 0
    for scores in details["metrics"].values():
        assert set(scores) == set(quality.METRICS) and all(0.0 <= v <= 1.0 for v in scores.values())
    interval = details["ndcg@10_finetuned_minus_base"]
    assert interval["ci95_low"] <= interval["difference"] <= interval["ci95_high"]


def test_read_path_searches_only_complete_versions_under_load():
    details = run(read_path, "--read-chunks", "60", "--read-new", "20", "--readers", "4").details
    during = details["rows"][1]
    assert during["searches"] > 0 and during["errors"] == 0 and not details["errors"]
    assert set(during["index sizes seen"]) <= {details["old_size"], details["new_size"]}


@pytest.mark.timeout(1800)  # the UI's processes start, then two runs: the first document's, then the burst's
def test_burst_of_documents_is_processed_by_one_run():
    details = run(burst, "--burst-docs", "2").details
    assert [row["value"] for row in details["rows"][:3]] == [2, 1, 0]  # dropped, runs, failed
    assert all(r["status"] == "SUCCESS" for r in details["runs"])


def test_quality_golden_mode_scores_both_halves_of_the_fda_staff_questions(fda_qa_dev_dir):
    config = '{"finetuned_model": {"max_steps": 2}}'
    result = run(quality, "--golden", "--golden-docs", "2", "--golden-distractors", "1", "--quality-config", config)
    details = result.details
    assert details["documents"] == {"fda-qa-dev": 2, "fda-guidance": 1}
    assert len(details["halves"]["tuned"]) == len(details["halves"]["held_out"]) == 1
    for half in ("tuned", "held_out", "all"):
        assert details[half]["questions"] > 0
        assert [row["retriever"] for row in details[half]["metrics"]] == [
            "base",
            "finetuned",
            "bm25",
            "hybrid_base",
            "hybrid_finetuned",
            "finetuned, bare questions",  # as frameworks call a model by default: no prompt
            "finetuned, no prompts",
        ]
    assert details["all"]["questions"] == details["tuned"]["questions"] + details["held_out"]["questions"]
    assert details["training"]["steps"] == 2 and details["training"]["limited_by"] == "max_steps"
    assert result.figure("held-out hit@1 fine-tuned minus base").met in (True, False)


def test_quality_golden_mode_trains_on_one_halfs_questions_and_scores_the_other(fda_qa_dev_dir):
    config = '{"finetuned_model": {"max_steps": 1}}'
    flags = ("--golden", "--golden-docs", "2", "--golden-distractors", "1", "--golden-train-questions")
    details = run(quality, *flags, "--quality-config", config).details
    assert "tuned" not in details and "all" not in details  # the tuned half was trained on: not scored
    assert details["held_out"]["questions"] > 0
    assert details["training"]["human_pairs"] > 0  # the tuned document's questions, matched to its chunks


def test_the_command_line_prints_a_summary_and_writes_json(tmp_path: Path):
    out = tmp_path / "results.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--only",
        "llm_throughput",
        "--json",
        str(out),
        *SHORT_DOCS,
        "--llm-chunks",
        "4",
        "--llm-delay",
        "0.05",
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "== summary ==" in done.stdout and "duplicate requests" in done.stdout
    [result] = json.loads(out.read_text())
    assert result["benchmark"] == "llm_throughput" and result["config"]["llm_chunks"] == 4
    assert {f["figure"] for f in result["figures"]} >= {"duplicate requests"}
    assert all({"pipeline", "alternative", "ratio", "target", "met"} <= set(f) for f in result["figures"])
