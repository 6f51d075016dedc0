# Formwork — see README.md.
GO ?= go
ADDR ?= 127.0.0.1:8080
DATA ?= ./data
PKGS := ./...
FUZZTIME ?= 20s

.PHONY: run build test lint bench fuzz e2e generate vendor-echarts

run: build
	./bin/formwork serve --addr $(ADDR) --data $(DATA)

build:
	$(GO) build -o bin/formwork ./cmd/formwork

test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 40m $(PKGS)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet $(PKGS)
	$(GO) tool templ generate
	@git diff --exit-code -- '*_templ.go' || (echo "templ: generated files are stale; run go tool templ generate"; exit 1)

generate:
	$(GO) tool templ generate

# The audit page's chart library, embedded with the static files (needs npm
# only when it is vendored again, never to build).
ECHARTS ?= 5.6.0
vendor-echarts:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent echarts@$(ECHARTS) >/dev/null && tar xzf echarts-$(ECHARTS).tgz && \
	  cp package/dist/echarts.common.min.js package/LICENSE package/NOTICE $(CURDIR)/web/static/vendor/echarts/ && rm -rf $$tmp

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

# Short runs of every fuzz target (FUZZTIME each).
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done
