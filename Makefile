# tokenpulse — two commands on a fresh machine:
#   make demo   install into .venv, import the bundled sample logs, print the reports
#   make test   install into .venv (and the ccusage peer into .peers), run the test suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CCUSAGE := .peers/ccusage/node_modules/.bin/ccusage
DEMO_HOME := .demo

.PHONY: install demo test lint bench peers clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The peer the tests compare against (pinned: newer npm releases lack the Linux binary here).
peers: $(CCUSAGE)

$(CCUSAGE):
	mkdir -p .peers/ccusage
	cd .peers/ccusage && npm init -y >/dev/null && npm install --no-audit --no-fund --save-exact ccusage@20.0.24 >/dev/null

# Until the demo organisation exists (a later issue), the demo is the personal local-log report
# on the sample Claude Code and Codex logs bundled with the tests.
demo: $(STAMP)
	rm -rf $(DEMO_HOME)
	TOKENPULSE_HOME=$(DEMO_HOME) CLAUDE_CONFIG_DIR=tests/data/claude CODEX_HOME=tests/data/codex \
		$(BIN)/tokenpulse import
	TOKENPULSE_HOME=$(DEMO_HOME) $(BIN)/tokenpulse report daily --no-import --tz UTC --breakdown model
	TOKENPULSE_HOME=$(DEMO_HOME) $(BIN)/tokenpulse report session --no-import --tz UTC
	TOKENPULSE_HOME=$(DEMO_HOME) $(BIN)/tokenpulse report monthly --no-import --tz UTC --discount 15%

test: $(STAMP) peers
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP) peers
	$(BIN)/python bench/local_reports.py

clean:
	rm -rf $(VENV) .peers $(DEMO_HOME) bench/.work
