# Sourced by the npm scripts: installs the locked dependencies (Node 26 among them) on first use
# or when package-lock.json changed since the last install.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing dependencies (npm ci)" >&2
  # This machine's npm runs the install on its own Node, and warns (EBADENGINE, five lines each)
  # for every package that wants a newer one, this project first: they run on the Node this very
  # install brings (node_modules/.bin/node). Those warnings become one line; the rest passes.
  npm ci --no-audit --no-fund 2>&1 | awk -v node="$(node --version)" '
    /^npm warn EBADENGINE/ { if ($4 == "package:") wanting++; next }
    { print }
    END {
      if (wanting) printf "==> (npm warned that %d packages want a newer Node than this machine'\''s %s: they run on the Node 26 it just installed)\n", wanting, node
    }' >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
fi
