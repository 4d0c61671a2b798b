"""The emulator's stand-ins follow output formats that the prompt itself asks for (issue #19).

Frameworks put the protocol in the prompt text: a JSON schema (LangChain's and LlamaIndex's
Pydantic parsers), "JSON with keys ...", a few-shot JSON example (LlamaIndex's question
generator), the ReAct grammar (LlamaIndex's ``ReActAgent``, LangChain's ``create_react_agent``
prompt). The first half checks the detection on :func:`standins.generate_chat` directly (our own
prompts, phrased differently from any framework's); the second runs the frameworks' pipelines
end to end through our adapters against the emulator, sync and async.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.prompts import PromptTemplate as LCPromptTemplate
from llama_index.core.agent.workflow import ReActAgent
from llama_index.core.program import LLMTextCompletionProgram
from llama_index.core.question_gen import LLMQuestionGenerator
from llama_index.core.question_gen.types import SubQuestion
from llama_index.core.schema import QueryBundle
from llama_index.core.tools import FunctionTool, ToolMetadata
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel, Field

from langchain_workers_ai import ChatWorkersAI
from llama_index_workers_ai import WorkersAI
from tests.support.emulator import adapter_kwargs
from workers_ai.emulator import EmulatorServer, facts, standins
from workers_ai.emulator.standins import Generation

LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # classic shape
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"  # chat-completion shape, reasoning
R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"  # <think> tags in the text
GPT = "openai/gpt-4.1"  # a third-party model through the gateway's unified route


class Person(BaseModel):
    name: str
    age: int


class Track(BaseModel):
    title: str
    seconds: int = Field(ge=1)


class Album(BaseModel):
    """Nested models ($defs/$ref), an enum, an array of objects, an optional number."""

    name: str
    artist: str
    year: int
    genre: Literal["rock", "jazz", "pop"]
    tracks: list[Track]
    rating: float | None = None


def _gen(messages: list[dict[str, Any]], model: str = LLAMA, **body: Any) -> Generation:
    info = facts.get(model)
    assert info is not None
    return standins.generate_chat(info, {"messages": messages, **body})


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# A JSON-schema instruction in our own words (no framework's sentence).
PERSON_SCHEMA = json.dumps(Person.model_json_schema())
OWN_SCHEMA_INSTRUCTION = f"Reply with one JSON document that follows this schema:\n{PERSON_SCHEMA}"
QUESTION = "Ada Lovelace was 36 years old when she died."


# --- Detection: JSON schema ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["system", "user"])
def test_a_schema_instruction_in_the_system_or_user_message_gives_conforming_json(
    where: str,
) -> None:
    if where == "system":
        messages = [{"role": "system", "content": OWN_SCHEMA_INSTRUCTION}, *_user(QUESTION)]
    else:
        messages = _user(f"{QUESTION}\n\n{OWN_SCHEMA_INSTRUCTION}")

    gen = _gen(messages)

    assert Person.model_validate_json(gen.text) == Person(name="Ada Lovelace", age=36)
    assert gen.parsed is None and gen.tool_calls == []  # JSON in the text, as a model writes it


@pytest.mark.parametrize(
    "instructions",
    [
        PydanticOutputParser(pydantic_object=Album).get_format_instructions(),
        JsonOutputParser(pydantic_object=Album).get_format_instructions(),
        "Produce output matching the JSON schema in the code block.\n```\n"
        + json.dumps(Album.model_json_schema())
        + "\n```",
    ],
    ids=["langchain-pydantic", "langchain-json", "own-words"],
)
def test_nested_schemas_with_defs_enums_and_arrays_are_followed(instructions: str) -> None:
    question = "Invent a jazz album by Miles Davis from 1959 with the track 'So What' (545 s)."

    album = Album.model_validate_json(_gen(_user(f"{question}\n{instructions}")).text)

    assert (album.artist, album.year, album.genre) == ("Miles Davis", 1959, "jazz")
    assert album.tracks and album.tracks[0].seconds == 545


def test_the_schema_that_is_shown_as_an_example_is_not_the_one_followed() -> None:
    instructions = JsonOutputParser(pydantic_object=Person).get_format_instructions()
    assert '"foo"' in instructions  # LangChain shows an example schema before the real one

    data = json.loads(_gen(_user(f"{QUESTION}\n{instructions}")).text)

    assert set(data) == {"name", "age"}


def test_template_braces_left_doubled_are_read() -> None:
    doubled = PERSON_SCHEMA.replace("{", "{{").replace("}", "}}")
    prompt = f"{QUESTION}\n\nHere's a JSON schema to follow:\n{doubled}\n\nOutput valid JSON."

    assert Person.model_validate_json(_gen(_user(prompt)).text).age == 36


def test_prompt_json_is_kept_whole_despite_max_tokens_and_stop() -> None:
    gen = _gen(_user(f"{QUESTION}\n{OWN_SCHEMA_INSTRUCTION}"), max_tokens=3, stop=["}", ","])

    assert Person.model_validate_json(gen.text) and gen.finish_reason == "stop"


def test_json_mode_without_a_schema_takes_the_prompts_schema() -> None:
    gen = _gen(
        _user(f"{QUESTION}\n{OWN_SCHEMA_INSTRUCTION}"), response_format={"type": "json_object"}
    )

    assert gen.parsed == {"name": "Ada Lovelace", "age": 36}


def test_json_mode_with_a_schema_keeps_the_requests_schema() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    body = {"response_format": {"type": "json_schema", "json_schema": schema}}

    gen = _gen(_user(f"Ada lived in London.\n{OWN_SCHEMA_INSTRUCTION}"), **body)

    assert set(gen.parsed) == {"city"}


def test_answer_fields_carry_a_prose_answer() -> None:
    class Reply(BaseModel):
        answer: str
        confidence: float

    schema = json.dumps(Reply.model_json_schema())
    prompt = f"What is the capital of France?\nRespond in JSON using this schema: {schema}"

    reply = Reply.model_validate_json(_gen(_user(prompt)).text)

    assert "France" in reply.answer and reply.answer != "capital France"


# --- Detection: keys, plain JSON, fences --------------------------------------------------------


@pytest.mark.parametrize(
    "instruction",
    [
        "Respond with a JSON object with keys city and country.",
        "Return JSON with the fields `city`, `country`.",
        "Format the answer as a JSON object whose keys are: 'city' and 'country'.",
    ],
)
def test_json_with_keys_gives_exactly_those_keys(instruction: str) -> None:
    data = json.loads(_gen(_user(f"The Eiffel Tower is in Paris, France. {instruction}")).text)

    assert set(data) == {"city", "country"}
    assert all(isinstance(v, str) and v for v in data.values())


def test_keys_with_type_hints_get_those_types() -> None:
    prompt = (
        "The city of Paris had 2100000 inhabitants. Return a JSON object with keys city (string), "
        "population (integer), capital (boolean) and districts (list of strings)."
    )

    data = json.loads(_gen(_user(prompt)).text)

    assert data["city"] == "Paris" and data["population"] == 2100000
    assert data["capital"] is True and isinstance(data["districts"], list)


def test_a_fenced_key_type_listing_gives_fenced_json() -> None:
    # The shape of LangChain's StructuredOutputParser instructions, in our own words.
    prompt = (
        "Who painted the Mona Lisa?\n"
        'Answer as a markdown code snippet that starts with "```json":\n'
        "```json\n{\n"
        '\t"answer": string  // the answer\n'
        '\t"year": integer  // when it was painted\n'
        "}\n```"
    )

    text = _gen(_user(prompt)).text

    fenced = re.fullmatch(r"```json\n(.*)\n```", text, re.DOTALL)
    assert fenced is not None
    data = json.loads(fenced.group(1))
    assert set(data) == {"answer", "year"} and isinstance(data["year"], int)


def test_a_fence_is_not_added_when_the_prompt_forbids_it() -> None:
    instructions = JsonOutputParser(pydantic_object=Person).get_format_instructions()
    assert "```json" in instructions and "Do not wrap" in instructions

    assert _is_json(_gen(_user(f"{QUESTION}\n{instructions}")).text)


@pytest.mark.parametrize(
    "prompt",
    [
        "Return a JSON object.",
        "What is the capital of France? Answer in JSON.",
        "Respond only with JSON: what is the capital of France?",
        "Your answer must be valid JSON. Name a French cheese.",
    ],
)
def test_a_plain_json_instruction_gives_json(prompt: str) -> None:
    assert isinstance(json.loads(_gen(_user(prompt)).text), dict)


@pytest.mark.parametrize(
    "prompt",
    [
        "What is JSON?",
        "How do I return JSON from a Flask view?",
        "Explain the difference between JSON and YAML. I prefer JSON.",
        "Write a JSON parser in Rust.",
        "Can you respond with JSON?",
        "My config file uses JSON keys name and age; is that fine?",
        'Here is some data: {"name": "Ada", "age": 36}. Who is she?',
    ],
)
def test_a_prompt_that_merely_mentions_json_gets_prose(prompt: str) -> None:
    text = _gen(_user(prompt)).text

    assert not _is_json(text) and "```" not in text


def test_without_an_instruction_the_answer_is_the_usual_prose() -> None:
    prompt = "Tell me about the history of Paris and its museums."
    gen = _gen(_user(prompt))

    assert gen.text == standins._reply_to_conversation(prompt, gen.seed)


def test_hostile_brackets_next_to_the_word_json_are_harmless() -> None:
    prompt = "Return JSON. " + "[" * 5000 + "{" * 5000 + " " + "{}" * 3000

    assert _gen(_user(prompt)).text  # no RecursionError, no quadratic scan


def test_format_answers_are_deterministic() -> None:
    messages = _user(f"{QUESTION}\n{OWN_SCHEMA_INSTRUCTION}")

    assert _gen(messages) == _gen(messages)


def test_a_few_shot_json_example_is_followed_with_the_new_cases_options() -> None:
    prompt = (
        "Route each support message to a team.\n\n"
        "Teams:\n"
        '{"billing": "Invoices and refunds", "shipping": "Parcels and delivery"}\n'
        "Message: My parcel is late\n"
        "Result:\n"
        '{"routes": [{"team": "shipping", "note": "late parcel", "priority": 2}]}\n\n'
        "Teams:\n"
        '{"accounts": "Logins and passwords", "billing": "Invoices and refunds"}\n'
        "Message: I forgot my password, priority 1\n"
        "Result:\n"
    )

    data = json.loads(_gen(_user(prompt)).text)

    assert [route["team"] for route in data["routes"]] == ["accounts"]
    assert data["routes"][0]["priority"] == 1 and "password" in data["routes"][0]["note"]


# --- Detection: the ReAct grammar ---------------------------------------------------------------

# LangChain's ReAct grammar ("hwchase17/react"), with tools rendered as render_text_description.
REACT_PROMPT = """Answer the following questions as best you can. \
You have access to the following tools:

