#!/usr/bin/env bash
# Prints the path of promtool (pinned Prometheus version), building it from the Go module proxy into
# the cache on first use. The chart tests check the PrometheusRule with it.
# Usage: scripts/tools/promtool.sh
source "$(dirname "$0")/../chart/go-tool-lib.sh"
# Prometheus 3.x publishes its Go module as v0.3XX.Y (v0.316.0 is Prometheus 3.16.0).
PROMETHEUS_MODULE_VERSION=${PROMETHEUS_MODULE_VERSION:-v0.316.0}

build_promtool() { # out workdir
  # remove_all_sd leaves out the cloud service discoveries (AWS, Azure, GCE, ...): checking and
  # unit-testing rules needs none of them, and they are most of the build.
  GOBIN="$2/bin" CGO_ENABLED=0 go install -trimpath -tags remove_all_sd -ldflags "-s -w" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
  mv "$2/bin/promtool" "$1"
}
go_tool_ensure promtool "$PROMETHEUS_MODULE_VERSION" 4 build_promtool
