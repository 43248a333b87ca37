import dagster as dg
import pytest

from rag_ft_pipeline.defs.resources import QuestionGeneratorResource

SECRET = "sk-test-secret-4f9a"


def test_the_question_generator_resource_chooses_the_llm_only_with_a_key():
    assert QuestionGeneratorResource().build().name == "inverse_cloze"
    resource = QuestionGeneratorResource(api_key=SECRET, base_url="http://127.0.0.1:9/v1", llm_model="local")
    llm = resource.build()
    assert llm.name == "llm" and llm.settings.llm_model == "local" and SECRET not in str(resource.public_settings())
    with pytest.raises(dg.Failure, match="OPENAI_API_KEY"):
        QuestionGeneratorResource(generator="llm").build()


def test_a_fixed_choice_outside_its_options_is_refused_when_configured():
    with pytest.raises(Exception, match="instructor_mode"):
        QuestionGeneratorResource(instructor_mode="xml")