get_weather(city: str) -> str - Get the current weather for a city.
multiply(a: int, b: int) -> int - Multiply two integers.

Use the following format:

Question: the input question you must answer
Thought: you should always think about what to do
Action: the action to take, should be one of [get_weather, multiply]
Action Input: the input to the action
Observation: the result of the action
... (this Thought/Action/Action Input/Observation can repeat N times)
Thought: I now know the final answer
Final Answer: the final answer to the original input question

Begin!

Question: {question}
Thought:{scratchpad}"""
# What langchain_classic's ReActSingleInputOutputParser accepts.
ACTION_RE = re.compile(
    r"Action\s*\d*\s*:[\s]*(.*?)\s*Action\s*\d*\s*Input\s*\d*\s*:[\s]*(.*)", re.S
)
FINAL = "Final Answer:"


def _react_step(llm: ChatWorkersAI, kind: str, prompt: str) -> str:
    stop = ["\nObservation"]
    if kind == "sync":
        return str(llm.invoke(prompt, stop=stop).content)
    return str(asyncio.run(llm.ainvoke(prompt, stop=stop)).content)


@pytest.mark.parametrize("model", [LLAMA, QWEN, R1])
def test_the_langchain_react_grammar_gives_an_action_then_a_final_answer(
    emulator: EmulatorServer, kind: str, model: str
) -> None:
    llm = ChatWorkersAI(model=model, **adapter_kwargs(emulator))
    question = "What is the weather in Paris?"

    first = _react_step(llm, kind, REACT_PROMPT.format(question=question, scratchpad=""))
    action = ACTION_RE.search(first)
    assert action is not None and FINAL not in first
    assert action.group(1).strip() == "get_weather"
    assert action.group(2).strip().strip('"') == "Paris"

    scratchpad = f"{first}\nObservation: Sunny, 21 C in Paris\nThought: "
    second = _react_step(llm, kind, REACT_PROMPT.format(question=question, scratchpad=scratchpad))
    assert ACTION_RE.search(second) is None
    assert second.rsplit(FINAL, 1)[-1].strip().endswith("Sunny, 21 C in Paris")


def test_react_answers_directly_when_no_listed_tool_fits() -> None:
    prompt = REACT_PROMPT.format(question="Write a haiku about autumn leaves.", scratchpad="")

    text = _gen(_user(prompt)).text

    assert ACTION_RE.search(text) is None and FINAL in text
    assert "autumn" in text.rsplit(FINAL, 1)[-1]


def test_react_calls_each_fitting_tool_once_then_answers() -> None:
    question = "What is the weather in Oslo, and multiply 6 by 7?"
    scratchpad = ""
    called = []
    for _ in range(4):
        text = _gen(_user(REACT_PROMPT.format(question=question, scratchpad=scratchpad))).text
        action = ACTION_RE.search(text)
        if action is None:
            break
        called.append((action.group(1).strip(), action.group(2).strip()))
        scratchpad += f"{text}\nObservation: result {len(called)}\nThought: "

    assert sorted(name for name, _ in called) == ["get_weather", "multiply"]
    assert FINAL in text and "result 1" in text and "result 2" in text


def test_react_action_input_is_json_when_the_grammar_asks_for_json() -> None:
    system = (
        "You can use tools.\n> Tool Name: convert_currency\n"
        "Tool Description: Convert an amount of money between currencies.\n"
        'Tool Args: {"properties": {"amount": {"type": "number"}, "to": {"type": "string", '
        '"enum": ["EUR", "USD"]}}, "required": ["amount", "to"], "type": "object"}\n\n'
        "Reply like this:\nThought: what you think\nAction: the tool (one of convert_currency)\n"
        "Action Input: the arguments as a JSON object\n"
        "You then receive:\nObservation: what the tool returned\n"
        "Finish with:\nThought: your reasoning\nAnswer: your answer\n"
    )
    messages = [{"role": "system", "content": system}, *_user("Convert 12.5 dollars to EUR.")]

    text = _gen(messages).text
    step = re.search(r"Action: (\S+)\nAction Input: (\{.*\})", text)
    assert step is not None and step.group(1) == "convert_currency"
    assert json.loads(step.group(2)) == {"amount": 12.5, "to": "EUR"}

    messages += [{"role": "assistant", "content": text}, *_user("Observation: 11.4 EUR")]
    final = _gen(messages).text
    assert re.search(r"Thought:.*\nAnswer: .*11\.4 EUR", final, re.S)
    assert "Action:" not in final


# --- End to end: LlamaIndex ---------------------------------------------------------------------


@pytest.fixture
def env(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    yield emulator


def _weather_tools(calls: list[tuple[str, dict[str, Any]]]) -> list[FunctionTool]:
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(("get_weather", {"city": city}))
        return f"Sunny and 21 C in {city}"

    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        calls.append(("multiply", {"a": a, "b": b}))
        return a * b

    return [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(multiply)]


@pytest.mark.parametrize("streaming", [False, True], ids=["chat", "stream"])
@pytest.mark.parametrize("model", [LLAMA, QWEN, GPT])
def test_llama_index_react_agent_runs_a_tool_then_answers(
    env: EmulatorServer, model: str, streaming: bool
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    agent = ReActAgent(tools=_weather_tools(calls), llm=WorkersAI(model=model), streaming=streaming)

    async def go() -> Any:
        return await agent.run("What is the weather in Paris?")

    result = asyncio.run(go())

    assert calls == [("get_weather", {"city": "Paris"})]
    assert [c.tool_name for c in result.tool_calls] == ["get_weather"]
    assert "Sunny and 21 C in Paris" in str(result)


def test_llama_index_react_agent_answers_directly_when_no_tool_fits(env: EmulatorServer) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    agent = ReActAgent(tools=_weather_tools(calls), llm=WorkersAI(model=LLAMA))

    async def go() -> Any:
        return await agent.run("Write a haiku about autumn leaves.")

    result = asyncio.run(go())

    assert calls == [] and "autumn" in str(result)


def _run(kind: str, sync_fn: Any, async_fn: Any, *args: Any, **kwargs: Any) -> Any:
    if kind == "sync":
        return sync_fn(*args, **kwargs)
    return asyncio.run(async_fn(*args, **kwargs))


@pytest.mark.parametrize("model", [LLAMA, QWEN, R1])
def test_llm_text_completion_program_returns_the_pydantic_object(
    env: EmulatorServer, kind: str, model: str
) -> None:
    program = LLMTextCompletionProgram.from_defaults(
        output_cls=Album,
        prompt_template_str="Describe the {genre} album 'Kind of Blue' by Miles Davis (1959).",
        llm=WorkersAI(model=model),
    )

    album = _run(kind, program, program.acall, genre="jazz")

    assert isinstance(album, Album)
    assert (album.name, album.artist, album.year, album.genre) == (
        "Kind of Blue",
        "Miles Davis",
        1959,
        "jazz",
    )


def test_structured_predict_in_text_mode_uses_the_program(env: EmulatorServer) -> None:
    from llama_index.core.prompts import PromptTemplate

    llm = WorkersAI(model=LLAMA, pydantic_program_mode=PydanticProgramMode.LLM)
    person = llm.structured_predict(
        Person, PromptTemplate("Extract the person: {text}"), text=QUESTION
    )

    assert person == Person(name="Ada Lovelace", age=36)


@pytest.mark.parametrize("model", [LLAMA, QWEN])
def test_llm_question_generator_names_the_given_tools(
    env: EmulatorServer, kind: str, model: str
) -> None:
    generator = LLMQuestionGenerator.from_defaults(llm=WorkersAI(model=model))
    tools = [
        ToolMetadata(name="paris_guide", description="Facts about museums and sights of Paris"),
        ToolMetadata(name="rome_guide", description="Facts about museums and sights of Rome"),
        ToolMetadata(name="tokyo_guide", description="Facts about Tokyo"),
    ]
    query = QueryBundle("Compare the museums of Paris and Rome")

    questions = _run(kind, generator.generate, generator.agenerate, tools, query)

    assert all(isinstance(q, SubQuestion) for q in questions)
    assert [q.tool_name for q in questions] == ["paris_guide", "rome_guide"]
    assert "Paris" in questions[0].sub_question and "Rome" not in questions[0].sub_question
    assert "Rome" in questions[1].sub_question


# --- End to end: LangChain ----------------------------------------------------------------------


def _chain_invoke(chain: Any, kind: str, value: Any) -> Any:
    return chain.invoke(value) if kind == "sync" else asyncio.run(chain.ainvoke(value))


@pytest.mark.parametrize("model", [LLAMA, QWEN, R1, GPT])
def test_langchain_pydantic_output_parser_chain_parses(
    emulator: EmulatorServer, kind: str, model: str
) -> None:
    parser = PydanticOutputParser(pydantic_object=Album)
    prompt = LCPromptTemplate(
        template="Answer the user query.\n{format_instructions}\n{query}\n",
        input_variables=["query"],
    ).partial(format_instructions=parser.get_format_instructions())
    chain = prompt | ChatWorkersAI(model=model, **adapter_kwargs(emulator)) | parser
    query = "Invent the rock album 'Sticky Fingers' by The Rolling Stones (1971): a 240 s track."

    album = _chain_invoke(chain, kind, {"query": query})

    assert isinstance(album, Album)
    assert (album.name, album.artist, album.year) == ("Sticky Fingers", "Rolling Stones", 1971)
    assert album.genre == "rock" and album.tracks[0].seconds == 240


def test_langchain_json_output_parser_chain_parses(emulator: EmulatorServer, kind: str) -> None:
    parser = JsonOutputParser(pydantic_object=Person)
    prompt = LCPromptTemplate.from_template("{query}\n{format_instructions}").partial(
        format_instructions=parser.get_format_instructions()
    )
    chain = prompt | ChatWorkersAI(model=LLAMA, **adapter_kwargs(emulator)) | parser

    assert _chain_invoke(chain, kind, {"query": QUESTION}) == {"name": "Ada Lovelace", "age": 36}


def test_langchain_structured_output_parser_chain_parses(emulator: EmulatorServer) -> None:
    output_parsers = pytest.importorskip("langchain_classic.output_parsers")
    schemas = [
        output_parsers.ResponseSchema(name="answer", description="the answer"),
        output_parsers.ResponseSchema(name="source", description="where it comes from"),
    ]
    parser = output_parsers.StructuredOutputParser.from_response_schemas(schemas)
    prompt = LCPromptTemplate.from_template("{question}\n{format_instructions}").partial(
        format_instructions=parser.get_format_instructions()
    )
    chain = prompt | ChatWorkersAI(model=LLAMA, **adapter_kwargs(emulator)) | parser

    assert set(chain.invoke({"question": "Who painted the Mona Lisa?"})) == {"answer", "source"}


def test_langchain_classic_react_agent_runs_a_tool_then_answers(
    emulator: EmulatorServer, kind: str
) -> None:
    agents = pytest.importorskip("langchain_classic.agents")
    from langchain_core.tools import tool

    calls: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return f"Sunny and 21 C in {city}"

    @tool
    def multiply(numbers: str) -> str:
        """Multiply two integers given as 'a,b'."""
        a, b = (int(n) for n in numbers.split(","))
        return str(a * b)

    prompt = LCPromptTemplate.from_template(
        REACT_PROMPT.replace(
            "get_weather(city: str) -> str - Get the current weather for a city.\n"
            "multiply(a: int, b: int) -> int - Multiply two integers.",
            "{tools}",
        )
        .replace("[get_weather, multiply]", "[{tool_names}]")
        .replace("{question}", "{input}")
        .replace("{scratchpad}", "{agent_scratchpad}")
    )
    llm = ChatWorkersAI(model=LLAMA, **adapter_kwargs(emulator))
    agent = agents.create_react_agent(llm, [get_weather, multiply], prompt)
    executor = agents.AgentExecutor(agent=agent, tools=[get_weather, multiply], max_iterations=4)

    out = _chain_invoke(executor, kind, {"input": "What is the weather in Paris?"})

    assert calls == ["Paris"]
    assert out["output"].endswith("Sunny and 21 C in Paris")
