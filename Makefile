# tokenpulse — two commands on a fresh machine:
#   make demo   install into .venv, build the demo organisation, print what it shows
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

# The demo organisation (300 people, 45 days, labelled personas) on the embedded store: what it shows in the
# terminal (the month's spend, depth per team, the month-end forecast, the insights and the conversation
# queue), then the dashboard, served until Ctrl-C. Sign in with the admin key or the one-time links it prints.
DEMO_PORT ?= 8787
demo: $(STAMP)
	rm -rf $(DEMO_HOME) && mkdir -p $(DEMO_HOME)
	printf '[insights]\nexpected_monthly_usd = {claude_code = 200}\n' > $(DEMO_HOME)/tokenpulse.toml
	TOKENPULSE_HOME=$(DEMO_HOME) $(BIN)/tokenpulse demo --seed 1 --sign-in http://127.0.0.1:$(DEMO_PORT)
	TOKENPULSE_HOME=$(DEMO_HOME) $(BIN)/tokenpulse report monthly --no-import --tz UTC --discount 15%
	TOKENPULSE_HOME=$(DEMO_HOME) $(BIN)/tokenpulse depth --by team --no-import --tz UTC
	TOKENPULSE_HOME=$(DEMO_HOME) $(BIN)/tokenpulse forecast --by team --no-import --tz UTC
	TOKENPULSE_HOME=$(DEMO_HOME) $(BIN)/tokenpulse insights --no-import --tz UTC
	@echo "The dashboard: http://127.0.0.1:$(DEMO_PORT)/ (sign in with the key or a link printed above; Ctrl-C stops it)"
	TOKENPULSE_HOME=$(DEMO_HOME) TOKENPULSE_TZ=UTC $(BIN)/tokenpulse serve --port $(DEMO_PORT)

test: $(STAMP) peers
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP) peers
	$(BIN)/python bench/local_reports.py

clean:
	rm -rf $(VENV) .peers $(DEMO_HOME) bench/.work
