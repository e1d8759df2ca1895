# Sourced by the npm scripts: installs the locked dependencies (Node 26 among them) on first use
# or when package-lock.json changed since the last install.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2 || exit 1
fi
