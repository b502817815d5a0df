"""What the browser suite and its seeding share: the demo clinic's officer token and admin key, the daemon's API,
and writing, signing and submitting events with vigilctl (event, sign, submit), as an operator would.

Nothing here guesses file names inside the demo folder: the officer token is the plain token in tokens.txt whose
SHA-256 vigil.env's VIGIL_AUTH_TOKENS gives the officer role, and the admin key is the key file in the demo folder
whose public key vigil.env's VIGIL_TRUST_ADMINKEYS trusts. (OFFICER_TOKEN and ADMIN_KEY_FILE override both.)
"""

import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TOKEN_WORD = re.compile(r"[A-Za-z0-9_\-.~+/=]{4,}")


def officer_token(tokens_file, auth_tokens=None):
    """The plain token of the officer role, from tokens.txt (any layout: the token is recognised by its hash)."""
    if os.environ.get("OFFICER_TOKEN"):
        return os.environ["OFFICER_TOKEN"]
    auth_tokens = auth_tokens if auth_tokens is not None else os.environ.get("VIGIL_AUTH_TOKENS", "")
    roles = {}
    for item in auth_tokens.split(","):
        digest, _, role = item.strip().partition(":")
        if digest:
            roles[digest.lower()] = role.strip()
    text = Path(tokens_file).read_text()
    for word in TOKEN_WORD.findall(text):
        if roles.get(hashlib.sha256(word.encode()).hexdigest()) == "officer":
            return word
    # No VIGIL_AUTH_TOKENS to match against: the longest word on the line that names the officer role.
    for line in text.splitlines():
        if re.search(r"\bofficer\b", line, re.I) and not line.lstrip().startswith("#"):
            words = [w for w in TOKEN_WORD.findall(line) if w.lower() != "officer"]
            if words:
                return max(words, key=len)
    raise RuntimeError(f"no officer token in {tokens_file}")


def public_key(vigilctl, key_file):
    return subprocess.run([vigilctl, "pubkey", "--key", str(key_file)], check=True, capture_output=True,
                          text=True).stdout.strip()


def admin_key_file(demo_dir, vigilctl, trust_admin_keys=None):
    """The demo's admin private key: the *.key file under demo_dir whose public key is a trusted admin root."""
    if os.environ.get("ADMIN_KEY_FILE"):
        return Path(os.environ["ADMIN_KEY_FILE"])
    trust_admin_keys = trust_admin_keys if trust_admin_keys is not None else os.environ.get(
        "VIGIL_TRUST_ADMINKEYS", "")
    trusted = {item.strip().split(":", 1)[0] for item in trust_admin_keys.split(",") if item.strip()}
    candidates = sorted(Path(demo_dir).rglob("*.key"), key=lambda p: ("admin" not in p.name.lower(), str(p)))
    for candidate in candidates:
        try:
            if public_key(vigilctl, candidate) in trusted:
                return candidate
        except subprocess.CalledProcessError:
            continue
    raise RuntimeError(f"no key file under {demo_dir} matches VIGIL_TRUST_ADMINKEYS")


def admin_public_keys(trust_admin_keys=None):
    trust_admin_keys = trust_admin_keys if trust_admin_keys is not None else os.environ.get(
        "VIGIL_TRUST_ADMINKEYS", "")
    return [item.strip().split(":", 1)[0] for item in trust_admin_keys.split(",") if item.strip()]


class Api:
    """The daemon's HTTP API with a reader token."""

    def __init__(self, base_url, token):
        self.base = base_url.rstrip("/")
        self.token = token

    def get(self, path, expect=(200,)):
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        if status not in expect:
            raise AssertionError(f"GET {path}: {status} {body[:300]!r}")
        return json.loads(body) if body else None

    def alerts(self, **query):
        query = "&".join(f"{k}={v}" for k, v in query.items())
        found, after = [], None
        while True:
            page = self.get("/v1/alerts?" + query + (f"&after={after}" if after else ""))
            found += page["alerts"]
            after = page.get("next")
            if not after:
                return found

    def wait_for(self, what, probe, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.2)


class Signer:
    """Writes, signs and submits events with vigilctl, in a scratch folder."""

    def __init__(self, vigilctl, url, workdir=None):
        self.vigilctl = vigilctl
        self.url = url
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="vigil-events-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def run(self, *args):
        result = subprocess.run([self.vigilctl, *map(str, args)], capture_output=True, text=True,
                                env={**os.environ, "VIGIL_URL": self.url})
        if result.returncode != 0:
            raise RuntimeError(f"vigilctl {' '.join(map(str, args[:2]))}: {result.stderr.strip()}"
                               f" {result.stdout.strip()}")
        return result.stdout

    def keygen(self, name):
        path = self.workdir / f"{name}.key"
        if not path.exists():
            self.run("keygen", "--out", path)
        return path

    def submit(self, event_type, data, key, witnesses=(), participant=None, session=None):
        """Writes the event (vigilctl event), signs it (vigilctl sign) and submits it (vigilctl submit)."""
        self.count += 1
        stem = self.workdir / f"{self.count:03d}-{event_type}"
        args = ["event", event_type, "--data", json.dumps(data)]
        if participant:
            args += ["--participant", participant]
        if session:
            args += ["--session", session]
        event_file = stem.with_suffix(".json")
        event_file.write_text(self.run(*args))
        sign = ["sign", "--key", key]
        for witness in witnesses:
            sign += ["--witness", witness]
        envelope_file = stem.with_suffix(".dsse.json")
        envelope_file.write_text(self.run(*sign, event_file))
        out = self.run("submit", "--url", self.url, envelope_file)
        return json.loads(event_file.read_text()), out.strip()

    def register(self, admin_key, key, name, role):
        return self.submit("key.registered", {"publicKey": public_key(self.vigilctl, key), "name": name,
                                              "role": role}, admin_key)
