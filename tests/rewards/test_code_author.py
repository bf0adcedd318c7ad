"""A language model writes reward code: the real client against an OpenAI-compatible server on a
local socket (the one fake: the remote service), the real judging, storing and short PPO runs."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workbench.cli.main import main
from workbench.data import Workspace
from workbench.operations.authoring import WriteReward
from workbench.rewards.code.author import AuthorConfig, ChatClient, extract_code
from workbench.rewards.code.model import EXAMPLE

ANSWERS = [
    f"Here is a reward:\n```python\n{EXAMPLE}```\nIt rewards reaching, then pushing.",
    "```python\nimport os\ndef reward(f):\n    return os.getpid()\n```",
    "```python\ndef reward(f)\n    return 0\n```",
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
    assert main(["teach", "Push", "--labels", "8", *ws]) == 0
    return root


def test_candidates_are_judged_by_the_workspace_trained_and_reflected_on(server, push,
                                                                        monkeypatch):
    monkeypatch.setenv("WORKBENCH_LLM_KEY", "sk-test")
    author = AuthorConfig(base_url=server, model="tiny", candidates=3, rounds=2, train_best=1,
                          train_steps=1024)
    result = WriteReward(workspace=push, scene="Push", goal="push the cube onto the pad",
                         author=author).perform(_Silent())
    candidates = result["candidates"]
    assert len(candidates) == 6  # every candidate of every round is kept
    refused = [c for c in candidates if c["error"]]
    assert len(refused) == 4
    assert {c["error"].split(":")[0] for c in refused} == {"line 1"}  # import os; syntax
    good = [c for c in candidates if not c["error"]]
    for c in good:
        assert {"spearman_progress", "success_vs_failure", "label_accuracy"} <= set(c["scores"])
        assert "reward_code-Push" in c["model"]
    assert all(0.0 <= c["training"]["success_rate"] <= 1.0 for c in good)
    assert set(good[0]["training"]["terms"]) == {"reach", "push"}
    with Workspace.open(push) as ws:  # each judged candidate is a stored version
        assert {c["model"] for c in good} <= {m["path"] for m in ws.models("Push")}
    assert result["best"] == good[0]["model"]

    first, second = FakeModel.requests
    assert first["path"] == "/v1/chat/completions" and first["model"] == "tiny"
    assert first["n"] == 3
    brief = first["messages"][-1]["content"]
    assert "hand_to_cube: size 3" in brief and "push the cube onto the pad" in brief
    reflected = second["messages"][-1]["content"]
    assert "true success" in reflected and "reach" in reflected and "refused" in reflected
    assert FakeModel.headers_seen[0]["Authorization"] == "Bearer sk-test"


def test_nothing_is_sent_without_an_endpoint(server, push):
    with pytest.raises(ValueError, match="^base_url: give an OpenAI-compatible endpoint"):
        WriteReward(workspace=push, scene="Push", author=AuthorConfig(model="tiny")
                    ).perform(_Silent())
    assert FakeModel.requests == []


def test_a_server_that_is_down_or_answers_nonsense_is_one_line(push, capsys):
    code = main(["write-reward", "Push", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                 "--workspace", str(push)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "base_url http://127.0.0.1:9/v1" in err and "\n" not in err


def test_answers_are_read_from_their_fenced_block(server):
    assert extract_code(ANSWERS[0]) == EXAMPLE
    assert extract_code("def reward(f):\n    return 0") == "def reward(f):\n    return 0\n"
    client = ChatClient(AuthorConfig(base_url=server, model="m"))
    assert client.ask([{"role": "user", "content": "hi"}], 2) == ANSWERS[:2]


class _Silent:
    previews = False

    def emit(self, kind, **data):
        pass

    def should_stop(self):
        return False
