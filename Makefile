# Two commands do all the setup on a fresh machine: `make run` and `make test`.
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PY := .venv/bin/python

.PHONY: run test test-fast test-busy lint setup bench accuracy clean

setup: .venv/.synced

# Packages are installed with their bytecode compiled: every process then starts in about half
# the time (scipy.signal imports in 0.6 s instead of 1.4 s), also where PYTHONDONTWRITEBYTECODE
# keeps Python from writing it on first use.
.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

# Fetch the model, build a sample clip with known one-sided spasms from a real face video,
# and analyse it.
run: setup
	$(PY) -m twitchcam models --fetch
	$(PY) -m twitchcam demo

# Everything (CI): 200 fuzz cases per family unless TWITCHCAM_FUZZ_CASES says otherwise.
test: setup lint
	$(PY) -m twitchcam models --fetch >/dev/null
	$(PY) -m pytest -q

# The edit-test loop: everything that needs neither MediaPipe, a video nor a browser; real faces
# as stored features (tests/data/real/); 16 fuzz cases unless TWITCHCAM_FUZZ_CASES says otherwise.
test-fast: setup lint
	$(PY) -m pytest -q -m "not slow"

# Unused and undefined names, and sorted imports (ruff; pyproject.toml's [tool.ruff]).
lint: setup
	$(PY) -m ruff check twitchcam tests benchmarks

# The suite with every core kept busy by other processes, as on a loaded CI machine.
test-busy: setup
	$(PY) -m twitchcam models --fetch >/dev/null
	$(PY) tests/cpu_hog.py -- $(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/end_to_end.py
	$(PY) benchmarks/live_latency.py
	$(PY) benchmarks/scale_bench.py
	$(PY) benchmarks/report_bench.py

accuracy: setup
	$(PY) benchmarks/accuracy.py

clean:
	rm -rf .venv .pytest_cache
