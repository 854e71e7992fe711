#!/usr/bin/env bash
# Generates the audio prompts (media/prompts) from media/text with espeak-ng and sox; install-deps.sh runs it for
# `npm start` and `npm test`. Cached: only prompts whose text, voice or tool settings changed are made again, and
# files it did not make (studio recordings) are left alone. media/README.md has the details.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # the repo root

say() { echo "prompts: $*"; }

missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
if (( ${#missing[@]} > 0 )); then
  say "cannot generate the prompts: ${missing[*]} not installed" >&2
  say "  as root: bash src/setup/install-deps.sh runtime (or apt-get install -y ${missing[*]})" >&2
  exit 1
fi

# The generator is TypeScript (it shares the prompt catalog with src/media/prompts); compile it and what it imports
# on their own, before `npm run build` builds the rest.
node_modules/.bin/tsc -p src/setup/build-prompts.tsconfig.json
node dist/src/media/prompts/generate-cli.js "$@"
