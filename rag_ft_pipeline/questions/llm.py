"""Questions written by an LLM through any OpenAI-compatible API (instructor + openai)."""

from __future__ import annotations

import hashlib
from typing import Literal

import instructor
from openai import OpenAI
from pydantic import BaseModel, Field

from rag_ft_pipeline.questions.generator import Generation, QuestionGenerator, QuestionPair

# Bump when the prompt changes: the version is part of the cache key.
PROMPT_VERSION = "2"
SYSTEM_PROMPT = """You are an expert researcher in {domain}. You read one passage from a larger \
collection and write the questions a colleague would type into a search engine to find exactly \
this passage.
Write at most {n} specific question(s) about a concept, requirement, reason or procedure in the \
passage: ask how or why, and make each answerable from this passage alone. Avoid trivia (dates, \
page numbers, document titles) and do not copy long phrases from the passage.
If the passage has nothing conceptual to ask about (contact details, a table of contents, \
boilerplate, references only), return no questions."""
CHARS_PER_TOKEN = 4  # a rough rule for English text, for estimates before any call is made


class GeneratedQuestions(BaseModel):
    questions: list[str] = Field(
        default_factory=list, description="The questions; an empty list when the passage has nothing worth asking."
    )


class LLMSettings(BaseModel):
    """How the LLM is asked; every field that changes its answers is part of the cache key."""

    llm_model: str = Field(default="gpt-4o-mini", description="The model name the endpoint knows.")
    temperature: float = Field(default=0.2, ge=0, le=2, description="Sampling temperature.")
    instructor_mode: Literal["tools", "json"] = Field(
        default="tools", description="tools (function calling), or json for servers without tool calling."
    )
    domain: str = Field(default="regulatory guidance documents", description="Named in the prompt's expert persona.")
    questions_per_chunk: int = Field(default=1, ge=1, description="Questions asked per chunk at most.")
    concurrency: int = Field(default=8, ge=1, description="Requests in flight at once; lower it for tight rate limits.")
    max_retries: int = Field(default=3, ge=0, description="Per request, on 429, 5xx, timeouts and invalid output.")
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per request.")
    usd_per_million_input_tokens: float = Field(
        default=0.15, ge=0, description="For cost estimates (gpt-4o-mini prices)."
    )
    usd_per_million_output_tokens: float = Field(default=0.60, ge=0, description="For cost estimates.")


class LLMQuestionGenerator(QuestionGenerator):
    name = "llm"

    def __init__(self, settings: LLMSettings, api_key: str, base_url: str | None = None) -> None:
        self.settings = settings
        self.concurrency = settings.concurrency
        self.system_prompt = SYSTEM_PROMPT.format(domain=settings.domain, n=settings.questions_per_chunk)
        # The openai client retries 429 (honouring Retry-After), 5xx and timeouts with backoff.
        client = OpenAI(
            api_key=api_key, base_url=base_url, max_retries=settings.max_retries, timeout=settings.timeout_seconds
        )
        mode = {"tools": instructor.Mode.TOOLS, "json": instructor.Mode.JSON}[settings.instructor_mode]
        self._client = instructor.from_openai(client, mode=mode)

    def fingerprint(self) -> str:
        prompt = hashlib.sha256(self.system_prompt.encode()).hexdigest()[:12]
        s = self.settings
        return f"{self.name}:{s.llm_model}:prompt={PROMPT_VERSION}-{prompt}:t={s.temperature}:mode={s.instructor_mode}"

    def _messages(self, text: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": f"Passage:\n{text}"}]

    def generate(self, text: str) -> Generation:
        answer, completion = self._client.chat.completions.create_with_completion(
            model=self.settings.llm_model,
            response_model=GeneratedQuestions,
            temperature=self.settings.temperature,
            max_retries=self.settings.max_retries,  # instructor re-asks when the output does not validate
            messages=self._messages(text),
        )
        questions = [q.strip() for q in answer.questions if q and q.strip()][: self.settings.questions_per_chunk]
        usage = completion.usage
        return Generation(
            pairs=[QuestionPair(query=q, positive=text) for q in questions],
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def estimate_prompt_tokens(self, text: str) -> int:
        return sum(len(m["content"]) for m in self._messages(text)) // CHARS_PER_TOKEN + 10

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        s = self.settings
        return (
            prompt_tokens * s.usd_per_million_input_tokens + completion_tokens * s.usd_per_million_output_tokens
        ) / 1e6
