# The README's commands. `make test` is what CI runs (.ci/run).
.PHONY: dev test build vet bench chart

dev:
	go run ./cmd/webhookd dev

build:
	CGO_ENABLED=0 go build -trimpath -o bin/webhookd ./cmd/webhookd

vet:
	go vet ./...

# -p 2: the machines have 2 cores; packages that link the Temporal server are
# large and linking several at once only thrashes.
test: vet chart
	go test -count=1 -p 2 -timeout 20m ./...

# The Helm chart: helm lint and helm template, every object checked against
# the Kubernetes API types, offline. Its own module keeps Helm out of go.mod.
chart:
	cd deploy/helm/chartcheck && go vet ./... && go test -count=1 ./...

# Every benchmark of docs/performance.md; ProductionLike,
# ProductionNeighbours and ScaleOut need WEBHOOKD_BENCH_TEMPORAL
# (scripts/temporal-postgres.sh start) and skip themselves without it;
# WEBHOOKD_BENCH_TEMPORAL_FRESH=true gives each of them, and Soak, a
# freshly reset server of that script (docs/performance.md). About
# an hour on two cores with OrderedDelivery shrunk (docs/performance.md
# says how); WEBHOOKD_BENCH_* variables set the sizes.
# scripts/benchresults records the run (machine, cores, date, load,
# settings) in docs/bench-results.md and .json and writes the Performance
# table of docs/performance.md, with the previous run's numbers beside it
# (-v: what each benchmark logged is kept too). The end-to-end benchmarks
# run once each (-benchtime 1x: each is a whole scenario); the
# micro-benchmarks of internal/ingest run at go test's default, so that
# their ns/op means something.
bench:
	bash -o pipefail -c "{ go test -v -run '^$$' -bench . -benchtime 1x -timeout 6h ./e2e/bench/; e=\$$?; go test -run '^$$' -bench . ./internal/ingest/ && exit \$$e; } 2>&1 | go run ./scripts/benchresults -dir docs"
