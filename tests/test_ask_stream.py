"""The explanation's look-ahead filter: the same output however the text is cut into tokens, words printed
long before their sentence ends, nothing a rule drops ever printed, and real token streams of the bundled model."""

from __future__ import annotations

import itertools
import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cortex.ask.answer import build_messages
from cortex.ask.explanation import ExplanationFilter, grounded_stream

NOT_INSTALLED = "No, nginx is not installed on this machine."
WHAT_IS = "nginx is a Debian package (not installed): small, powerful, scalable web/proxy server."
MEMORY = "This machine has 23.5 GiB of memory, 22.1 GiB of it available now."
INSTALLED = "git 2.39.5 is installed on this machine."
TRUTHS = [NOT_INSTALLED, MEMORY, INSTALLED, "This machine has 2 CPUs (2 cores)."]

# Words the rules look at, mixed with harmless ones, so random texts hit every rule and every half-match.
WORDS = (
    "nginx is a debian package not installed on this machine no yes it the this answer user provides as an ai lie "
    "false wrong true isn't has have 16 GB 23.5 GiB 4 cores git running web server serves pages and but run try "
    "docker.io Nginx It This The user's"
)
PLAIN = WORDS.split()
COMMANDS = ["`ls -l`", "`frobnicate -x`", "`sudo nosuchtool`", "`ss -tlnp`"]
PUNCTUATION = [".", ",", "!", "?", '"', ":", "\n", "(", ")"]
VOCABULARY = [*PLAIN, *COMMANDS, *PUNCTUATION, "`"]  # a lone backtick too: spans that never close


def filtered(chunks: list[str], lead: str = NOT_INSTALLED, truths: list[str] = TRUTHS) -> str:
    return "".join(grounded_stream(iter(chunks), lead, [lead, *truths], {"ss"}))


def as_tokens(text: str) -> list[str]:
    """Cut as a model's tokenizer does: each word with the space before it."""
    return re.findall(r"\s*\S+|\s+$", text)


def splits(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


texts = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=40).map(" ".join)
closed_spans = st.lists(st.sampled_from([*PLAIN, *COMMANDS, *PUNCTUATION]), min_size=1, max_size=40).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(text=texts, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=60))
def test_any_split_prints_what_the_whole_text_prints(text: str, cuts: list[int]) -> None:
    assert filtered(splits(text, cuts)) == filtered([text])


@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_character_by_character_prints_what_the_whole_text_prints(text: str) -> None:
    assert filtered(list(text)) == filtered([text])
    assert filtered(list(text), WHAT_IS, []) == filtered([text], WHAT_IS, [])
    for truths in ([INSTALLED], [MEMORY]):  # rules no fact can make hold are left out
        assert filtered(list(text), "", truths) == filtered([text], "", truths)


@settings(max_examples=300, deadline=None)
@given(text=closed_spans)
def test_nothing_a_rule_drops_is_printed(text: str) -> None:
    out = filtered(as_tokens(text)).lower()
    words = set(out.replace(".", " ").replace(",", " ").split())
    assert not words & {"lie", "false", "wrong"}, out
    assert "frobnicate" not in out and "nosuchtool" not in out, out
    assert "16 gb" not in out and "4 cores" not in out, out
    assert not re.search(r"\b(the user provides|as an ai|this answer)\b", out), out  # not "has an ai"


def test_words_are_printed_before_their_sentence_ends() -> None:
    rules = ExplanationFilter(NOT_INSTALLED, [NOT_INSTALLED, MEMORY], set())
    printed = [rules.feed(token) for token in ["Apt", " fetches", " packages", " from", " mirrors"]]
    # Each word as it comes: no rule begins at any word these may grow into; no full stop yet.
    assert printed == ["Apt", " fetches", " packages", " from", " mirrors"]
    assert rules.feed(". It") == ". "
    # "It has" waits for one more word: "It has 16 GB" would be dropped whole; "lo..." cannot become a number.
    assert rules.feed(" has") == ""
    assert rules.feed(" lo") == "It has lo"
    assert rules.feed("ts of users") == "ts of users"
    assert rules.feed(".") + rules.close() == "."


@pytest.mark.parametrize(
    ("lead", "truths", "token", "printed"),
    [
        (NOT_INSTALLED, [NOT_INSTALLED], "Apt", "Apt"),  # no rule begins at any word "Apt" may become
        ("", [], "Do", "Do"),  # ("To" may still become "Tool", which may say what a subject is)
        (MEMORY, [MEMORY], "Curl", "Curl"),
        (NOT_INSTALLED, [NOT_INSTALLED], "Th", ""),  # "The answer...", "This is wrong"
        (NOT_INSTALLED, [NOT_INSTALLED], "wro", ""),  # "wrong"
        (NOT_INSTALLED, [NOT_INSTALLED], "Ngi", ""),  # "Nginx [is installed]": a fact's subject
        (MEMORY, [MEMORY], "Thi", ""),  # the lead's first word
        ("", [], "`ls", ""),  # a command, to its closing backtick
    ],
)
def test_a_word_is_printed_while_still_growing_once_nothing_it_may_become_begins_a_rule(
    lead: str, truths: list[str], token: str, printed: str
) -> None:
    rules = ExplanationFilter(lead, truths, set())
    assert rules.feed(token) == printed
    if printed:  # the rest of the word follows as it comes
        assert rules.feed("s") + rules.feed(" do") + rules.feed(" it") == "s do"


