"""End to end: the whole asset graph with the real packaged model, a real ChromaDB and real files."""

import json
from dataclasses import replace
from pathlib import Path

import dagster as dg
import datasets
import pandas as pd
import pytest
from sentence_transformers import SentenceTransformer

from rag_ft_pipeline.defs import build_definitions
from rag_ft_pipeline.defs.runner import latest_metadata, materialize_pipeline, ops_config, register_documents
from rag_ft_pipeline.retrieval.published import best_retriever, published_index
from rag_ft_pipeline.retrieval.vector_store import collection_name
from rag_ft_pipeline.settings import LLM_ENV
from rag_ft_pipeline_tests.helpers import SAMPLE_DOCS, SAMPLE_GOLDEN, copy_documents, project_settings

pytestmark = pytest.mark.slow


def materializations(instance: dg.DagsterInstance, key: str) -> list[dg.EventLogRecord]:
    return list(instance.fetch_materializations(dg.AssetKey(key), limit=1000).records)


def test_whole_graph_on_the_sample_corpus(tmp_path: Path):
    settings = project_settings(SAMPLE_DOCS, tmp_path, golden_set=SAMPLE_GOLDEN)
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        doc_ids = register_documents(settings, instance)
        result = materialize_pipeline(defs, instance, run_config=ops_config(finetuned_model={"epochs": 1}))
        assert result.success

        for key in defs.resolve_asset_graph().get_all_asset_keys():
            optional = key == dg.AssetKey("onnx_model")  # runs on request only
            assert bool(materializations(instance, key.to_user_string())) != optional, f"{key}"
        assert len(materializations(instance, "clean_markdown")) == len(doc_ids)  # one event per document
        checks = result.get_asset_check_evaluations()
        assert checks and all(check.passed for check in checks)

        report = json.loads((settings.artifacts_dir / "comparison" / "comparison.json").read_text())
        retrievers = {"base", "finetuned", "bm25", "hybrid_base", "hybrid_finetuned"}
        for block in ("golden_chunk", "golden_document", "synthetic"):
            assert set(report[block]["metrics"]) == retrievers
            for scores in report[block]["metrics"].values():
                assert {"hit@1", "hit@10", "recall@10", "mrr@10", "ndcg@10", "map@100"} <= set(scores)
                assert all(0.0 <= value <= 1.0 for value in scores.values())
            for by_metric in report[block]["minus_base"].values():
                interval = by_metric["hit@1"]
                assert interval["ci95_low"] <= interval["difference"] <= interval["ci95_high"]
        assert report["golden_chunk"]["questions"] == latest_metadata(instance, "golden_questions")["questions"] == 24
        assert report["best_model"] in {"base", "finetuned"} and report["best_by"] == "ndcg@10 on golden (chunk)"
        ndcg = {name: scores["ndcg@10"] for name, scores in report["golden_chunk"]["metrics"].items()}
        assert report["best_retriever"] in retrievers and ndcg[report["best_retriever"]] == max(ndcg.values())
        verdict = report["verdict"]
        assert verdict["question_set"] == "your golden set" and verdict["metric"] == "hit@1"
        assert verdict["outcome"] in {"better", "worse", "no measurable change"}
        assert verdict["text"].endswith(f"{verdict['outcome']}; serve {report['best_retriever']}")

        # What an application opens: each model's index by its label, with the model and its prompts,
        # and the retriever to serve.
        client = defs.resources["vector_store"].client()
        for label, prompts in (("base", ("", "")), ("finetuned", ("query: ", "passage: "))):
            published = published_index(client, label)
            assert published.collection == latest_metadata(instance, f"{label}_index")["collection"]
            assert (published.query_prompt, published.passage_prompt) == prompts
        assert published.model == latest_metadata(instance, "finetuned_model")["model_path"]
        assert best_retriever(client) == report["best_retriever"]
        defs.resources["vector_store"].close()
        assert (settings.artifacts_dir / "comparison" / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "hybrid_finetuned" in (settings.artifacts_dir / "comparison" / "comparison.csv").read_text()

        model_meta = latest_metadata(instance, "finetuned_model")
        model_path = Path(model_meta["model_path"])
        assert (
            model_path.is_relative_to(settings.artifacts_dir / "finetuned_model")
            and (model_path / "README.md").exists()
        )
        model = SentenceTransformer(str(model_path))
        assert model.encode(["a question"]).shape == (1, 384)
        # The prompts the fine-tuned model learned by default (E5's: MiniLM has none) are saved in it and
        # used with it: before its queries when scored, before every chunk in its index.
        assert model.prompts["query"] == model_meta["query_prompt"] == "query: "
        assert model.prompts["document"] == model_meta["passage_prompt"] == "passage: "
        assert latest_metadata(instance, "finetuned_metrics")["query_prompt"] == "query: "
        assert latest_metadata(instance, "finetuned_index")["passage_prompt"] == "passage: "
        assert latest_metadata(instance, "base_metrics")["query_prompt"] == ""
        assert latest_metadata(instance, "base_index")["passage_prompt"] == ""
        assert model_meta["limited_by"] == "epochs" and model_meta["steps"] == model_meta["planned_steps"] > 0
        curves = pd.read_csv(model_meta["curves_path"])  # and as a plot, the UI test looks at it
        assert curves["step"].max() == model_meta["steps"] and curves["loss"].notna().any()
        assert curves["validation_ndcg@10"].dropna().iloc[-1] == pytest.approx(model_meta["best_validation_ndcg@10"])
        card = (model_path / "README.md").read_text()
        assert "## Evaluation on this corpus" in card and "### golden (chunk): 24 questions" in card
        assert report["verdict"]["text"] in card and f'SentenceTransformer("{model_path}")' in card
        assert "trained with prompts: `'query: '` before each question and `'passage: '`" in card
        assert """query_encode_kwargs={"prompt": 'query: '}""" in card and "text_instruction='passage: '" in card

        # The pairs beside the model, as a Hugging Face dataset with a card.
        pairs = datasets.load_dataset(str(model_path.parent / "dataset"))
        assert set(pairs) == {"train", "validation", "eval"}
        for split in pairs:
            assert pairs[split].num_rows == latest_metadata(instance, f"{split}_pairs")["dagster/row_count"] > 0
        assert pairs["eval"].column_names == ["query", "positive", "chunk_id", "doc_id", "generator"]
        dataset_card = (model_path.parent / "dataset" / "README.md").read_text()
        assert "Split rule" in dataset_card and "inverse_cloze" in dataset_card

        chunks_meta = latest_metadata(instance, "chunks")
        assert chunks_meta["tokens_max"] <= chunks_meta["max_tokens"]
        questions_meta = latest_metadata(instance, "question_pairs")
        assert questions_meta["dagster/row_count"] > 0 and "offline default" in questions_meta["generator"]

        # Re-materializing chunks alone leaves clean_markdown untouched; questions come from the cache.
        before = len(materializations(instance, "clean_markdown"))
        assert materialize_pipeline(defs, instance, selection="chunks").success
        assert len(materializations(instance, "clean_markdown")) == before
        assert len(materializations(instance, "chunks")) == 2 * len(doc_ids)
        assert materialize_pipeline(defs, instance, selection="question_pairs").success
        rerun = latest_metadata(instance, "question_pairs")
        assert rerun["generated"] == 0 and rerun["cache_hits"] == rerun["chunks"]

        # The optional ONNX export of the best model, measured beside torch on the same questions.
        exported = materialize_pipeline(defs, instance, selection="onnx_model")
        assert exported.success
        [check] = exported.get_asset_check_evaluations()
        assert check.check_name == "onnx_model_keeps_recall" and check.passed
        onnx_meta = latest_metadata(instance, "onnx_model")
        assert onnx_meta["source"] == report["best_model"]
        folder = Path(onnx_meta["folder"])
        assert folder.is_relative_to(settings.artifacts_dir / "onnx_model") and (folder / "model_int8.onnx").exists()
        onnx_report = json.loads((folder / "onnx_metrics.json").read_text())
        for name in ("torch", "onnx_int8"):
            assert 0.0 <= onnx_report["metrics"][name]["hit@10"] <= 1.0
            assert 0.0 <= onnx_report["metrics"][name]["golden"]["chunk"]["ndcg@10"] <= 1.0
        assert onnx_report["speedup"] > 0 and onnx_meta["cosine_to_torch_min"] > 0.9

        # Retention: another training, keeping the last run only, removes the first model and its index.
        retrain = dg.AssetSelection.assets("finetuned_model").downstream() - dg.AssetSelection.assets("onnx_model")
        again = materialize_pipeline(
            defs,
            instance,
            retrain,
            run_config=ops_config(finetuned_model={"epochs": 1}, retention={"keep_last_runs": 1}),
        )
        assert again.success
        newest = Path(latest_metadata(instance, "finetuned_model")["model_path"])
        assert newest != model_path and newest.exists() and not model_path.parent.exists()
        store = defs.resources["vector_store"]
        assert store.index(collection_name("finetuned", str(model_path))).versions() == {}
        assert store.index(collection_name("finetuned", str(newest))).current() is not None
        assert published_index(store.client(), "finetuned").model == str(newest)  # the label moved on
        store.close()
        removed = {(r.data["what"], r.data["path"]) for r in latest_metadata(instance, "retention")["removed"].records}
        assert ("model", str(model_path.parent)) in removed and any(what == "index" for what, _ in removed)
        assert folder.exists()  # the ONNX export is the last one made: kept


def test_real_fda_text_chunks_within_limits_and_yields_questions(tmp_path: Path, fda_guidance_dir: Path):
    docs = copy_documents(sorted(fda_guidance_dir.glob("*.md"))[:15], tmp_path / "docs")
    settings = project_settings(docs, tmp_path)
    with dg.instance_for_test() as instance:
        register_documents(settings, instance)
        result = materialize_pipeline(
            build_definitions(settings), instance, selection="key:clean_markdown or key:chunks or key:question_pairs"
        )
        assert result.success
        chunks = latest_metadata(instance, "chunks")
        assert chunks["dagster/row_count"] > 1000 and chunks["tokens_max"] <= chunks["max_tokens"]
        assert all(check.passed for check in result.get_asset_check_evaluations())
        questions = latest_metadata(instance, "question_pairs")
        assert questions["yield"] >= 0.8, questions


def test_llm_questions_through_dagster_never_expose_the_key(tmp_path: Path, monkeypatch, capfd):
    from rag_ft_pipeline_tests.openai_server import OpenAICompatibleServer, Reply

    secret = "sk-live-do-not-log-8c1e"
    docs = copy_documents(sorted(SAMPLE_DOCS.glob("*.md"))[:2], tmp_path / "docs")
    # As Settings.from_env finds them once both variables are set below; Dagster reads them at run time.
    settings = replace(project_settings(docs, tmp_path), llm_env=frozenset(LLM_ENV))

    def script(request, attempt):
        return Reply(questions=[f"Why does passage {len(request['messages'][-1]['content'])} matter?"])

    with OpenAICompatibleServer(script) as server, dg.instance_for_test() as instance:
        monkeypatch.setenv("OPENAI_API_KEY", secret)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        defs = build_definitions(settings)
        register_documents(settings, instance)
        selection = "key:clean_markdown or key:chunks or key:question_cost_estimate"
        assert materialize_pipeline(defs, instance, selection=selection).success
        estimate = latest_metadata(instance, "question_cost_estimate")
        assert estimate["generator"] == "llm" and estimate["to_generate"] > 0 and estimate["estimated_cost_usd"] > 0
        assert server.requests == []  # a dry run calls nothing

        assert materialize_pipeline(defs, instance, selection="key:question_pairs").success
        questions = latest_metadata(instance, "question_pairs")
        assert questions["generator"] == "llm" and questions["generated"] == len(server.requests) > 0
        assert questions["prompt_tokens"] == 50 * len(server.requests)
        assert materialize_pipeline(defs, instance, selection="key:question_cost_estimate").success
        assert latest_metadata(instance, "question_cost_estimate")["to_generate"] == 0

        everything = "\n".join(str(entry) for run in instance.get_runs() for entry in instance.all_logs(run.run_id))
    captured = capfd.readouterr()
    assert "question_pairs" in everything and secret not in everything
    assert secret not in captured.out + captured.err
