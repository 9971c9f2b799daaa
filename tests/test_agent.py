"""``deepzoo agent`` against a scripted model on loopback: tool calls run, a malformed call, an unknown tool
and a path out of the folder come back to the model as errors, the transcript records every event, runs
stay inside the agent's folder, and the step budget stops the loop."""

from __future__ import annotations

import json

import pytest

from deepzoo.cli import main
from deepzoo.errors import ConfigError
from deepzoo.text.agent import inside

from .scripted_llm import ScriptedServer, assistant, call

pytestmark = pytest.mark.usefixtures("one_thread")


def agent(server, runs, *extra: str) -> int:
    return main(["agent", "train something small and report", "--llm-url", server.url, "--llm-model", "scripted",
                 "--runs-dir", str(runs), *extra])


def tool_results(request: dict) -> dict[str, str]:
    """tool_call_id → content of the tool messages the model was sent."""
    return {m["tool_call_id"]: m["content"] for m in request["messages"] if m["role"] == "tool"}


def test_scripted_session_with_bad_calls_training_and_answer(runs, capsys):
    script = [
        assistant("I should read about the MLP first.",
                  [call("search_docs", {"query": "multilayer perceptron"}, "c1")]),
        assistant(None, [call("train", '{"model": "mlp", "data": "moons"', "c2")]),  # JSON cut short
        assistant(None, [call("delete_files", {"path": "/"}, "c3"), call("train", {"modle": "mlp"}, "c4")]),
        assistant(None, [call("train", {"model": "mlp", "data": "csv:../../secret.csv?target=y"}, "c5")]),
        assistant(None, [call("train", {"model": "mlp", "data": "moons", "epochs": 1, "name": "m1"}, "c6")]),
        assistant(None, [call("evaluate", {"run": "m1"}, "c7"), call("evaluate", {"run": "../m1"}, "c8")]),
        assistant("The MLP trained on moons for one epoch."),
    ]
    with ScriptedServer(script) as server:
        status = agent(server, runs)
    out = capsys.readouterr().out
    assert status == 0
    assert "[step 7] answer: The MLP trained on moons for one epoch." in out
    # every request offered the six tools and came back with the previous results
    assert [t["function"]["name"] for t in server.requests[0]["tools"]] == [
        "search_docs", "list_models", "show_model", "list_datasets", "train", "evaluate"]
    results = tool_results(server.requests[-1])
    assert results["c1"].startswith("[1] ")
    assert results["c2"].startswith("error: the arguments of train are not valid JSON")
    assert results["c3"] == ("error: there is no tool named 'delete_files'; the tools are search_docs, list_models, "
                             "show_model, list_datasets, train, evaluate")
    assert results["c4"].startswith("error: train arguments: unknown modle; missing model, data")
    assert results["c5"].startswith("error: ../../secret.csv: outside the agent's folder")
    assert results["c6"].startswith("trained run m1 (mlp on moons, 1 epoch(s)): test/accuracy ")
    assert "valid/loss" in results["c7"] and "train/accuracy" in results["c7"]
    assert results["c8"].startswith("error: run '../m1': a name is letters")
    # the agent's folder holds the transcript and the run; nothing else was written under the runs root
    folder = runs / "agent"
    assert sorted(p.name for p in runs.iterdir()) == ["agent"]
    assert (folder / "runs" / "m1" / "model.safetensors").is_file()
    events = [json.loads(line) for line in (folder / "transcript.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in events] == ["task", "thought", "call", "result", "call", "result", "call", "result",
                                           "call", "result", "call", "result", "call", "result", "call", "result",
                                           "call", "result", "answer"]
    assert events[2] == {"step": 1, "kind": "call", "tool": "search_docs",
                         "arguments": '{"query": "multilayer perceptron"}', "id": "c1"}
    text = (folder / "transcript.txt").read_text()
    assert "[step 2] call: train {\"model\": \"mlp\", \"data\": \"moons\"" in text


def test_step_budget_stops_the_loop_and_a_second_agent_gets_its_own_folder(runs, capsys):
    looping = [assistant(None, [call("list_datasets", {}, f"c{i}")]) for i in range(3)]
    with ScriptedServer(looping[:2]) as server:
        assert agent(server, runs, "--max-steps", "2") == 1
    with ScriptedServer([assistant("done")]) as server:
        assert agent(server, runs) == 0
    assert sorted(p.name for p in runs.iterdir()) == ["agent", "agent-2"]
    last = json.loads((runs / "agent" / "transcript.jsonl").read_text().splitlines()[-1])
    assert last == {"step": 2, "kind": "stop",
                    "text": "the step budget (2 model turns) ran out before a final answer"}
    assert main(["agent", "x", "--max-steps", "0", "--runs-dir", str(runs)]) == 2
    assert "--max-steps 0: the agent needs at least one step" in capsys.readouterr().err
    assert sorted(p.name for p in runs.iterdir()) == ["agent", "agent-2"]


def test_inside_refuses_paths_that_leave_the_folder(tmp_path):
    folder = tmp_path / "agent"
    (folder / "data").mkdir(parents=True)
    (folder / "out").symlink_to(tmp_path)
    assert inside(folder, "data/x.csv") == (folder / "data" / "x.csv").resolve()
    for escaping in ("../x.csv", "/etc/passwd", "data/../../x.csv", "out/x.csv"):
        with pytest.raises(ConfigError, match="outside the agent's folder"):
            inside(folder, escaping)
