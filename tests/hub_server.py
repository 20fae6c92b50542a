"""A small in-memory server speaking the Hugging Face Hub HTTP API, for tests (standard library only).

It answers the endpoints the real ``huggingface_hub`` client (2.4) calls to create model repos,
commit files inline (``uploadMode: "regular"``), list commits/refs/trees and download files:
``POST /api/repos/create``, ``POST /api/validate-yaml``, ``GET /api/models/{repo}[/revision/{rev}]``,
``POST .../preupload/{rev}``, ``POST .../commit/{rev}`` (NDJSON), ``GET .../tree/{rev}``,
``GET .../commits/{rev}``, ``GET .../refs``, ``POST .../paths-info/{rev}``, ``GET /api/agent-harnesses``
(the client's telemetry registry) and ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``.

Not covered: LFS and Xet uploads (an ``lfsFile`` commit line is answered 400), pull requests,
tags, gated repos, datasets/spaces, pagination, resumed (Range) downloads, and real
authentication: a token is valid if it was registered with :meth:`HubServer.add_token`.
Rejected tokens are deliberately echoed in the error body (``echo_tokens``), as is the token of
a request failed on purpose with ``fail_next``, so tests can prove callers scrub tokens.
Every request is logged in ``requests`` and unknown routes in ``unhandled``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, unquote, urlsplit

GITATTRIBUTES = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def blob_oid(data: bytes) -> str:
    """Git blob id of ``data`` (what the Hub reports as a regular file's oid and ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    oid: str
    title: str
    message: str
    author: str
    date: str
    files: dict[str, bytes]  # the full tree at this commit


@dataclass
class Repo:
    repo_id: str
    owner: str
    private: bool
    commits: list[Commit] = field(default_factory=list)  # oldest first
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit oid

    def resolve(self, rev: str) -> Commit | None:
        oid = self.branches.get(rev, rev)
        return next((c for c in self.commits if c.oid == oid), None)

    def add_commit(
        self, title: str, message: str, author: str, files: dict[str, bytes], branch: str
    ) -> Commit:
        seed = f"{self.repo_id}\0{len(self.commits)}\0{title}\0{time.time_ns()}".encode()
        date = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        commit = Commit(hashlib.sha1(seed).hexdigest(), title, message, author, date, files)
        self.commits.append(commit)
        self.branches[branch] = commit.oid
        return commit


class HttpError(Exception):
    """An HTTP error answer: status, message (also sent as ``X-Error-Message``), ``X-Error-Code``."""

    def __init__(self, status: int, message: str, code: str | None = None, detail: str = ""):
        super().__init__(message)
        self.status, self.message, self.code, self.detail = status, message, code, detail


class HubServer:
    """The server: ``HubServer().start()`` ... ``stop()``; ``url`` is the endpoint for HF_ENDPOINT."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, str] = {}  # token -> user name
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self.echo_tokens = True
        self.fail_next: int | None = None  # answer the next request with this status (token echoed)
        self.lock = threading.RLock()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add_token(self, token: str, user: str) -> None:
        self.tokens[token] = user

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- helpers used by the handler -------------------------------------------------------------
    def user_for(self, auth: str | None) -> str | None:
        """The user a ``Bearer`` header authenticates, None without one; 401 for an unknown token."""
        if not auth:
            return None
        token = auth.removeprefix("Bearer ").strip()
        if token not in self.tokens:
            shown = f" (rejected token {token!r})" if self.echo_tokens else ""
            raise HttpError(401, "Invalid credentials in Authorization header", detail=shown)
        return self.tokens[token]

    def repo(self, repo_id: str, user: str | None, write: bool = False) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and user != repo.owner):
            raise HttpError(404 if user else 401, "Repository not found", "RepoNotFound")
        if write and user != repo.owner:
            raise HttpError(403 if user else 401, "You don't have write access to this repo")
        return repo

    def create(self, body: dict, user: str | None) -> tuple[int, dict]:
        if user is None:
            raise HttpError(401, "You must be authenticated to create a repo")
        namespace = body.get("organization") or user
        if namespace != user:
            raise HttpError(
                403, f"You don't have the rights to create a model under the namespace {namespace!r}"
            )
        repo_id = f"{namespace}/{body['name']}"
        url = f"{self.url}/{repo_id}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this model repo", "url": url}
        private = body.get("visibility") == "private" or bool(body.get("private"))
        repo = self.repos[repo_id] = Repo(repo_id, user, private)
        repo.add_commit("initial commit", "", user, {".gitattributes": GITATTRIBUTES}, "main")
        return 200, {"url": url, "name": repo_id, "id": repo_id}

    def commit(self, repo: Repo, rev: str, user: str, body: bytes) -> dict:
        head = repo.resolve(rev)
        if head is None or rev not in repo.branches:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        files, header = dict(head.files), {}
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: d for p, d in files.items() if not p.startswith(prefix)}
            else:
                raise HttpError(400, f"this test server does not support {key!r} commit operations")
        parent = header.get("parentCommit")
        if parent and parent != head.oid:
            raise HttpError(412, "A commit has happened since. Please refresh and try again.")
        new = repo.add_commit(header.get("summary", ""), header.get("description", ""), user, files, rev)
        url = f"{self.url}/{repo.repo_id}/commit/{new.oid}"
        return {"success": True, "commitOid": new.oid, "commitUrl": url, "pullRequestUrl": None}


def _entry(path: str, data: bytes) -> dict:
    return {"type": "file", "oid": blob_oid(data), "size": len(data), "path": path}


def _commit_json(c: Commit) -> dict:
    return {
        "id": c.oid,
        "title": c.title,
        "message": c.message,
        "date": c.date,
        "authors": [{"user": c.author}],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:
        self._dispatch(send_body=False)

    def do_POST(self) -> None:
        self._dispatch(send_body=True)

    def _dispatch(self, send_body: bool) -> None:
        hub: HubServer = self.server.hub  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        parts = [unquote(p) for p in split.path.strip("/").split("/")]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with hub.lock:
            hub.requests.append((self.command, split.path))
            try:
                if hub.fail_next and parts != ["api", "agent-harnesses"]:
                    status, hub.fail_next = hub.fail_next, None
                    auth = self.headers.get("Authorization")
                    raise HttpError(
                        status, "injected failure", detail=f" (request had Authorization {auth!r})"
                    )
                user = hub.user_for(self.headers.get("Authorization"))
                status, payload, headers = self._route(hub, parts, split.query, body, user)
            except HttpError as err:
                status, payload = err.status, {"error": err.message + err.detail}
                headers = {"X-Error-Message": err.message}
                if err.code:
                    headers["X-Error-Code"] = err.code
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        if not isinstance(payload, bytes):
            self.send_header("Content-Type", "application/json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _route(self, hub: HubServer, parts: list[str], query: str, body: bytes, user: str | None):
        method = self.command
        if parts[:2] == ["api", "repos"] and parts[2:] == ["create"] and method == "POST":
            status, payload = hub.create(json.loads(body or b"{}"), user)
            return status, payload, {}
        if parts == ["api", "validate-yaml"] and method == "POST":
            return 200, {"errors": [], "warnings": []}, {}
        if parts == ["api", "agent-harnesses"] and method == "GET":  # client telemetry registry
            return 200, {"standardEnvVars": [], "harnesses": {}}, {}
        if len(parts) >= 4 and parts[:2] == ["api", "models"]:
            return self._api_model(hub, f"{parts[2]}/{parts[3]}", parts[4:], query, body, user)
        if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(hub, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]), user)
        hub.unhandled.append((method, self.path))
        raise HttpError(404, f"this test server does not handle {method} {self.path}")

    def _api_model(self, hub: HubServer, repo_id: str, rest: list[str], query: str, body: bytes, user):
        method, action = self.command, (rest[0] if rest else "")
        repo = hub.repo(repo_id, user, write=action in ("preupload", "commit"))
        if action == "refs" and method == "GET":
            branches = [
                {"name": b, "ref": f"refs/heads/{b}", "targetCommit": o} for b, o in repo.branches.items()
            ]
            return 200, {"branches": branches, "converts": [], "tags": [], "pullRequests": []}, {}
        rev = rest[1] if len(rest) > 1 else "main"
        commit = repo.resolve(rev)
        if commit is None:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        if method == "GET" and action in ("", "revision"):
            info = {
                "id": repo.repo_id, "modelId": repo.repo_id, "author": repo.owner, "sha": commit.oid,
                "private": repo.private, "lastModified": commit.date, "tags": [],
                "siblings": [{"rfilename": p} for p in sorted(commit.files)],
            }  # fmt: skip
            return 200, info, {}
        if action == "preupload" and method == "POST":
            old = commit.files
            files = [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                 "oid": blob_oid(old[f["path"]]) if f["path"] in old else None}
                for f in json.loads(body)["files"]
            ]  # fmt: skip
            return 200, {"files": files}, {}
        if action == "commit" and method == "POST":
            return 200, hub.commit(repo, rev, user, body), {}
        if action == "commits" and method == "GET":
            history = repo.commits[: repo.commits.index(commit) + 1]
            return 200, [_commit_json(c) for c in reversed(history)], {}
        if action == "tree" and method == "GET":
            prefix = "/".join(rest[2:]).strip("/")
            recursive = parse_qs(query).get("recursive", ["false"])[0].lower() == "true"
            return 200, _tree(commit.files, prefix, recursive), {}
        if action == "paths-info" and method == "POST":
            form = parse_qs(body.decode())
            paths = form.get("paths") or json.loads(body or b"{}").get("paths", [])
            return 200, [_entry(p, commit.files[p]) for p in paths if p in commit.files], {}
        hub.unhandled.append((method, self.path))
        raise HttpError(404, f"this test server does not handle {method} {self.path}")

    def _resolve(self, hub: HubServer, repo_id: str, rev: str, path: str, user: str | None):
        repo = hub.repo(repo_id, user)
        commit = repo.resolve(rev)
        if commit is None:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        if path not in commit.files:
            raise HttpError(404, f"{path} does not exist on {rev}", "EntryNotFound")
        data = commit.files[path]
        headers = {
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{blob_oid(data)}"',
            "Content-Type": "application/octet-stream",
        }
        return 200, data, headers


def _tree(files: dict[str, bytes], prefix: str, recursive: bool) -> list[dict]:
    base = f"{prefix}/" if prefix else ""
    entries: dict[str, dict] = {}
    for path in sorted(p for p in files if p.startswith(base)):
        rest = path[len(base) :]
        if recursive or "/" not in rest:
            entries[path] = _entry(path, files[path])
        else:
            folder = base + rest.split("/")[0]
            entries.setdefault(
                folder, {"type": "directory", "oid": blob_oid(folder.encode()), "path": folder}
            )
    return list(entries.values())
