# Formwork — see README.md.
GO ?= go
ADDR ?= 127.0.0.1:8080
DATA ?= ./data
PKGS := ./...
FUZZTIME ?= 20s

.PHONY: run build test lint bench fuzz e2e generate

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

# Short runs of every fuzz target (FUZZTIME each).
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done
