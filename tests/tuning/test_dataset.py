"""parity tune dataset: ledger rows of one task by one teacher, feedback, privacy, the split."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from parity.config import Settings
from parity.evaluation.records import Answer, Item, Verdict
from parity.evaluation.rundir import JsonlWriter, Manifest, RunDir
from parity.store.factory import open_ledger
from parity.tuning.dataset import Source, build_dataset
from parity.tuning.dedupe import clusters, jaccard, shingles
from parity.tuning.examples import Example, read_examples
from parity.tuning.privacy import PrivacyPolicy
from parity.tuning.sources import from_gaptest
from parity.tuning.ticket_example import generate, solve, ticket_messages
from tests.tuning.common import (
    TEACHER,
    add_feedback,
    cli,
    ledger_counts,
    teacher_row,
    ticket_ledger,
    write_config,
)

EMAIL = "Reach me at maria.lopez@example.com."
SECRET = "My API key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD."


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _build(tmp_path: Path, *extra: str, config: Path, url: str) -> dict[str, Any]:
    out = tmp_path / "ds"
    done = cli(
        "tune",
        "dataset",
        "--task",
        "ticket-extract",
        "--teacher",
        TEACHER,
        "--out",
        str(out),
        "--config",
        str(config),
        "--ledger",
        url,
        "--tokenizer",
        "estimate",
        "--json",
        *extra,
    )
    assert done.returncode == 0, done.stderr
    manifest: dict[str, Any] = json.loads(done.stdout)
    return manifest


def test_the_ledger_gives_the_teachers_good_answers_with_corrections(tmp_path: Path) -> None:
    url = ticket_ledger(tmp_path / "ledger.db", 60)
    tickets = generate(70, seed=0)[60:]
    store = open_ledger(url)
    store.record(
        [
            teacher_row(100, tickets[0][0], tickets[0][1], model="cheap"),
            teacher_row(101, tickets[1][0], "", status=502),
            teacher_row(102, tickets[2][0], "not json", failed_validator=True),
            teacher_row(103, tickets[3][0], tickets[3][1], task="other-task"),
            teacher_row(104, tickets[4][0] + " " + SECRET, tickets[4][1]),
            teacher_row(105, tickets[5][0] + " " + EMAIL, tickets[5][1]),
            teacher_row(106, tickets[6][0], "a wrong answer"),
            teacher_row(107, tickets[7][0], "another wrong answer"),
            teacher_row(108, tickets[8][0], "{}"),
            teacher_row(109, generate(1, seed=0)[0][0], generate(1, seed=0)[0][1]),
        ]
    )
    store.close()
    add_feedback(url, "req_00106", good=False)
    add_feedback(url, "req_00107", good=False, correction=tickets[7][1])
    add_feedback(url, "req_00108", score=0.2)
    config = write_config(tmp_path, url)
    before = ledger_counts(url)

    manifest = _build(tmp_path, "--min-examples", "10", config=config, url=url)

    assert ledger_counts(url) == before
    excluded = manifest["excluded"]
    assert excluded["answered by another model"] == 1
    assert excluded["request failed"] == 1
    assert excluded["failed the route's validators"] == 1
    assert excluded["marked bad by feedback"] == 2  # good: false, and a score of 0.2
    assert excluded["contains a secret"] == 1
    assert excluded["exact duplicate"] == 1
    assert manifest["counts"]["corrected_by_feedback"] == 1
    assert manifest["privacy"]["redacted"] == 1  # off premises by default: the email is masked
    train = read_examples(tmp_path / "ds" / "train.jsonl")
    held = read_examples(tmp_path / "ds" / "heldout.jsonl")
    assert len(train) + len(held) == manifest["counts"]["kept"] == 62
    everything = [*train, *held]
    texts = json.dumps([e.messages for e in everything])
    assert "sk-proj-" not in texts and "maria.lopez@example.com" not in texts
    assert "<EMAIL_1>" in texts
    assert "a wrong answer" not in texts and "not json" not in texts
    corrected = [e for e in everything if tickets[7][0] in e.prompt]
    assert [e.answer for e in corrected] == [tickets[7][1]]
    assert all(solve(e.messages[1]["content"]) in (e.answer, None) for e in everything)
    for name in ("train.jsonl", "heldout.jsonl"):
        digest = hashlib.sha256((tmp_path / "ds" / name).read_bytes()).hexdigest()
        assert manifest["files"][name] == digest
    assert manifest["sources"][0]["teacher"] == TEACHER
    assert manifest["tokens"]["total"]["n"] == 62


def test_the_split_keeps_near_duplicates_on_one_side(tmp_path: Path) -> None:
    base = generate(40, seed=3)
    rows = [(t, a) for t, a in base]
    rows += [(t.replace(".", "!", 1), a) for t, a in base[:15]]  # near duplicates of 15
    examples = [
        Example([*ticket_messages(t), {"role": "assistant", "content": a}], "jsonl", str(i))
        for i, (t, a) in enumerate(rows)
    ]
    policy = PrivacyPolicy(Settings.model_validate({"tune": {"on_premises": True}}))
    built = build_dataset(
        [Source({"kind": "test"}, examples)], policy, heldout=0.3, near=0.85, min_examples=5
    )
    train_sets = [shingles(e.prompt) for e in built.train]
    for held in built.heldout:
        mine = shingles(held.prompt)
        assert max(jaccard(mine, other) for other in train_sets) < 0.85
    assert built.manifest["dedupe"]["near_groups"] == 40
    assert len(built.train) + len(built.heldout) + built.manifest["excluded"].get(
        "near duplicate within the held-out split", 0
    ) == len(rows)


def test_near_duplicates_are_found_and_only_they() -> None:
    texts = [
        "The blender arrived broken, order A-12345, please help me.",
        "The blender arrived broken, order A-12345, please help me!",
        "My password reset link does not work and I cannot log in at all.",
        "the   BLENDER arrived broken, order A-12345, please help me.",
    ]
    groups = clusters(texts, 0.85)
    assert groups[0] == groups[1] == groups[3] != groups[2]


def test_privacy_policy_on_premises_keeps_pii_but_never_secrets() -> None:
    ticket, answer = generate(1, seed=9)[0]
    with_email = Example(
        [*ticket_messages(ticket + " " + EMAIL), {"role": "assistant", "content": answer}],
        "jsonl",
        "1",
    )
    with_secret = Example(
        [*ticket_messages(ticket + " " + SECRET), {"role": "assistant", "content": answer}],
        "jsonl",
        "2",
    )
    for policy_section, kept_email in (
        ({"on_premises": True}, True),
        ({"sensitive": "redact"}, False),
        ({"sensitive": "drop"}, False),
    ):
        policy = PrivacyPolicy(Settings.model_validate({"tune": policy_section}))
        why: Any = __import__("collections").Counter()
        kept = policy.apply([with_email, with_secret], why)
        assert why["contains a secret"] == 1
        texts = json.dumps([e.messages for e in kept])
        assert "sk-proj-" not in texts
        assert ("maria.lopez@example.com" in texts) is kept_email
        if policy_section.get("sensitive") == "drop":
            assert kept == [] and why["PII/PHI (tune.sensitive: drop)"] == 1


def _gaptest_run(folder: Path) -> Path:
    run = RunDir(folder)
    tickets = generate(3, seed=5)
    items = [Item(id=f"i{n}", messages=ticket_messages(t)) for n, (t, _) in enumerate(tickets)]
    run.write_items(items)
    run.write_manifest(Manifest(source="test", items=3))
    answers = JsonlWriter(run.answers_path)
    verdicts = JsonlWriter(run.verdicts_path)
    for n, (_, right) in enumerate(tickets):
        answers.write(Answer(item=f"i{n}", model="big", text=right).to_json())
        answers.write(Answer(item=f"i{n}", model="small", text="wrong").to_json())
        big, small = (1.0, 0.0) if n < 2 else (0.0, 0.0)
        verdicts.write(Verdict(item=f"i{n}", judge="exact", model="big", score=big).to_json())
        verdicts.write(Verdict(item=f"i{n}", judge="exact", model="small", score=small).to_json())
    answers.close()
    verdicts.close()
    return folder


def test_a_gap_test_run_gives_its_winning_answers(tmp_path: Path) -> None:
    examples, why, read = from_gaptest(_gaptest_run(tmp_path / "run"))
    tickets = generate(3, seed=5)
    assert read == 3
    assert [e.answer for e in examples] == [tickets[0][1], tickets[1][1]]
    assert why == {"no winning answer": 1}


@pytest.mark.parametrize(
    ("prompts", "args", "message"),
    [
        ("off", (), "ledger.prompts: off"),
        ("full", ("--task", "no-such-task"), "no requests of task 'no-such-task'"),
        ("full", ("--teacher", "nobody"), "unknown teacher 'nobody'"),
        ("full", ("--min-examples", "500"), "fewer than the minimum of 500"),
        ("full", ("--task", "bodiless"), "stored without their prompt"),
    ],
)
def test_bad_input_is_one_line_and_leaves_everything_as_it_was(
    tmp_path: Path, prompts: str, args: tuple[str, ...], message: str
) -> None:
    url = ticket_ledger(tmp_path / "ledger.db", 30)
    store = open_ledger(url)  # requests served while ledger.prompts was off
    store.record([teacher_row(600, "t", "a", body=False, task="bodiless")])
    store.close()
    config = write_config(tmp_path, url, ledger={"url": url, "prompts": prompts})
    before = ledger_counts(url)
    options = {"--task": "ticket-extract", "--teacher": TEACHER}
    options.update(zip(args[::2], args[1::2], strict=True))
    done = cli(
        "tune",
        "dataset",
        *[x for kv in options.items() for x in kv],
        "--out",
        str(tmp_path / "ds"),
        "--config",
        str(config),
        "--tokenizer",
        "estimate",
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "ds").exists()
    assert ledger_counts(url) == before


def test_a_jsonl_in_the_wrong_format_names_its_line(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "o"}]}
    bad = {"messages": [{"role": "user", "content": "hi"}]}
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    done = cli(
        "tune",
        "dataset",
        "--from-jsonl",
        str(path),
        "--out",
        str(tmp_path / "ds"),
        "--tokenizer",
        "estimate",
    )
    assert done.returncode == 2
    assert f"{path}:2: the last message must be the assistant's answer" in done.stderr
    assert not (tmp_path / "ds").exists()
