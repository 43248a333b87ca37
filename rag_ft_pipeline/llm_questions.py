"""Questions written by an LLM through any OpenAI-compatible API (instructor + openai)."""

from __future__ import annotations

import hashlib

import instructor
from openai import OpenAI
from pydantic import BaseModel, Field

from rag_ft_pipeline.questions import Generation, QuestionGenerator, QuestionPair

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
        questions_per_chunk: int = 1,
        concurrency: int = 8,
        max_retries: int = 3,
        timeout_seconds: float = 60.0,
        usd_per_million_input_tokens: float = 0.15,
        usd_per_million_output_tokens: float = 0.60,
    ) -> None:
        self.model = model
        self.temperature = temperature
        self.mode = mode
        self.questions_per_chunk = questions_per_chunk
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.prices = (usd_per_million_input_tokens, usd_per_million_output_tokens)
        self.system_prompt = SYSTEM_PROMPT.format(domain=domain, n=questions_per_chunk)
        # The openai client retries 429 (honouring Retry-After), 5xx and timeouts with backoff.
        client = OpenAI(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_seconds)
        instructor_mode = {"tools": instructor.Mode.TOOLS, "json": instructor.Mode.JSON}[mode]
        self._client = instructor.from_openai(client, mode=instructor_mode)

    def fingerprint(self) -> str:
        prompt = hashlib.sha256(self.system_prompt.encode()).hexdigest()[:12]
        return f"{self.name}:{self.model}:prompt={PROMPT_VERSION}-{prompt}:t={self.temperature}:mode={self.mode}"

    def _messages(self, text: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": f"Passage:\n{text}"}]

    def generate(self, text: str) -> Generation:
        answer, completion = self._client.chat.completions.create_with_completion(
            model=self.model,
            response_model=GeneratedQuestions,
            temperature=self.temperature,
            max_retries=self.max_retries,  # instructor re-asks when the output does not validate
            messages=self._messages(text),
        )
        questions = [q.strip() for q in answer.questions if q and q.strip()][: self.questions_per_chunk]
        usage = completion.usage
        return Generation(
            pairs=[QuestionPair(query=q, positive=text) for q in questions],
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def estimate_prompt_tokens(self, text: str) -> int:
        return sum(len(m["content"]) for m in self._messages(text)) // CHARS_PER_TOKEN + 10

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prices[0] + completion_tokens * self.prices[1]) / 1e6
