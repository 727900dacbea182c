#!/usr/bin/env bash
# Offline checks of deploy/: the image (hadolint), the Kubernetes overlays (rendered, validated
# against the pinned Kubernetes schemas, the project's own rules), the AWS layout (CDK synth,
# cfn-lint), the runtime lock's drift, and the deploy tests. No network once deploy/.venv
# exists, no Docker engine, no AWS account.
#
#   deploy/check.sh            # everything (CI)
# The tools live in deploy/.venv (pinned by deploy/requirements.txt), created on first run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
venv=deploy/.venv
started=$(date +%s)
step() { printf '\n==> deploy: %s (%ss)\n' "$*" "$(($(date +%s) - started))"; }

stamp="$venv/.requirements.sha256"
wanted=$(sha256sum deploy/requirements.txt | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
  step "tools venv ($venv from deploy/requirements.txt)"
  rm -rf "$venv"
  python3.11 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    -r deploy/requirements.txt
  echo "$wanted" >"$stamp"
fi
tools="$root/$venv/bin"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
# jsii (CDK) prints a banner on Node 20; the synthesis itself is unaffected.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

step "hadolint"
"$tools/hadolint" deploy/Dockerfile deploy/aws/lambda_live/Dockerfile

step "runtime lock matches requirements.lock"
"$tools/python" -m deploy.tools.runtime_lock --check

step "kubernetes overlays: render, schemas, rules"
"$tools/python" -m deploy.tools.validate_k8s

step "aws: cdk synth"
out=deploy/build/cdk.out
rm -rf "$out"
"$tools/python" -m deploy.aws.app "$out" >/dev/null

step "aws: cfn-lint"
"$tools/cfn-lint" --config-file deploy/aws/.cfnlintrc -- "$out"/*.template.json

step "monitoring: promtool check and test rules, dashboards"
"$tools/python" -m deploy.tools.monitoring

step "deploy tests (with the tools venv)"
BETMESH_DEPLOY_PYTHON="$tools/python" "${BETMESH_PYTHON:-.venv/bin/python}" -m pytest \
  tests/deploy -q -p no:cacheprovider -rfE

step "done"
