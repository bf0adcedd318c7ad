"""A language model writes reward code: the real client against an OpenAI-compatible server on a
local socket (the one fake: the remote service), the real judging, storing and short PPO runs."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workbench.cli.main import main
from workbench.data import Workspace
from workbench.operations import Progress
from workbench.operations.authoring import WriteReward
from workbench.rewards.code.author import AuthorConfig, ChatClient, extract_code
from workbench.rewards.code.model import EXAMPLE

WEAK = "def reward(f):\n    return f['cube_pos'][:, 2]  # the cube's height: says little\n"
ANSWERS = [  # one of each quality, the good one last so that order does not rank it
    "```python\ndef reward(f)\n    return 0\n```",  # broken
    "```python\nimport os\ndef reward(f):\n    return os.getpid()\n```",  # hostile
    f"```python\n{WEAK}```",
    f"Here is a reward:\n```python\n{EXAMPLE}```\nIt rewards reaching, then pushing.",
]


class FakeModel(BaseHTTPRequestHandler):
    requests: list[dict] = []
    headers_seen: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeModel.requests.append({"path": self.path, **body})
        FakeModel.headers_seen.append(dict(self.headers))
        choices = [{"index": i, "message": {"role": "assistant",
                                            "content": ANSWERS[i % len(ANSWERS)]}}
                   for i in range(body.get("n", 1))]
        data = json.dumps({"id": "x", "object": "chat.completion", "choices": choices}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    FakeModel.requests, FakeModel.headers_seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeModel)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


@pytest.fixture(scope="module")
def push(tmp_path_factory):
    root = tmp_path_factory.mktemp("author") / "ws"
    ws = ["--workspace", str(root)]
    assert main(["record", "Push", "--scripted", "2", "--failures", *ws]) == 0
    assert main(["teach", "Push", "--labels", "30", *ws]) == 0
    return root


def test_the_good_candidate_ranks_first_by_what_the_workspace_knows_before_any_rl(server,
                                                                                 push):
    author = AuthorConfig(base_url=server, model="tiny", candidates=4, rounds=1, train_best=0)
    result = WriteReward(workspace=push, scene="Push", author=author).perform(Progress())
    candidates = result["candidates"]
    assert [c["source"] for c in candidates[:2]] == [EXAMPLE, WEAK]
    good, weak = candidates[:2]
    assert good["scores"]["label_accuracy"] > weak["scores"]["label_accuracy"]
    assert good["training"] == {} and weak["training"] == {}  # no RL was run
    refused = {c["error"].partition(":")[2].strip() for c in candidates[2:]}
    assert any("import os" in e for e in refused)  # the hostile one, refused
    assert any("expected ':'" in e for e in refused)  # the broken one's error, with its line
    assert all(c["error"].startswith("line 1") for c in candidates[2:])
    with Workspace.open(push) as ws:  # the chosen one is now the scene's newest reward
        newest = ws.models("Push")[-1]
    assert newest["family"] == "reward_code" and result["best"] == newest["path"]
    assert open(f"{newest['path']}/reward.py").read() == EXAMPLE


def test_the_best_train_briefly_and_their_results_go_back_to_the_model(server, push,
                                                                       monkeypatch):
    monkeypatch.setenv("WORKBENCH_LLM_KEY", "sk-test")
    author = AuthorConfig(base_url=server, model="tiny", candidates=4, rounds=2, train_best=1,
                          train_steps=1024)
    result = WriteReward(workspace=push, scene="Push", goal="push the cube onto the pad",
                         author=author).perform(Progress())
    candidates = result["candidates"]
    assert len(candidates) == 8  # every candidate of every round is kept
    good = [c for c in candidates if c["source"] == EXAMPLE]
    assert all(0.0 <= c["training"]["success_rate"] <= 1.0 for c in good)
    assert set(good[0]["training"]["terms"]) == {"reach", "push"}
    with Workspace.open(push) as ws:  # each judged candidate is a stored version
        stored = {m["path"] for m in ws.models("Push")}
    assert {c["model"] for c in candidates if not c["error"]} <= stored

    first, second = FakeModel.requests
    assert first["path"] == "/v1/chat/completions" and first["model"] == "tiny"
    assert first["n"] == 4
    brief = first["messages"][-1]["content"]
    assert "hand_to_cube: size 3" in brief and "push the cube onto the pad" in brief
    reflected = second["messages"][-1]["content"]
    assert "true success" in reflected and "reach" in reflected and "refused" in reflected
    assert FakeModel.headers_seen[0]["Authorization"] == "Bearer sk-test"


def test_nothing_is_sent_without_an_endpoint(server, push):
    with pytest.raises(ValueError, match="^base_url: give an OpenAI-compatible endpoint"):
        WriteReward(workspace=push, scene="Push", author=AuthorConfig(model="tiny")
                    ).perform(Progress())
    assert FakeModel.requests == []


def test_a_server_that_is_down_or_answers_nonsense_is_one_line(push, capsys):
    code = main(["write-reward", "Push", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                 "--workspace", str(push)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "base_url http://127.0.0.1:9/v1" in err and "\n" not in err


def test_answers_are_read_from_their_fenced_block(server):
    assert extract_code("def reward(f):\n    return 0") == "def reward(f):\n    return 0\n"
    client = ChatClient(AuthorConfig(base_url=server, model="m"))
    assert client.ask([{"role": "user", "content": "hi"}], 2) == ANSWERS[:2]
    assert extract_code(ANSWERS[3]) == EXAMPLE



def test_on_a_scene_without_takes_the_trained_rank_by_their_reference_return(server, tmp_path,
                                                                          monkeypatch):
    """CheetahRun has no demonstrator and here no takes: the candidates are checked on random
    actions, and the short runs, which seldom succeed there, rank by the scene's own measure."""
    forward = "def reward(f):\n    return f['velocity'][:, 3]\n"
    still = "def reward(f):\n    return -abs(f['velocity'][:, 3])\n"
    monkeypatch.setattr(sys.modules[__name__], "ANSWERS",
                        [f"```python\n{forward}```", f"```python\n{still}```"])
    author = AuthorConfig(base_url=server, model="tiny", candidates=2, rounds=1, train_best=2,
                          train_steps=1024)
    result = WriteReward(workspace=tmp_path / "ws", scene="CheetahRun",
                         author=author).perform(Progress())
    candidates = result["candidates"]
    assert {c["source"] for c in candidates} == {forward, still}
    brief = FakeModel.requests[0]["messages"][-1]["content"]  # each feature says its frame
    assert "- velocity: size 6: the torso's velocity in its own frame" in brief
    assert "\nforward_speed = world_velocity[:, 0]" in brief  # and how to turn it
    assert all(not c["error"] and c["scores"] == {} for c in candidates)  # none to judge
    ranks = [(c["training"]["success_rate"], c["training"]["reference_return"])
             for c in candidates]
    assert ranks == sorted(ranks, reverse=True)
    with Workspace.open(tmp_path / "ws") as ws:  # the first of them is the scene's newest
        newest = ws.models("CheetahRun")[-1]
    assert result["best"] == newest["path"]
    assert open(f"{newest['path']}/reward.py").read() == candidates[0]["source"]
