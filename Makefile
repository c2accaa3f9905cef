# Strongroom: `make run` starts the archive, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export STRONGROOM_HOME ?= $(HOME)/.strongroom
# The browser tests drive Debian's Chromium (never a downloaded build); installed once when missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test lint bench screenshots venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/strongroom init
	$(BIN)/strongroom serve

test: lint $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -q

# The layers (docs/architecture.md, "Layers"): an import that runs back up a layer, or a loop between
# the modules of a package, fails here. The contracts are [tool.importlinter] in pyproject.toml.
lint: $(STAMP)
	$(BIN)/lint-imports

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# The README's pictures: the browser tests photograph the pages into docs/screenshots/ (a plain
# test run keeps them in a temporary directory). Chinese pages need a CJK font, installed once.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

screenshots: $(STAMP) $(CHROMIUM) $(CJK_FONT)
	STRONGROOM_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/test_web_browser.py -k photographed

$(CJK_FONT):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .import_linter_cache
