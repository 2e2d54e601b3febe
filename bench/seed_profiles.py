#!/usr/bin/env python3
"""Fills an org with N client profiles through tlsdeck's REST API over one keep-alive
connection, then prints a token for the benchmark to use. Loopback only."""

import http.client
import json
import sys


def main() -> None:
    port, count, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(method: str, path: str, body: dict | None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise SystemExit(f"{method} {path}: {resp.status} {data[:200]!r}")
        return json.loads(data) if data else {}

    grant = {"username": "admin", "password": password, "realm": "admin/default-idp-1",
             "grant_type": "password"}
    token = call("POST", "/api/token", grant)["access_token"]
    for i in range(count):
        profile = {
            "title": f"Seeded backend {i:05d}",
            "name": f"seeded-{i:05d}",
            "summary": "A profile made to give the store its size.",
            "protocols": ["tls_v1.2", "tls_v1.3"],
            "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
        }
        call("POST", "/api/orgs/admin/tls-client-profiles", profile, token)
    print(token)


if __name__ == "__main__":
    main()
