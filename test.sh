#!/usr/bin/env bash
# The one test command: every xunit suite (dotnet test QuDag.PS.sln), then every Pester suite in real pwsh
# (the local dotnet tool from .config/dotnet-tools.json). Fails when either fails; both always run.
# Pester writes TestResults/pester.xml (NUnit) and ends with a line "Pester: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet tool restore >/dev/null
exec dotnet pwsh -NoProfile -NonInteractive -File ./build.ps1 -Task Test "$@"
