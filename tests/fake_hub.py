"""MOCK at the edge of the machine: a tiny fake Hugging Face Hub on 127.0.0.1.

It implements only what ``create_repo`` + ``upload_folder`` call in the installed
``huggingface_hub``: ``POST /api/repos/create``, ``POST /api/{type}s/{repo}/preupload/{rev}``
(answering "regular" for every file, so contents travel base64 in the commit instead of
through LFS/Xet) and ``POST /api/{type}s/{repo}/commit/{rev}`` (ndjson). It also answers
``POST /api/validate-yaml`` (parses the card's front matter). It records every request so
tests can assert what was sent; anything else gets a 404 and is recorded too.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml


class FakeHub:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.repos: dict[str, dict[str, Any]] = {}
        self.commits: list[dict[str, Any]] = []
        self.validated: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _reply(self, status: int, doc: Any) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                hub.requests.append({"method": "GET", "path": self.path})
                self._reply(404, {"error": f"fake hub: GET {self.path} not implemented"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                hub.requests.append(
                    {"method": "POST", "path": self.path, "auth": self.headers.get("Authorization")}
                )
                parts = path.strip("/").split("/")
                if path == "/api/repos/create":
                    doc = json.loads(body)
                    repo = f"{doc.get('organization')}/{doc['name']}"
                    hub.repos[repo] = doc
                    self._reply(200, {"url": f"{hub.url}/{doc.get('type')}s/{repo}", "name": repo})
                elif path == "/api/validate-yaml":  # the README's YAML front matter
                    content = json.loads(body)["content"]
                    hub.validated.append(content)
                    try:
                        meta = yaml.safe_load(content.split("---")[1])
                        ok = isinstance(meta, dict) and "configs" in meta
                    except (yaml.YAMLError, IndexError):
                        ok = False
                    errors = [] if ok else [{"message": "front matter is not YAML with configs"}]
                    self._reply(400 if errors else 200, {"errors": errors, "warnings": []})
                elif len(parts) == 6 and parts[0] == "api" and parts[4] == "preupload":
                    files = json.loads(body)["files"]
                    self._reply(
                        200,
                        {
                            "files": [
                                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                for f in files
                            ]
                        },
                    )
                elif len(parts) == 6 and parts[0] == "api" and parts[4] == "commit":
                    lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
                    files = {
                        x["value"]["path"]: base64.b64decode(x["value"]["content"])
                        for x in lines
                        if x["key"] == "file"
                    }
                    header = next(x["value"] for x in lines if x["key"] == "header")
                    repo = f"{parts[2]}/{parts[3]}"
                    hub.commits.append(
                        {
                            "repo": repo,
                            "type": parts[1],
                            "header": header,
                            "files": files,
                            "other_keys": [
                                x["key"] for x in lines if x["key"] not in ("file", "header")
                            ],
                        }
                    )
                    self._reply(
                        200,
                        {
                            "commitUrl": f"{hub.url}/{parts[1]}/{repo}/commit/{'a' * 40}",
                            "commitOid": "a" * 40,
                            "pullRequestUrl": None,
                        },
                    )
                else:
                    self._reply(404, {"error": f"fake hub: POST {path} not implemented"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
