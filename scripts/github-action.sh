#!/usr/bin/env bash
# The steps of the dockfix GitHub Action (action.yml), kept here so they can be run and tested
# outside GitHub: `install` makes a virtual environment with dockfix, `run` checks or fixes.
#
# Inputs come from the environment, as action.yml sets them:
#   DOCKFIX_MODE         check (SARIF for code scanning) or write (fix the working tree)
#   DOCKFIX_PATHS        Dockerfiles or folders, separated by spaces (default: .)
#   DOCKFIX_ARGS         more dockfix flags, separated by spaces
#   DOCKFIX_SARIF        where check writes the SARIF log (default: dockfix.sarif)
#   DOCKFIX_BODY_FILE    where write puts the pull request's body (default: in RUNNER_TEMP)
#   DOCKFIX_PYTHON       the Python that has dockfix (default: the one `install` made)
#   DOCKFIX_VERSION      install: a pip requirement for dockfix (default: the action's own copy)
# Outputs go to GITHUB_OUTPUT: exit-code (dockfix's), changed (true when write changed files),
# sarif-file, pr-body-file.
#
# Exit codes: 0 when dockfix ran (whether or not fixes are due: the action's last step decides
# with fail-on-changes); 2 when it could not (a Dockerfile that cannot be processed, a bad flag).
set -uo pipefail

action_path=$(cd "$(dirname "$0")/.." && pwd)
temp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
venv="$temp/dockfix-venv"
python=${DOCKFIX_PYTHON:-$venv/bin/python}
output=${GITHUB_OUTPUT:-/dev/null}

install() {
    local python3=${DOCKFIX_INSTALL_PYTHON:-python3}
    "$python3" -m venv "$venv" || return 2
    "$venv/bin/python" -m pip install --quiet --upgrade pip || return 2
    "$venv/bin/python" -m pip install --quiet "${DOCKFIX_VERSION:-$action_path}" || return 2
    "$venv/bin/python" -m dockfix --version
}

run() {
    local mode=${DOCKFIX_MODE:-check}
    local -a paths args
    read -r -a paths <<<"${DOCKFIX_PATHS:-.}"
    read -r -a args <<<"${DOCKFIX_ARGS:-}"
    case "$mode" in
    check)
        local sarif=${DOCKFIX_SARIF:-dockfix.sarif}
        "$python" -m dockfix --check --output-format sarif "${args[@]}" "${paths[@]}" >"$sarif"
        local code=$?
        echo "exit-code=$code" >>"$output"
        echo "sarif-file=$sarif" >>"$output"
        echo "changed=false" >>"$output"
        case $code in
        0) echo "dockfix: nothing to change" ;;
        1) echo "dockfix: fixes are due: run dockfix --diff to see them, or this action with mode: write" ;;
        *)
            # The SARIF log carries the files that could not be processed: say which, here.
            "$python" - "$sarif" >&2 <<'PYTHON'
import json, sys
try:
    log = json.load(open(sys.argv[1], encoding="utf-8"))
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
except (OSError, ValueError, LookupError):
    notes = []
for note in notes:
    print(f"dockfix: error: {note['message']['text']}")
PYTHON
            echo "dockfix: error (exit $code)" >&2
            return 2
            ;;
        esac
        ;;
    write)
        local body=${DOCKFIX_BODY_FILE:-$temp/dockfix-pr-body.md}
        local before after
        before=$(git status --porcelain 2>/dev/null)
        "$python" -m dockfix fleet --body-file "$body" "${args[@]}" "${paths[@]}"
        local code=$?
        after=$(git status --porcelain 2>/dev/null)
        echo "exit-code=$code" >>"$output"
        echo "pr-body-file=$body" >>"$output"
        if [ "$code" -eq 0 ] && [ "$before" != "$after" ]; then
            echo "changed=true" >>"$output"
        else
            echo "changed=false" >>"$output"
        fi
        [ "$code" -eq 0 ] || return 2
        ;;
    *)
        echo "dockfix: error: mode must be check or write, not $mode" >&2
        return 2
        ;;
    esac
}

case "${1:-}" in
install) install ;;
run) run ;;
*) echo "usage: $0 install|run" >&2; exit 2 ;;
esac
