#!/usr/bin/env bash
# The whole test suite from a fresh clone: the Debian test servers the adapter tests talk to, then vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-test-servers.sh
npx tsc --noEmit
npx eslint .
npx vitest run "$@"
