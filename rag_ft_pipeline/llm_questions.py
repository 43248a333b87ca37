"""Questions written by an LLM through any OpenAI-compatible API (instructor + openai)."""

from __future__ import annotations

import hashlib

import instructor
from openai import OpenAI
from pydantic import BaseModel, Field

from rag_ft_pipeline.questions import QuestionGenerator, QuestionPair

# Bump when the prompt changes: the version is part of the cache key.
PROMPT_VERSION = "1"
SYSTEM_PROMPT = """You are an expert researcher in {domain}. You read one passage from a larger \
collection and write the question a colleague would type into a search engine to find exactly \
this passage.
Write one specific question about a concept, requirement, reason or procedure in the passage: \
ask how or why, and make it answerable from this passage alone. Avoid trivia (dates, page \
numbers, document titles) and avoid copying long phrases from the passage.
If the passage has nothing conceptual to ask about (contact details, a table of contents, \
boilerplate, references only), answer with no question (null)."""


class GeneratedQuestion(BaseModel):
    question: str | None = Field(
        default=None, description="The question, or null when the passage has nothing worth asking."
    )


class LLMQuestionGenerator(QuestionGenerator):
    name = "llm"

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str | None = None,
        temperature: float = 0.2,
        mode: str = "tools",
        domain: str = "regulatory guidance documents",
        max_retries: int = 3,
        timeout_seconds: float = 60.0,
    ) -> None:
        self.model = model
        self.temperature = temperature
        self.mode = mode
        self.domain = domain
        self.max_retries = max_retries
        # The openai client retries 429 (honouring Retry-After), 5xx and timeouts itself.
        client = OpenAI(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_seconds)
        instructor_mode = {"tools": instructor.Mode.TOOLS, "json": instructor.Mode.JSON}[mode]
        self._client = instructor.from_openai(client, mode=instructor_mode)

    def fingerprint(self) -> str:
        prompt = hashlib.sha256(SYSTEM_PROMPT.format(domain=self.domain).encode()).hexdigest()[:12]
        return f"{self.name}:{self.model}:prompt={PROMPT_VERSION}-{prompt}:t={self.temperature}:mode={self.mode}"

    def generate(self, text: str) -> list[QuestionPair]:
        answer = self._client.chat.completions.create(
            model=self.model,
            response_model=GeneratedQuestion,
            temperature=self.temperature,
            max_retries=self.max_retries,  # instructor re-asks when the output does not validate
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT.format(domain=self.domain)},
                {"role": "user", "content": f"Passage:\n{text}"},
            ],
        )
        question = (answer.question or "").strip()
        return [QuestionPair(query=question, positive=text)] if question else []
