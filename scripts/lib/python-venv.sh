# Sourced by the tool installers: `ensure_venv <venv> <log prefix> <pip requirement>...` makes a
# Python virtual environment in the cache (git-ignored, reused) with those packages, once. A
# marker file says it is complete; concurrent callers (several test processes) wait for one
# install instead of racing. Progress goes to stderr.
ensure_venv() {
  local venv=$1 who=$2
  shift 2
  local marker="$venv/.installed"
  [ -f "$marker" ] && { echo "$who: reusing $venv" >&2; return 0; }

  local python=${PYTHON:-$(command -v python3 || true)}
  if [ -z "$python" ]; then
    echo "$who: python3 is not installed; install Python 3.9+ (e.g. apt-get install python3-venv) and retry" >&2
    return 1
  fi
  mkdir -p "$(dirname "$venv")"
  exec 9>"$(dirname "$venv")/.lock"
  if ! flock -n 9; then
    echo "$who: another install is running; waiting for it" >&2
    flock 9
    if [ -f "$marker" ]; then exec 9>&-; return 0; fi
  fi
  local start=$SECONDS requirement
  rm -rf "$venv"
  echo "$who: creating virtual environment $venv" >&2
  "$python" -m venv "$venv" >&2
  for requirement in "$@"; do
    echo "$who: installing $requirement" >&2
    "$venv/bin/pip" install --disable-pip-version-check --no-input --progress-bar off "$requirement" >&2
  done
  touch "$marker"
  exec 9>&-
  echo "$who: installed in $((SECONDS - start)) s" >&2
}