@pytest.mark.parametrize(
    ("truths", "text", "printed"),
    [
        ([INSTALLED], "It is install", "It is install"),  # no fact says anything is not installed or running
        ([NOT_INSTALLED], "It is install", ""),  # "It is installed" would contradict it
        ([NOT_INSTALLED], "It isn", "It isn"),  # no fact says anything is installed or running
        ([INSTALLED], "It isn", ""),  # "It isn't installed" would contradict it
        ([INSTALLED], "It has 16", "It has 16"),  # no fact has an amount
        ([MEMORY], "It has 16", ""),  # "It has 16 GB" would be an amount no fact has
        ([INSTALLED], "It is n", ""),  # "It is not true": doubt needs no fact
    ],
)
def test_a_rule_no_fact_can_make_hold_holds_back_no_word(truths: list[str], text: str, printed: str) -> None:
    assert ExplanationFilter("", truths, set()).feed(text) == printed


def test_a_rule_after_the_start_closes_the_sentence_there() -> None:
    reply = "Nginx serves web pages, but it is installed here. It is small."
    assert filtered(as_tokens(reply)) == "Nginx serves web pages. It is small."
    assert filtered(["Apt is fine, as an AI would say. Done."]) == "Apt is fine. Done."


def test_an_echo_of_the_lead_is_held_while_it_copies_the_lead_and_dropped() -> None:
    copy = MEMORY.split(" ")
    rules = ExplanationFilter(MEMORY, [MEMORY], set())
    assert "".join(rules.feed(w if i == 0 else " " + w) for i, w in enumerate(copy)) == ""
    assert rules.feed(" It is plenty.") + rules.close() == "It is plenty."
    # A sentence that starts like the lead and then goes elsewhere is printed in full.
    assert filtered(["This machine has room for more services."], MEMORY, []) == (
        "This machine has room for more services."
    )


@pytest.mark.parametrize("subject", ["The package", "The command", "This tool", "The program", "The utility"])
def test_an_echo_after_the_words_that_say_what_the_subject_is_drops_the_whole_sentence(subject: str) -> None:
    lead = "htop is an interactive process viewer."
    reply = f"{subject} htop is an interactive process viewer. It shows processes."
    assert filtered(as_tokens(reply), lead, []) == "It shows processes."  # not "The package. It shows ..."
    assert filtered([f"{subject} is small. It is fast."], lead, []) == f"{subject} is small. It is fast."


def test_a_sentence_printed_once_is_not_printed_again() -> None:
    reply = "It sends a signal to the process. It is fast. It sends a signal to the process. Done now."
    assert filtered(as_tokens(reply), "", []) == "It sends a signal to the process. It is fast. Done now."
    assert filtered(list(reply), "", []) == filtered([reply], "", [])
    # held while it copies the earlier sentence, printed in full once it goes elsewhere
    assert filtered(["It sends a signal. It sends a message too."], "", []) == (
        "It sends a signal. It sends a message too."
    )


def test_talk_about_the_user_s_answer_is_dropped() -> None:
    reply = "The user's answer is: kill it. The user’s question was odd. The user's home holds the files."
    assert filtered(as_tokens(reply), "", []) == "The user's home holds the files."


def test_a_command_is_held_to_its_closing_backtick() -> None:
    rules = ExplanationFilter("", [], {"ss"})
    assert rules.feed("Then `ss -tlnp") == ""
    assert rules.feed("` lists sockets") == "Then `ss -tlnp` lists sockets"
    assert rules.feed(". Or try `nosuch") == ". "
    assert rules.feed(" -x` now.") + rules.close() == ""


# With the real bundled model --------------------------------------------------------------------------------


@pytest.mark.llm
@pytest.mark.parametrize(
    "question",
    ["What is nginx?", "Is nginx installed on this machine?", "How much memory does this machine have?",
     "What is the difference between apt and dpkg?"],
)  # fmt: skip
def test_real_token_streams_print_what_their_whole_text_prints(llama_server, question: str) -> None:
    """The model's own tokens (sub-words such as ' n', 'gin', 'x'), as llama-server streams them."""
    from cortex.ask.answer import lead_sentence
    from cortex.ask.facts import gather
    from cortex.config import load_config
    from cortex.providers import Options, get_provider

    config = load_config(env={**os.environ, **llama_server.env()})
    facts = gather(question)
    lead = lead_sentence(question, facts)
    truths = [lead, *(f.text for f in facts)]
    provider = get_provider("llama_cpp", config)
    for _ in range(2):
        tokens = list(provider.prompt(build_messages(question, facts, lead), Options(max_tokens=80, temperature=0.8)))
        assert len(tokens) > 5
        whole = "".join(grounded_stream(iter(["".join(tokens)]), lead, truths, set()))
        assert "".join(grounded_stream(iter(tokens), lead, truths, set())) == whole
