#!/usr/bin/env python3
"""The Swath roles deploy/ gives, as JSON on stdout, for a test that starts them as
local processes.

    deploy_roles.py DEPLOY_DIR

Prints {"compose": [ROLE…], "k8s": [ROLE…], "dockerfile": {...}} where a ROLE is
{"name", "args" (the swath arguments), "env" (name → value; from a Secret:
"secret:NAME"), "replicas", "probe" ({"http": PATH, "port": N} or {"tcp": N}
or null)}. Only containers of the swath image are roles.
"""
import json
import os
import sys

import yaml

IMAGE = "swath:latest"


def compose_roles(path):
    doc = yaml.safe_load(open(path))
    roles = []
    for name, svc in doc["services"].items():
        if svc.get("image") != IMAGE:
            continue
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        roles.append({"name": name, "args": [str(a) for a in svc["command"]],
                      "env": {k: str(v) for k, v in env.items()}, "replicas": 1,
                      "probe": None})
    return roles


def probe_of(container):
    p = container.get("readinessProbe")
    if not p:
        return None
    if "httpGet" in p:
        return {"http": p["httpGet"]["path"], "port": int(p["httpGet"]["port"])}
    if "tcpSocket" in p:
        return {"tcp": int(p["tcpSocket"]["port"])}
    raise SystemExit(f"unknown probe {p}")


def k8s_roles(directory):
    roles, services = [], []
    for f in sorted(os.listdir(directory)):
        if not f.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(open(os.path.join(directory, f))):
            if not doc:
                continue
            if doc["kind"] == "Service":
                services.append({"name": doc["metadata"]["name"],
                                 "ports": [p["port"] for p in doc["spec"]["ports"]]})
            if doc["kind"] != "Deployment":
                continue
            spec = doc["spec"]["template"]["spec"]
            for c in spec["containers"]:
                if c["image"] != IMAGE:
                    continue
                env = {}
                for e in c.get("env", []):
                    env[e["name"]] = e.get("value", "from:" + json.dumps(e.get("valueFrom")))
                for ef in c.get("envFrom", []):
                    env["secret:" + ef["secretRef"]["name"]] = ""
                roles.append({"name": doc["metadata"]["name"],
                              "args": [str(a) for a in c["args"]],
                              "env": env, "replicas": doc["spec"].get("replicas", 1),
                              "probe": probe_of(c),
                              "resources": c.get("resources", {}),
                              "user": spec.get("securityContext", {}).get("runAsUser")})
    return roles, services


def dockerfile(path):
    lines = [l.strip() for l in open(path) if l.strip() and not l.strip().startswith("#")]
    stages = [l for l in lines if l.upper().startswith("FROM ")]
    last = lines[max(i for i, l in enumerate(lines) if l.upper().startswith("FROM ")):]
    user = [l.split(None, 1)[1] for l in last if l.upper().startswith("USER ")]
    entry = [json.loads(l.split(None, 1)[1]) for l in last if l.upper().startswith("ENTRYPOINT ")]
    build = [l for l in lines if "cargo build" in l]
    return {"stages": len(stages), "final_user": user[-1] if user else None,
            "entrypoint": entry[-1] if entry else None, "build": build}


def main():
    d = sys.argv[1]
    roles, services = k8s_roles(os.path.join(d, "k8s"))
    json.dump({"compose": compose_roles(os.path.join(d, "docker-compose.yml")),
               "k8s": roles, "k8s_services": services,
               "dockerfile": dockerfile(os.path.join(d, "Dockerfile"))}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
