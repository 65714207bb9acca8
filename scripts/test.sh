#!/usr/bin/env bash
# npm test [JEST ARGUMENTS]: the Jest projects of jest.config.js (kwok, real-node). With no
# arguments, the whole suite as .ci/run runs it, it then runs jest.start.config.js: `npm start --
# --node real`, which starts a real node of its own and so runs after the real-node project.
set -euo pipefail
cd "$(dirname "$0")/.."
jest() { node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"; }
jest "$@"
if [ "$#" -eq 0 ]; then jest -c jest.start.config.js; fi
