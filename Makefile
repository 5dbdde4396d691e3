# oO — the two commands of the README, and a few more. Each bootstraps what it needs.
.PHONY: run dev test test-unit test-integration test-e2e lint bench migrate clean

run:            ## start the production build on http://localhost:$${OO_PORT:-3000}
	scripts/run

dev:            ## hot-reload dev server (frontend :3000, backend :8000)
	scripts/run --dev

test:           ## every layer: unit, integration, e2e (separate pytest processes)
	scripts/test

test-unit:
	scripts/test unit

test-integration:
	scripts/test integration

test-e2e:
	scripts/test e2e

lint:
	scripts/check

bench:          ## run every benchmark in bench/ (see bench/README.md)
	scripts/bench

migrate:
	scripts/bootstrap && scripts/migrate

clean:          ## remove build output and local data (keeps .venv)
	rm -rf .web .states data
